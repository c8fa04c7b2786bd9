import t from 'tap'
import { defaultLocalClient } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { sessionIdOf, signIn, startStack, type Stack } from '../helpers/stack.js'

// Access tokens live 4 s at the local Cognito; the app refreshes when fewer than 2 s remain.
const SHORT = { cognito: { accessTokenTtlSeconds: 4, idTokenTtlSeconds: 4 }, env: { TOKEN_REFRESH_MARGIN: '2s' } }

async function tokensOf(stack: Stack, browser: Browser) {
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  return session?.tokens
}

t.test('an expiring access token is refreshed once for 20 concurrent requests, unseen by the person', async (t) => {
  const stack = await startStack(t, SHORT)
  const browser = new Browser()
  await signIn(browser, stack)
  const before = await tokensOf(stack, browser)
  t.ok(before?.refreshToken)
  t.equal(stack.cognito.countGrants('refresh_token'), 0)

  await sleep(2300)
  const responses = await Promise.all(Array.from({ length: 20 }, () => browser.get(`${stack.baseUrl}/logged-in`)))
  t.same(responses.map((r) => r.status), Array(20).fill(200), 'every page served')
  for (const r of responses) t.match(await r.text(), /data-field="username">demo</)
  t.equal(stack.cognito.countGrants('refresh_token'), 1, 'exactly one refresh grant')

  const after = await tokensOf(stack, browser)
  t.not(after?.accessToken, before?.accessToken, 'new access token in the session')
  t.not(after?.idToken, before?.idToken, 'new ID token in the session')
  t.equal(after?.refreshToken, before?.refreshToken, 'without rotation the old refresh token is kept')
  t.ok((after?.accessExpiresAt ?? 0) > (before?.accessExpiresAt ?? 0))

  // Fresh now: further page views do not call Cognito.
  stack.cognito.resetRequests()
  await Promise.all(Array.from({ length: 5 }, () => browser.get(`${stack.baseUrl}/logged-in`)))
  t.equal(stack.cognito.requests.length, 0, 'page views with fresh tokens never reach Cognito')
})

t.test('with rotation the new refresh token is taken', async (t) => {
  const stack = await startStack(t, SHORT)
  stack.cognito.addClient({ ...defaultLocalClient(stack.config.web.baseUrl), refreshTokenRotation: true })
  const browser = new Browser()
  await signIn(browser, stack)
  const before = await tokensOf(stack, browser)
  await sleep(2300)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)
  const after = await tokensOf(stack, browser)
  t.ok(after?.refreshToken)
  t.not(after?.refreshToken, before?.refreshToken, 'rotated refresh token stored')
  t.ok(stack.cognito.isRefreshTokenRevoked(before?.refreshToken as string), 'the old one is dead at Cognito')
})

t.test('groups and attributes follow the refreshed ID token', async (t) => {
  const stack = await startStack(t, SHORT)
  const browser = new Browser()
  const first = await signIn(browser, stack)
  t.notMatch(first.html, /editors/)
  stack.cognito.addUser({
    username: 'demo',
    password: 'Demo-passw0rd',
    sub: (await tokensOf(stack, browser)) ? ((await stack.app.sessionStore.read(sessionIdOf(browser) as string))?.user?.sub as string) : '',
    email: 'demo@example.com',
    emailVerified: true,
    name: 'Demo User',
    groups: ['admin', 'editors'],
  })
  await sleep(2300)
  const page = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  t.match(page, /<li class="tag">editors<\/li>/)
})

t.test('a refresh refused by Cognito ends the session with an explanation', async (t) => {
  const stack = await startStack(t, SHORT)
  const browser = new Browser()
  await signIn(browser, stack)
  const sid = sessionIdOf(browser) as string
  stack.cognito.setUserEnabled('demo', false)
  await sleep(2300)
  const response = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(response.status, 401)
  const html = await response.text()
  t.match(html, /Your session has ended/)
  t.match(html, /href="\/login\?returnTo=%2Flogged-in"/)
  t.equal(browser.cookie('localhost', 'sid'), undefined, 'cookie cleared')
  t.equal(await stack.app.sessionStore.read(sid), null, 'session deleted from the store')
  const again = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(again.status, 302, 'the next visit is anonymous')
  t.equal((await browser.get(`${stack.baseUrl}/`)).status, 200)
})

t.test('Cognito unreachable during refresh: served while the token is valid, 503 after', async (t) => {
  const stack = await startStack(t, SHORT)
  const browser = new Browser()
  await signIn(browser, stack)
  const before = await tokensOf(stack, browser)
  stack.cognito.faults.unavailable = true

  await sleep(2300)
  const stillValid = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(stillValid.status, 200, 'access token still valid: page served')
  t.match(await stillValid.text(), /data-field="username">demo</)

  await sleep(2000)
  const expired = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(expired.status, 503)
  const html = await expired.text()
  t.match(html, /Cognito cannot be reached/)
  t.notMatch(html, /at .*\.(?:ts|js):\d+/, 'no stack trace')
  t.ok(browser.cookie('localhost', 'sid'), 'session kept: nothing is lost')

  stack.cognito.faults.unavailable = false
  const recovered = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(recovered.status, 200, 'recovers when Cognito answers again')
  const after = await tokensOf(stack, browser)
  t.not(after?.accessToken, before?.accessToken)
})
