import t, { type Test } from 'tap'
import { defaultLocalClient } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { refreshLockTtlMs } from '../../src/auth/refresh.js'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import { sleep } from '../helpers/clock.js'
import { moveToRefresh, sessionIdOf, signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'

// Tokens have their normal life at the local Cognito (1 h) and the app its default refresh margin
// (TOKEN_REFRESH_MARGIN, 60 s): the tests move the clock to either side of the refresh point.
const BEFORE = -5_000
const INSIDE = 5_000

async function tokensOf(stack: Stack, browser: Browser) {
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  return session?.tokens
}

/** Signs in and returns the session's tokens (which must be there, with a refresh token). */
async function signedIn(t: Test, stack: Stack, browser: Browser) {
  await signIn(browser, stack)
  const tokens = await tokensOf(stack, browser)
  t.ok(tokens?.refreshToken, 'signed in with a refresh token')
  t.equal(stack.cognito.countGrants('refresh_token'), 0, 'no refresh grant at sign-in')
  return tokens as NonNullable<typeof tokens>
}

t.test('FLT-16, BCP-13 an expiring access token is refreshed once for 20 concurrent requests, unseen by the person', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const before = await signedIn(t, stack, browser)
  t.ok(before.accessExpiresAt - stack.clock.now() > 3_590_000, 'the access token lives its normal hour')

  moveToRefresh(stack, before.accessExpiresAt, BEFORE)
  const early = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(early.status, 200)
  t.equal(stack.cognito.countGrants('refresh_token'), 0, 'just before the margin: no refresh')
  t.equal((await tokensOf(stack, browser))?.accessToken, before.accessToken, 'the same access token')

  moveToRefresh(stack, before.accessExpiresAt, INSIDE)
  const responses = await Promise.all(Array.from({ length: 20 }, () => browser.get(`${stack.baseUrl}/logged-in`)))
  t.same(responses.map((r) => r.status), Array(20).fill(200), 'every page served')
  for (const r of responses) t.match(await r.text(), /data-field="username">demo</)
  t.equal(stack.cognito.countGrants('refresh_token'), 1, 'exactly one refresh grant')

  const after = await tokensOf(stack, browser)
  t.not(after?.accessToken, before.accessToken, 'new access token in the session')
  t.not(after?.idToken, before.idToken, 'new ID token in the session')
  t.equal(after?.refreshToken, before.refreshToken, 'without rotation the old refresh token is kept')
  t.ok((after?.accessExpiresAt ?? 0) > before.accessExpiresAt)

  // Fresh now: further page views do not call Cognito.
  stack.cognito.resetRequests()
  await Promise.all(Array.from({ length: 5 }, () => browser.get(`${stack.baseUrl}/logged-in`)))
  t.equal(stack.cognito.requests.length, 0, 'page views with fresh tokens never reach Cognito')
})

t.test('BCP-13 with rotation the new refresh token is taken', async (t) => {
  const stack = await startStack(t)
  stack.cognito.addClient({ ...defaultLocalClient(stack.config.web.baseUrl), refreshTokenRotation: true })
  const browser = new Browser()
  const before = await signedIn(t, stack, browser)
  moveToRefresh(stack, before.accessExpiresAt, INSIDE)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)
  t.equal(stack.cognito.countGrants('refresh_token'), 1, 'one refresh grant')
  const after = await tokensOf(stack, browser)
  t.ok(after?.refreshToken)
  t.not(after?.refreshToken, before.refreshToken, 'rotated refresh token stored')
  t.ok(stack.cognito.isRefreshTokenRevoked(before.refreshToken as string), 'the old one is dead at Cognito')
})

t.test('groups and attributes follow the refreshed ID token', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const before = await signedIn(t, stack, browser)
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  stack.cognito.addUser({
    username: 'demo',
    password: 'Demo-passw0rd',
    sub: session?.user?.sub as string,
    email: 'demo@example.com',
    emailVerified: true,
    name: 'Demo User',
    groups: ['admin', 'editors'],
  })

  moveToRefresh(stack, before.accessExpiresAt, BEFORE)
  const early = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  t.match(early, /<li class="tag">admin<\/li>/)
  t.notMatch(early, /editors/, 'before the refresh: the groups of the sign-in')

  moveToRefresh(stack, before.accessExpiresAt, INSIDE)
  const page = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  t.match(page, /<li class="tag">editors<\/li>/, 'after the refresh: the new group')
  t.equal(stack.cognito.countGrants('refresh_token'), 1)
})

