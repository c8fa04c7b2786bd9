import type { Session } from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import { RecentSlides } from '../../src/session/plugin.js'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import { sessionKey } from '../../src/session/stores/redis.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { sessionIdOf, signIn, startStack, type Stack } from '../helpers/stack.js'

const MINUTE = 60_000

/** The session behind the browser's cookie, straight from the store. */
async function storedSession(stack: Stack, browser: Browser) {
  return stack.app.sessionStore.read(sessionIdOf(browser) as string)
}

t.test('SES-10, SES-12 idle timeout: an unused session ends and is deleted; activity keeps it alive and rolls the cookie', async (t) => {
  const stack = await startStack(t, { env: { SESSION_IDLE_TIMEOUT: '10m', SESSION_MAX_AGE: '1h' } })
  const idle = new Browser()
  await signIn(idle, stack)
  const idleSid = sessionIdOf(idle) as string
  const idleSince = (await storedSession(stack, idle))?.lastSeenAt as number
  const edge = new Browser()
  await signIn(edge, stack)
  const edgeSince = (await storedSession(stack, edge))?.lastSeenAt as number

  const active = new Browser()
  await signIn(active, stack)
  const activeSince = (await storedSession(stack, active))?.lastSeenAt as number
  const sidCookies = () => active.setCookies.filter((c) => c.startsWith('sid='))
  const issued = sidCookies().length
  const expiresOf = (c: string) => Date.parse(/Expires=([^;]+)/i.exec(c)?.[1] ?? '')

  // Three page views three minutes apart: each slides the idle window and re-issues the cookie.
  for (let i = 0; i < 3; i++) {
    stack.clock.advance(3 * MINUTE)
    t.equal((await active.get(`${stack.baseUrl}/logged-in`)).status, 200)
  }
  // Just before its 10 minutes: a session unused since sign-in is still there.
  stack.clock.advanceTo(edgeSince + 10 * MINUTE - 5_000)
  t.equal((await edge.get(`${stack.baseUrl}/logged-in`)).status, 200, 'unused for 9 min 55 s: still signed in')
  // Just after: the one never used again is over.
  stack.clock.advanceTo(idleSince + 10 * MINUTE + 5_000)
  const response = await idle.get(`${stack.baseUrl}/logged-in`)
  t.equal(response.status, 302, 'unused for 10 min 5 s: the idle session is over')
  t.equal(response.headers.get('location'), '/login?returnTo=%2Flogged-in')
  t.equal(await stack.app.sessionStore.read(idleSid), null, 'and gone from the store')

  for (let i = 0; i < 4; i++) {
    stack.clock.advance(3 * MINUTE)
    t.equal((await active.get(`${stack.baseUrl}/logged-in`)).status, 200)
  }
  t.ok(stack.clock.now() - activeSince >= 21 * MINUTE, 'active for 21 min with a 10 min idle timeout')
  t.equal((await active.get(`${stack.baseUrl}/logged-in`)).status, 200, 'and still signed in')
  const lastSeenAt = (await storedSession(stack, active))?.lastSeenAt as number
  t.ok(lastSeenAt - activeSince >= 21 * MINUTE, 'the idle window slid with every page view')

  // The cookie rolls too: re-issued by each page view that slid the window, with a full idle window.
  // (Its Expires comes from @fastify/session, on the real clock, so it cannot follow the moved one.)
  const reissued = sidCookies().slice(issued)
  t.equal(reissued.length, 7, 'one new session cookie per sliding page view')
  const first = sidCookies()[issued - 1] ?? ''
  for (const cookie of reissued) {
    t.ok(expiresOf(cookie) >= expiresOf(first), 'never earlier than the first')
    t.ok(Math.abs(expiresOf(cookie) - (Date.now() + 10 * MINUTE)) < 5_000, 'a full 10 minutes from when it was sent')
  }
})

t.test('SES-11 absolute lifetime ends a session however active it is', async (t) => {
  const stack = await startStack(t, { env: { SESSION_IDLE_TIMEOUT: '20m', SESSION_MAX_AGE: '50m' } })
  const browser = new Browser()
  await signIn(browser, stack)
  const sid = sessionIdOf(browser) as string
  const absoluteExpiresAt = (await storedSession(stack, browser))?.absoluteExpiresAt as number
  t.ok(Math.abs(absoluteExpiresAt - (stack.clock.now() + 50 * MINUTE)) < 5_000, 'fixed at sign-in: 50 minutes on')

  for (let i = 0; i < 3; i++) {
    stack.clock.advance(15 * MINUTE)
    t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'active every 15 minutes')
  }
  stack.clock.advanceTo(absoluteExpiresAt - 5_000)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, '5 s before the maximum: still signed in')
  const last = await storedSession(stack, browser)
  t.equal(last?.absoluteExpiresAt, absoluteExpiresAt, 'activity does not move the maximum')

  stack.clock.advanceTo(absoluteExpiresAt + 5_000)
  t.ok(stack.clock.now() - (last?.lastSeenAt as number) < 60_000, 'used a few seconds ago: the idle timeout is far off')
  const response = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(response.status, 302, '5 s after the maximum: sent to sign in again')
  t.equal(response.headers.get('location'), '/login?returnTo=%2Flogged-in')
  t.equal(await stack.app.sessionStore.read(sid), null, 'deleted from the store')
})

