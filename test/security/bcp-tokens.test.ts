/**
 * Where tokens go (RFC 9700 §2.2.2, §4.2.4, §4.14.1; BFF §6.1): no token, verifier or secret ever
 * reaches the browser, the callback answers with a bare redirect, and the refresh token lives only in
 * the server-side store (sealed), travels only to Cognito's token and revocation endpoints with
 * client authentication, and is never logged.
 */
import { inspect } from 'node:util'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { Browser, csrfTokenOf, parseSignInForm } from '../helpers/browser.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { moveToRefresh, sessionIdOf, startStack, type Stack } from '../helpers/stack.js'
import { RecordingBrowser, recordFetches } from './bcp-helpers.js'

const sent = recordFetches(t)

/** Signs in step by step, keeping the PKCE verifier and the callback URL. */
async function signInKeeping(browser: Browser, stack: Stack, username = 'demo', password = 'Demo-passw0rd') {
  const start = await browser.get(`${stack.baseUrl}/login`)
  await start.arrayBuffer()
  const transaction = await stack.app.cognito.transactions.open(browser.cookie('localhost', 'signin'))
  const authorize = new URL(start.headers.get('location') ?? '')
  const toForm = await browser.follow(await browser.get(authorize), authorize)
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username, password })
  await submitted.arrayBuffer()
  const callback = new URL(submitted.headers.get('location') ?? '', form.action)
  const callbackResponse = await browser.get(callback)
  const back = await browser.follow(callbackResponse, callback)
  return { verifier: transaction?.codeVerifier ?? 'missing', callback, callbackResponse, html: await back.response.text(), url: back.url }
}

async function tokensOf(stack: Stack, browser: Browser) {
  const tokens = (await stack.app.sessionStore.read(sessionIdOf(browser) as string))?.tokens
  if (!tokens?.refreshToken) throw new Error('no tokens in the session')
  return { idToken: tokens.idToken, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, accessExpiresAt: tokens.accessExpiresAt }
}

t.test('BCP-09 no access, ID or refresh token, verifier or secret reaches a page, header, redirect, cookie or error page', async (t) => {
  const stack = await startStack(t)
  const browser = new RecordingBrowser()
  const signedIn = await signInKeeping(browser, stack)
  t.equal(new URL(signedIn.url).pathname, '/logged-in')
  const first = await tokensOf(stack, browser)
  for (const path of ['/', '/logged-in', '/admin', '/logout', '/logged-out', '/nope', '/api/me', '/auth/callback?code=x&state=y', '/auth/callback?error=access_denied']) {
    await (await browser.get(`${stack.baseUrl}${path}`)).arrayBuffer()
  }
  // A refresh: the new tokens must stay server-side too.
  moveToRefresh(stack, first.accessExpiresAt, 5_000)
  const refreshedPage = await browser.get(`${stack.baseUrl}/logged-in`)
  const html = await refreshedPage.text()
  t.equal(stack.cognito.countGrants('refresh_token'), 1, 'refreshed')
  const second = await tokensOf(stack, browser)
  t.not(second.accessToken, first.accessToken)

  // A person outside the group (403 page), then a refresh Cognito refuses (401 page).
  const reader = new RecordingBrowser()
  await signInKeeping(reader, stack, 'reader', 'Reader-passw0rd')
  const readerTokens = await tokensOf(stack, reader)
  await (await reader.get(`${stack.baseUrl}/admin`)).arrayBuffer()
  stack.cognito.setUserEnabled('reader', false)
  moveToRefresh(stack, readerTokens.accessExpiresAt, 5_000)
  const ended = await reader.get(`${stack.baseUrl}/logged-in`)
  await ended.arrayBuffer()
  t.equal(ended.status, 401, 'the session-ended page was seen')

  // Sign-out.
  await (await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(html) })).arrayBuffer()

  const visible = `${browser.everything()}\n${reader.everything()}`
  t.ok(browser.seen.length > 15, `${browser.seen.length + reader.seen.length} responses scanned`)
  t.ok(browser.seen.some((r) => r.status === 404) && reader.seen.some((r) => r.status === 403) && reader.seen.some((r) => r.status === 401), 'error pages among them')
  const secrets: Array<[string, string]> = [
    ['access token', first.accessToken],
    ['ID token', first.idToken],
    ['refresh token', first.refreshToken],
    ['refreshed access token', second.accessToken],
    ['refreshed ID token', second.idToken],
    ['another person’s refresh token', readerTokens.refreshToken],
    ['another person’s access token', readerTokens.accessToken],
    ['PKCE verifier', signedIn.verifier],
    ['client secret', stack.clientSecret],
    ['session secret', stack.config.session.secrets[0] as string],
  ]
  for (const [name, secret] of secrets) {
    t.ok(secret.length >= 20, `${name}: a real value to look for`)
    t.notOk(visible.includes(secret), `${name}: not seen by the browser`)
    // A JWT's signature alone would do harm as well: look for each part.
    for (const part of secret.split('.').filter((p) => p.length >= 20)) {
      if (visible.includes(part)) t.fail(`${name}: a part of it reached the browser`)
    }
  }
  t.notMatch(visible, /(?<![\w-])eyJ[\w-]{10,}\.[\w-]{10,}/, 'no JWT at all in anything the browser got')
  t.notMatch(visible, /localStorage|sessionStorage|<script(?![^>]*\bsrc=)/i, 'no inline script that could put anything in client storage')
})

