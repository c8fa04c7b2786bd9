/**
 * The token endpoint failing (5xx) when a session's access token needs renewing: the session is kept
 * as it was (not extended), nothing is served with an expired token, and the first request after the
 * outage renews it.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { moveToRefresh, sessionIdOf, signIn, startStack } from '../helpers/stack.js'

t.test('FLT-08 token endpoint 5xx while the access token expires: session kept and not extended, 503 with Retry-After, renewed after the outage', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack)
  const sid = sessionIdOf(browser) as string
  const before = await stack.app.sessionStore.read(sid)
  const tokens = before?.tokens
  t.ok(tokens?.refreshToken, 'signed in with a refresh token')

  stack.cognito.faults.tokenEndpoint = { status: 500, body: '{"error":"server_error"}' }
  moveToRefresh(stack, tokens?.accessExpiresAt as number, 1_000)
  const early = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(early.status, 200, 'inside the refresh margin the still-valid token serves the page')
  await early.arrayBuffer()

  stack.clock.advanceTo((tokens?.accessExpiresAt as number) + 1_000)
  const expired = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(expired.status, 503, 'past expiry: 503, not served with the expired token')
  t.equal(expired.headers.get('retry-after'), '10', 'with Retry-After')
  const html = await expired.text()
  t.match(html, /Cognito cannot be reached/)
  t.notMatch(html, /data-field="username"/, 'no signed-in content')
  const api = await browser.get(`${stack.baseUrl}/api/me`, { accept: 'application/json' })
  t.not(api.status, 200, `the API does not answer as the person either (${api.status})`)
  await api.arrayBuffer()

  const during = await stack.app.sessionStore.read(sid)
  t.ok(during?.user, 'the session is kept')
  t.same(during?.tokens, tokens, 'with its tokens as they were: not extended')
  t.equal(during?.absoluteExpiresAt, before?.absoluteExpiresAt, 'nor its lifetime')
  t.ok(browser.cookie('localhost', 'sid'), 'the cookie is kept')

  stack.cognito.faults.tokenEndpoint = undefined
  const recovered = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(recovered.status, 200, 'the first request after the outage is served')
  const after = await stack.app.sessionStore.read(sid)
  t.ok((after?.tokens?.accessExpiresAt ?? 0) > stack.clock.now(), 'with renewed tokens')
})
