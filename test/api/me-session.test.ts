/** GET /api/me authorized by the session, and the answers without any credentials. */
import t, { type Test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { sessionIdOf, signIn, startStack } from '../helpers/stack.js'
import { callApi, type ApiAnswer } from './helpers.js'

function assertJsonFailure(t: Test, answer: ApiAnswer, status: number): void {
  t.equal(answer.status, status)
  t.match(answer.headers.get('content-type') ?? '', /^application\/json/, 'JSON, not an HTML page')
  t.equal(answer.headers.get('location'), null, 'no redirect')
  t.equal(answer.headers.get('cache-control'), 'no-store')
  t.type(answer.body.error, 'string')
}

t.test('a signed-in person gets their profile through the session', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const result = await signIn(browser, stack)
  t.equal(result.response.status, 200)

  const me = await callApi(stack, {}, '/api/me', browser)
  t.equal(me.status, 200)
  t.match(me.headers.get('content-type') ?? '', /^application\/json/)
  t.equal(me.headers.get('cache-control'), 'no-store')
  const stored = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  const signedInAt = stored?.signedInAt as number
  const idle = stack.config.session.idleTimeoutMs
  t.same(me.body, {
    sub: '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13',
    username: 'demo',
    email: 'demo@example.com',
    emailVerified: true,
    name: 'Demo User',
    groups: ['admin'],
    authenticatedBy: 'session',
    session: {
      signedInAt: new Date(signedInAt).toISOString(),
      idleExpiresAt: new Date(signedInAt + idle).toISOString(),
      absoluteExpiresAt: new Date(signedInAt + stack.config.session.maxAgeMs).toISOString(),
      expiresAt: new Date(signedInAt + idle).toISOString(),
    },
  })

  // A same-origin fetch from the site's own pages says so; that is accepted too.
  const sameOrigin = await callApi(stack, { 'sec-fetch-site': 'same-origin' }, '/api/me', browser)
  t.equal(sameOrigin.status, 200)

  // A request another site makes the browser send does not ride on the cookie.
  const crossSite = await callApi(stack, { 'sec-fetch-site': 'cross-site' }, '/api/me', browser)
  assertJsonFailure(t, crossSite, 401)
  t.equal(crossSite.headers.get('www-authenticate'), 'Bearer')

  // Another scheme in Authorization: not Bearer credentials, and the session is not used either.
  const basic = await callApi(stack, { authorization: 'Basic dXNlcjpwYXNz' }, '/api/me', browser)
  assertJsonFailure(t, basic, 401)
  t.equal(basic.headers.get('www-authenticate'), 'Bearer')
})

t.test('a reader without groups: null-free fields and an empty group list', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const me = await callApi(stack, {}, '/api/me', browser)
  t.equal(me.status, 200)
  t.equal(me.body.username, 'reader')
  t.equal(me.body.emailVerified, false)
  t.same(me.body.groups, [])
})

t.test('no credentials: 401 with a bare Bearer challenge, JSON, never a redirect', async (t) => {
  const stack = await startStack(t)
  const anonymous = await callApi(stack)
  assertJsonFailure(t, anonymous, 401)
  t.equal(anonymous.headers.get('www-authenticate'), 'Bearer', 'no error attribute when no token was offered (RFC 6750 §3.1)')

  // A browser that asks for HTML still gets JSON here.
  const html = await callApi(stack, { accept: 'text/html' })
  assertJsonFailure(t, html, 401)

  // A signed-out browser (cookie from a session that has ended) is anonymous.
  const browser = new Browser()
  await signIn(browser, stack)
  browser.setCookie('localhost', 'sid', 'not-a-valid-session')
  const stale = await callApi(stack, {}, '/api/me', browser)
  assertJsonFailure(t, stale, 401)
})

t.test('malformed Authorization headers: 400 invalid_request', async (t) => {
  const stack = await startStack(t)
  for (const header of ['Bearer', 'Bearer ', 'Bearer two tokens', 'bearer a"b']) {
    const answer = await callApi(stack, { authorization: header })
    assertJsonFailure(t, answer, 400)
    t.equal(answer.body.error, 'invalid_request', header)
    t.match(answer.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_request", error_description="[^"]+"$/)
  }
})

t.test('unknown paths under /api answer JSON 404, not the HTML page', async (t) => {
  const stack = await startStack(t)
  const answer = await callApi(stack, { accept: 'text/html' }, '/api/nope')
  assertJsonFailure(t, answer, 404)
  t.equal(answer.body.error, 'not_found')
})

t.test('the session store down: 503 JSON', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack)
  const store = stack.app.sessionStore.inner
  const original = store.get.bind(store)
  store.get = (_id, callback) => callback(new Error('store down'))
  t.teardown(() => {
    store.get = original
  })
  const answer = await callApi(stack, {}, '/api/me', browser)
  assertJsonFailure(t, answer, 503)
  t.equal(answer.body.error, 'temporarily_unavailable')
})

t.test('GET /api/me says when the session ends: the idle end slides with activity, the absolute end stays', async (t) => {
  const stack = await startStack(t, { env: { SESSION_IDLE_TIMEOUT: '30m', SESSION_MAX_AGE: '1h' } })
  const browser = new Browser()
  await signIn(browser, stack)
  const first = (await callApi(stack, {}, '/api/me', browser)).body.session as Record<string, string>
  t.equal(Date.parse(first.absoluteExpiresAt as string) - Date.parse(first.signedInAt as string), 3_600_000, 'absolute: an hour after sign-in')
  t.equal(Date.parse(first.idleExpiresAt as string) - Date.parse(first.signedInAt as string), 1_800_000, 'idle: 30 minutes after the last activity')
  t.equal(first.expiresAt, first.idleExpiresAt, 'the earlier of the two')

  stack.clock.advance(20 * 60_000)
  const mid = (await callApi(stack, {}, '/api/me', browser)).body.session as Record<string, string>
  t.equal(mid.absoluteExpiresAt, first.absoluteExpiresAt, 'the absolute end does not move')
  const slid = Date.parse(mid.idleExpiresAt as string) - Date.parse(first.idleExpiresAt as string)
  t.ok(slid >= 19 * 60_000 && slid <= 20 * 60_000 + 1000, `the idle end slid with the activity (${slid} ms)`)
  t.equal(mid.expiresAt, mid.idleExpiresAt, 'still the earlier')

  stack.clock.advance(20 * 60_000)
  const later = (await callApi(stack, {}, '/api/me', browser)).body.session as Record<string, string>
  t.ok(Date.parse(later.idleExpiresAt as string) > Date.parse(later.absoluteExpiresAt as string), 'the idle end is now past the absolute end')
  t.equal(later.expiresAt, later.absoluteExpiresAt, 'now the absolute end comes first')
})