t.test('BCP-10 the callback answers a bare 303 to a clean URL with no Referer, and logs neither code nor state', async (t) => {
  const stack = await startStack(t)
  const browser = new RecordingBrowser()
  const logsBefore = stack.logs.length
  const { callback, callbackResponse } = await signInKeeping(browser, stack)
  const code = callback.searchParams.get('code') as string
  const state = callback.searchParams.get('state') as string
  t.equal(callbackResponse.status, 303)
  t.equal(callbackResponse.headers.get('location'), '/logged-in', 'to a clean URL: no code, no state')
  t.equal(callbackResponse.headers.get('referrer-policy'), 'no-referrer')
  t.equal(callbackResponse.headers.get('cache-control'), 'no-store')
  const seen = browser.seen.find((r) => r.url === callback.href)
  t.equal(seen?.body, '', 'the callback renders nothing')

  // A failed callback (here: replayed in another browser) renders an error page: no third-party content, no Referer.
  const failed = await new RecordingBrowser().get(`${stack.baseUrl}/auth/callback?code=${code}&state=${state}`)
  const html = await failed.text()
  t.equal(failed.status, 400)
  t.equal(failed.headers.get('referrer-policy'), 'no-referrer')
  const urls = [...html.matchAll(/\b(?:src|href|action)="([^"]*)"/g)].map((m) => m[1] as string)
  t.ok(urls.length > 0, 'the page has links and resources')
  for (const url of urls) t.equal(new URL(url, stack.baseUrl).origin, stack.baseUrl, `same-site only: ${url}`)
  t.notOk(html.includes(code) || html.includes(state), 'the page shows neither code nor state')

  const lines = stack.logs.slice(logsBefore).join('\n')
  t.match(lines, /auth\/callback/, 'the callbacks were logged')
  t.notOk(lines.includes(code), 'the code is not in the log')
  t.notOk(lines.includes(state), 'the state is not in the log')
})

/** Every request the app sent that carries `secret` anywhere (URL, headers or body). */
function carrying(secret: string, from: number) {
  return sent.slice(from).filter((r) => r.url.href.includes(secret) || r.body.includes(secret) || JSON.stringify([...r.headers]).includes(secret))
}

async function refreshTokenJourney(t: Test, stack: Stack) {
  const sentBefore = sent.length
  const requestsBefore = stack.cognito.requests.length
  const browser = new Browser()
  const { html } = await signInKeeping(browser, stack)
  const tokens = await tokensOf(stack, browser)
  moveToRefresh(stack, tokens.accessExpiresAt, 5_000)
  const page = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(page.status, 200)
  await page.arrayBuffer()
  t.equal(stack.cognito.countGrants('refresh_token'), 1, 'one refresh')
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(html) })
  t.equal(out.status, 303)
  t.ok(stack.cognito.isRefreshTokenRevoked(tokens.refreshToken), 'revoked at sign-out')

  // Over the network: only to the token and revocation endpoints, in the body, with client authentication.
  const withToken = carrying(tokens.refreshToken, sentBefore)
  t.same(withToken.map((r) => `${r.method} ${r.url.pathname}`).sort(), ['POST /oauth2/revoke', 'POST /oauth2/token'], 'sent to the token endpoint (refresh) and the revocation endpoint, nowhere else')
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(stack.clientId)}:${encodeURIComponent(stack.clientSecret)}`).toString('base64')}`
  for (const request of withToken) {
    t.equal(request.url.search, '', `${request.url.pathname}: not in the URL`)
    t.equal(request.headers.get('authorization'), basic, `${request.url.pathname}: with the client's credentials`)
    t.equal(new URLSearchParams(request.body).get(request.url.pathname === '/oauth2/token' ? 'refresh_token' : 'token'), tokens.refreshToken)
  }
  t.equal(new URLSearchParams(withToken.find((r) => r.url.pathname === '/oauth2/token')?.body).get('grant_type'), 'refresh_token')
  // What the local Cognito saw: the refresh grant and the revocation, each authenticated with the secret.
  const seen = stack.cognito.requests.slice(requestsBefore)
  t.same(seen.filter((r) => r.grantType === 'refresh_token').map((r) => [r.clientAuth, r.status]), [['basic', 200]])
  t.same(seen.filter((r) => r.path === '/oauth2/revoke').map((r) => [r.clientAuth, r.status]), [['basic', 200]])
  t.notOk(JSON.stringify(seen).includes(tokens.refreshToken), 'never in a URL Cognito saw')
  // Never in the log.
  t.notOk(stack.logs.join('\n').includes(tokens.refreshToken), 'not in the log')
  return { browser, tokens }
}

