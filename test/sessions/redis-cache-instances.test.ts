/**
 * Two app instances sharing Redis, each with the Redis store's local cache (on by default; see
 * src/session/stores/tracking-cache.ts): page views send no GET, and what one instance changes
 * (a sign-out, a refresh) is what the other uses at its very next request.
 */
import type { Redis } from 'ioredis'
import t from 'tap'
import type { RedisSessionStore } from '../../src/session/stores/redis.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { moveToRefresh, sessionIdOf, signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'
import { countCommands } from '../helpers/store-calls.js'

const storeOf = (stack: Stack) => stack.app.sessionStore.inner as RedisSessionStore


async function trackingOn (stack: Stack): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    if (storeOf(stack).readCacheStats()?.state === 'on') return true
    await sleep(10)
  }
  return false
}

/** The session as the store's `get` (the path @fastify/session takes, cache included) answers it. */
function getThroughCache (stack: Stack, sessionId: string) {
  return new Promise<{ tokens?: { accessToken: string } } | null | undefined>((resolve, reject) => {
    storeOf(stack).get(sessionId, (err, session) => { err ? reject(err) : resolve(session as { tokens?: { accessToken: string } } | null) })
  })
}

if (await requireRedis(t)) {
  const redisEnv = (prefix: string) => ({ SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix })

  t.test('a signed-in page view is served from the cache: no GET, no write', async (t) => {
    const prefix = uniquePrefix('cache-views')
    t.teardown(() => deleteKeys(REDIS_URL, prefix))
    const stack = await startStack(t, { env: redisEnv(prefix) })
    t.ok(await trackingOn(stack), 'the cache is on by default')
    const browser = new Browser()
    await signIn(browser, stack)
    t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)
    const sent = countCommands(storeOf(stack).client)
    for (let i = 0; i < 10; i++) {
      const page = await browser.get(`${stack.baseUrl}/logged-in`)
      t.equal(page.status, 200)
      t.match(await page.text(), /data-field="username">demo</)
    }
    t.equal(sent.get, undefined, 'no GET for 10 page views')
    t.equal((sent.set ?? 0) + (sent.multi ?? 0) + (sent.exec ?? 0) + (sent.del ?? 0), 0, 'and no write')
    t.match(storeOf(stack).readCacheStats(), { state: 'on', entries: 1 })
    t.ok((storeOf(stack).readCacheStats()?.hits ?? 0) >= 10)
  })

  t.test('a sign-out on B is refused by A at its very next request, though A had the session cached', async (t) => {
    const prefix = uniquePrefix('cache-signout')
    t.teardown(() => deleteKeys(REDIS_URL, prefix))
    const { cognito, clock } = await startSharedCognito(t)
    const a = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix) })
    const b = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix), appBaseUrl: a.config.web.baseUrl })
    t.ok(await trackingOn(a))
    t.ok(await trackingOn(b))
    for (let round = 0; round < 3; round++) {
      const browser = new Browser()
      await signIn(browser, a)
      const cookie = `sid=${browser.cookie('localhost', 'sid')}`
      const onA = () => fetch(`${a.baseUrl.replace('localhost', '127.0.0.1')}/logged-in`, { headers: { cookie }, redirect: 'manual' })
      t.equal((await onA()).status, 200)
      const hitsBefore = storeOf(a).readCacheStats()?.hits ?? 0
      t.equal((await onA()).status, 200)
      t.equal(storeOf(a).readCacheStats()?.hits, hitsBefore + 1, 'A serves the session from its cache')

      const page = await browser.get(`${b.baseUrl}/logged-in`)
      const out = await browser.post(`${b.baseUrl}/logout`, { _csrf: csrfTokenOf(await page.text()) })
      t.equal(out.status, 303, 'signed out on B')
      const replay = await onA()
      t.equal(replay.status, 302, 'A refuses the cookie at its very next request')
      t.equal(replay.headers.get('location'), '/login?returnTo=%2Flogged-in')
    }
  })

  t.test('a refresh on A is used by B at its next request', async (t) => {
    const prefix = uniquePrefix('cache-refresh')
    t.teardown(() => deleteKeys(REDIS_URL, prefix))
    const { cognito, clock } = await startSharedCognito(t)
    const a = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix) })
    const b = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix), appBaseUrl: a.config.web.baseUrl })
    t.ok(await trackingOn(a))
    t.ok(await trackingOn(b))
    const browser = new Browser()
    await signIn(browser, a)
    const sid = sessionIdOf(browser) as string
    const before = await a.app.sessionStore.read(sid)
    const expiresAt = before?.tokens?.accessExpiresAt as number

    moveToRefresh(a, expiresAt, 5_000)
    // B holds the session with the tokens about to be refreshed.
    const sentByB = countCommands(storeOf(b).client)
    t.equal((await getThroughCache(b, sid))?.tokens?.accessToken, before?.tokens?.accessToken)
    t.equal((await getThroughCache(b, sid))?.tokens?.accessToken, before?.tokens?.accessToken)
    t.equal(sentByB.get, 1, 'B has them cached')

    t.equal((await browser.get(`${a.baseUrl}/logged-in`)).status, 200)
    t.equal(cognito.countGrants('refresh_token'), 1, 'A refreshed')
    const refreshed = await a.app.sessionStore.read(sid)
    t.not(refreshed?.tokens?.accessToken, before?.tokens?.accessToken)

    t.equal((await getThroughCache(b, sid))?.tokens?.accessToken, refreshed?.tokens?.accessToken, 'B reads the refreshed tokens at once')
    t.equal((await browser.get(`${b.baseUrl}/logged-in`)).status, 200, 'B serves the page')
    t.equal(cognito.countGrants('refresh_token'), 1, 'without refreshing again')
    t.equal(sentByB.get, 2, 'one GET after the change; the page view was then served from the cache')
  })
}