t.test('BCP-12, SES-18 a refresh refused by Cognito ends the session with an explanation', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const before = await signedIn(t, stack, browser)
  const sid = sessionIdOf(browser) as string
  stack.cognito.setUserEnabled('demo', false)

  moveToRefresh(stack, before.accessExpiresAt, BEFORE)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'until the refresh, the session goes on')
  t.equal(stack.cognito.countGrants('refresh_token'), 0)

  moveToRefresh(stack, before.accessExpiresAt, INSIDE)
  const response = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(response.status, 401)
  const tried = stack.cognito.requests.filter((r) => r.grantType === 'refresh_token')
  t.same(tried.map((r) => r.status), [400], 'the refresh was tried once, and refused')
  const html = await response.text()
  t.match(html, /Your session has ended/)
  t.match(html, /href="\/login\?returnTo=%2Flogged-in"/)
  t.equal(browser.cookie('localhost', 'sid'), undefined, 'cookie cleared')
  t.equal(await stack.app.sessionStore.read(sid), null, 'session deleted from the store')
  const again = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(again.status, 302, 'the next visit is anonymous')
  t.equal((await browser.get(`${stack.baseUrl}/`)).status, 200)
})

t.test('FLT-08, BCP-12 Cognito unreachable during refresh: served while the token is valid, 503 after', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const before = await signedIn(t, stack, browser)
  stack.cognito.faults.unavailable = true

  moveToRefresh(stack, before.accessExpiresAt, INSIDE)
  const stillValid = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(stillValid.status, 200, 'access token still valid: page served')
  t.match(await stillValid.text(), /data-field="username">demo</)
  const refused = () => stack.cognito.requests.filter((r) => r.path === '/oauth2/token' && r.error === 'unavailable').length
  t.equal(refused(), 1, 'a refresh was tried, and Cognito did not answer')

  // Past the access token's expiry (the refresh margin and a little more).
  stack.clock.advanceTo(before.accessExpiresAt + 1_000)
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
  t.not(after?.accessToken, before.accessToken)
})

for (const [what, claims] of [
  ['another subject', { sub: '00000000-0000-0000-0000-00000000beef' }],
  ['another issuer', { iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other0000' }],
] as const) {
  t.test(`OIDC-21: a refresh answered with an ID token for ${what} ends the session`, async (t) => {
    const stack = await startStack(t)
    const browser = new Browser()
    const before = await signedIn(t, stack, browser)
    const sid = sessionIdOf(browser) as string
    stack.cognito.faults.idTokenClaims = claims

    moveToRefresh(stack, before.accessExpiresAt, INSIDE)
    const response = await browser.get(`${stack.baseUrl}/logged-in`)
    t.equal(response.status, 401, 'not served, although the access token is still valid')
    t.match(await response.text(), /Your session has ended/)
    t.equal(stack.cognito.countGrants('refresh_token'), 1, 'the refresh was made, and its answer refused')
    t.equal(await stack.app.sessionStore.read(sid), null, 'session deleted from the store')
    t.equal(browser.cookie('localhost', 'sid'), undefined, 'cookie cleared')
    stack.cognito.faults.idTokenClaims = undefined
    t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 302, 'the next visit is anonymous')
  })
}

t.test('LOAD-03: the cross-instance refresh lock outlasts a slow refresh: a second instance waits instead of refreshing again', async (t) => {
  const { cognito, clock } = await startSharedCognito(t)
  const store = new MemorySessionStore({ now: () => clock.now() })
  t.teardown(() => store.close())
  // Cognito calls may take up to 10 s each: the lock lasts three of them and 5 s more (35 s).
  const env = { COGNITO_TIMEOUT: '10s' }
  t.equal(refreshLockTtlMs(10_000), 35_000)
  t.equal(refreshLockTtlMs(3_000), 15_000, 'never under 15 s')
  const a = await startStack(t, { sharedCognito: cognito, clock, env, deps: { store } })
  const b = await startStack(t, { sharedCognito: cognito, clock, env, deps: { store }, appBaseUrl: a.config.web.baseUrl })
  const browser = new Browser()
  const before = await signedIn(t, a, browser)

  // A starts the refresh and Cognito is slow to answer; meanwhile 16 s pass (more than the 15 s the
  // lock used to last, less than three Cognito timeouts) and the same person's next page goes to B.
  cognito.faults.tokenEndpoint = { delayMs: 400 }
  moveToRefresh(a, before.accessExpiresAt, INSIDE)
  const onA = browser.get(`${a.baseUrl}/logged-in`)
  await sleep(100)
  clock.advance(16_000)
  const onB = browser.get(`${b.baseUrl}/logged-in`)
  const [fromA, fromB] = await Promise.all([onA, onB])
  t.equal(fromA.status, 200)
  t.equal(fromB.status, 200, 'B served the page with the tokens A refreshed')
  t.equal(cognito.countGrants('refresh_token'), 1, 'one refresh grant for the two instances')
})