t.test('BCP-11 memory store: the refresh token is sealed in the stored record, sent only to Cognito with client authentication, never logged', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signInKeeping(browser, stack)
  const tokens = await tokensOf(stack, browser)
  const inner = stack.app.sessionStore.inner as unknown as { get(id: string, cb: (e: unknown, s: unknown) => void): void }
  const record = await new Promise<unknown>((resolve, reject) => inner.get(sessionIdOf(browser) as string, (e, s) => (e ? reject(e) : resolve(s))))
  t.ok(record, 'the stored record')
  for (const [name, text] of [['JSON', JSON.stringify(record)], ['inspect', inspect(record, { depth: 10, showHidden: true })]] as const) {
    t.notOk(text.includes(tokens.refreshToken), `${name}: no refresh token`)
    t.notMatch(text, /(?<![\w-])eyJ[\w-]+\.[\w-]*\./, `${name}: no JWT`)
    for (const token of [tokens.refreshToken, tokens.accessToken, tokens.idToken]) {
      t.notOk(text.includes(token.slice(-8)), `${name}: not even the end of a token (the record was written sealed)`)
    }
  }
  await refreshTokenJourney(t, stack)
})

t.test('BCP-11 Redis: a dump of every key shows no refresh token; it travels only to Cognito with client authentication', async (t) => {
  if (!(await requireRedis(t))) return
  const prefix = uniquePrefix('bcp-11')
  const admin = new Redis(REDIS_URL)
  t.teardown(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await admin.quit()
  })
  const stack = await startStack(t, { env: { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix } })
  const dumpAll = async (): Promise<string> => {
    const keys = await admin.keys(`${prefix}*`)
    // Sessions and locks are strings; a person's index is a set of session ids.
    const values = await Promise.all(
      keys.map(async (key) => `${key} ${(await admin.type(key)) === 'set' ? (await admin.smembers(key)).join(' ') : ((await admin.get(key)) ?? '')}`),
    )
    return values.join('\n')
  }
  const browser = new Browser()
  await signInKeeping(browser, stack)
  const tokens = await tokensOf(stack, browser)
  const dump = await dumpAll()
  t.ok(dump.length > 0, 'the session is in Redis')
  t.notOk(dump.includes(tokens.refreshToken), 'no refresh token in the dump')
  t.notMatch(dump, /(?<![\w-])eyJ[\w-]+\.[\w-]*\./, 'no JWT in the dump')

  // Refreshed (and, with rotation off, the same refresh token kept): still sealed.
  moveToRefresh(stack, tokens.accessExpiresAt, 5_000)
  await (await browser.get(`${stack.baseUrl}/logged-in`)).arrayBuffer()
  t.equal(stack.cognito.countGrants('refresh_token'), 1)
  const after = await dumpAll()
  t.notOk(after.includes(tokens.refreshToken), 'still no refresh token after the refresh')
  t.notMatch(after, /(?<![\w-])eyJ[\w-]+\.[\w-]*\./)
  t.notOk(stack.logs.join('\n').includes(tokens.refreshToken), 'not in the log')
})

t.test('BCP-11 over the network with Redis too: token and revocation endpoints only', async (t) => {
  if (!(await requireRedis(t))) return
  const prefix = uniquePrefix('bcp-11-net')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const stack = await startStack(t, { env: { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix } })
  await refreshTokenJourney(t, stack)
})