t.test('BCP-14 logout revokes the refresh token; a refresh with it then fails', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const page = await signIn(browser, stack)
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  const refreshToken = session?.tokens?.refreshToken as string
  t.notOk(stack.cognito.isRefreshTokenRevoked(refreshToken))

  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(page.html) })
  t.equal(out.status, 303)
  t.ok(stack.cognito.isRefreshTokenRevoked(refreshToken), 'the emulator reports the refresh token revoked')
  const revoke = stack.cognito.requests.find((r) => r.path === '/oauth2/revoke')
  t.equal(revoke?.clientAuth, 'basic', 'revoked with the client secret')

  const refresh = await fetch(`${stack.cognito.origin}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${stack.clientId}:${stack.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  })
  t.equal(refresh.status, 400)
  t.equal(((await refresh.json()) as { error: string }).error, 'invalid_grant')
})

t.test('BCP-14 a failed revocation is logged without the token and does not block the logout', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const page = await signIn(browser, stack)
  const sid = sessionIdOf(browser) as string
  const refreshToken = (await stack.app.sessionStore.read(sid))?.tokens?.refreshToken as string
  stack.cognito.faults.unavailable = true
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(page.html) })
  t.equal(out.status, 303)
  t.match(out.headers.get('location') ?? '', /\/logout\?client_id=/)
  t.equal(await stack.app.sessionStore.read(sid), null, 'session destroyed anyway')
  t.equal(browser.cookie('localhost', 'sid'), undefined)
  const logs = stack.logs.join('\n')
  t.match(logs, /revocation failed/)
  t.notOk(logs.includes(refreshToken), 'the token is not in the log')
})

t.test('logout without a CSRF token is refused and keeps the session', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack)
  const out = await browser.post(`${stack.baseUrl}/logout`, {})
  t.equal(out.status, 403)
  t.match(await out.text(), /This form has expired/)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)
})

t.test('SES-12 expired Redis sessions are deleted, not merely ignored', async (t) => {
  if (!(await requireRedis(t))) return
  const prefix = uniquePrefix('expiry')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.quit())
  const stack = await startStack(t, {
    env: { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, SESSION_IDLE_TIMEOUT: '10m', SESSION_MAX_AGE: '1h' },
  })
  const browser = new Browser()
  await signIn(browser, stack)
  const key = sessionKey(prefix, sessionIdOf(browser) as string)
  const ttl = await redis.pttl(key)
  t.ok(ttl > 10 * MINUTE - 5_000 && ttl <= 10 * MINUTE, `key TTL ${ttl} ms follows the idle timeout`)
  const lastSeenAt = (await storedSession(stack, browser))?.lastSeenAt as number

  stack.clock.advanceTo(lastSeenAt + 10 * MINUTE - 5_000)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'just before the idle timeout: still signed in')
  const slid = (await storedSession(stack, browser))?.lastSeenAt as number
  t.ok(slid > lastSeenAt, 'that page view slid the window')

  // Past the idle timeout on the app's clock. Redis's own clock has not moved: only the app can remove the key.
  stack.clock.advanceTo(slid + 10 * MINUTE + 5_000)
  t.equal(await redis.exists(key), 1, 'Redis still holds the key (its TTL runs on real time)')
  const response = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(response.status, 302, 'the expired session is not served')
  t.equal(await redis.exists(key), 0, 'and the app deleted its key')
  t.equal(browser.cookie('localhost', 'sid'), undefined, 'the cookie is cleared')
})

t.test('page views that arrive together when the idle slide falls due write the session once, not once each', async (t) => {
  let writes = 0
  class CountingStore extends MemorySessionStore {
    override set(sessionId: string, session: Session, callback: (err?: unknown) => void): void {
      writes++
      super.set(sessionId, session, callback)
    }
  }
  const store = new CountingStore({ sweepIntervalMs: 0 })
  t.teardown(() => store.close())
  const stack = await startStack(t, { deps: { store } })
  const browser = new Browser()
  await signIn(browser, stack)
  const before = (await storedSession(stack, browser))?.lastSeenAt as number

  writes = 0
  const views = await Promise.all(Array.from({ length: 10 }, () => browser.get(`${stack.baseUrl}/logged-in`)))
  t.same(views.map((r) => r.status), Array(10).fill(200))
  t.equal(writes, 0, 'within the touch interval: no write at all')

  stack.clock.advance(2 * MINUTE)
  writes = 0
  const due = await Promise.all(Array.from({ length: 10 }, () => browser.get(`${stack.baseUrl}/logged-in`)))
  t.same(due.map((r) => r.status), Array(10).fill(200))
  t.equal(writes, 1, 'the slide falls due: ten page views together write the session once')
  t.ok(((await storedSession(stack, browser))?.lastSeenAt as number) >= before + 2 * MINUTE, 'and the window slid')

  // The note is bounded and forgets slides older than the interval.
  const slides = new RecentSlides(1000)
  t.equal(slides.claim('a', 0), false)
  t.equal(slides.claim('a', 999), true, 'a second slide within the interval is left to the first')
  t.equal(slides.claim('a', 1000), false, 'the next interval slides again')
  for (let i = 0; i < RecentSlides.MAX + 5; i++) slides.claim(`s${i}`, 2000)
  t.equal(slides.size, RecentSlides.MAX, 'never more than MAX remembered')
  slides.claim('late', 5000)
  t.equal(slides.size, 1, 'entries older than the interval go as new ones come')
})
