import { Redis } from 'ioredis'
import t from 'tap'
import { sessionKey } from '../../src/session/stores/redis.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { deleteKeys, REDIS_URL, requireRedis, startOwnRedis, uniquePrefix } from '../helpers/redis.js'
import { moveToRefresh, sessionIdOf, signIn, startSharedCognito, startStack } from '../helpers/stack.js'

if (await requireRedis(t)) {
  const redisEnv = (prefix: string, url = REDIS_URL) => ({ SESSION_STORE: 'redis', REDIS_URL: url, REDIS_KEY_PREFIX: prefix })

  t.test('two instances share sessions through Redis: sign in on A, use on B, sign out on B', async (t) => {
    const prefix = uniquePrefix('two-instances')
    t.teardown(() => deleteKeys(REDIS_URL, prefix))
    const { cognito, clock } = await startSharedCognito(t)
    const a = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix) })
    const b = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix), appBaseUrl: a.config.web.baseUrl })
    const browser = new Browser()

    await signIn(browser, a)
    const onB = await browser.get(`${b.baseUrl}/logged-in`)
    t.equal(onB.status, 200, 'B serves the session A created')
    const page = await onB.text()
    t.match(page, /data-field="username">demo</)

    t.equal(onB.headers.get('set-cookie'), null, 'a plain page view writes no cookie')
    const cookie = `sid=${browser.cookie('localhost', 'sid')}`

    const out = await browser.post(`${b.baseUrl}/logout`, { _csrf: csrfTokenOf(page) })
    t.equal(out.status, 303)
    t.match(out.headers.get('location') ?? '', /\/logout\?client_id=/)

    const replay = await fetch(`${a.baseUrl.replace('localhost', '127.0.0.1')}/logged-in`, {
      headers: { cookie },
      redirect: 'manual',
    })
    t.equal(replay.status, 302, 'A sees the person signed out')
    t.equal(replay.headers.get('location'), '/login?returnTo=%2Flogged-in')
  })

  t.test('LOAD-03 one refresh grant for 20 concurrent requests spread over two instances', async (t) => {
    const prefix = uniquePrefix('two-instance-refresh')
    t.teardown(() => deleteKeys(REDIS_URL, prefix))
    // Normal token life (1 h) and refresh margin (60 s); one clock for Cognito and both instances.
    const { cognito, clock } = await startSharedCognito(t)
    const env = redisEnv(prefix)
    const a = await startStack(t, { sharedCognito: cognito, clock, env })
    const b = await startStack(t, { sharedCognito: cognito, clock, env, appBaseUrl: a.config.web.baseUrl })
    const browser = new Browser()
    await signIn(browser, a)
    const signedIn = await a.app.sessionStore.read(sessionIdOf(browser) as string)
    const expiresAt = signedIn?.tokens?.accessExpiresAt as number
    const spread = () => Promise.all(Array.from({ length: 20 }, (_, i) => browser.get(`${(i % 2 ? a : b).baseUrl}/logged-in`)))

    moveToRefresh(a, expiresAt, -5_000)
    t.same((await spread()).map((r) => r.status), Array(20).fill(200), '5 s before the refresh point: served')
    t.equal(cognito.countGrants('refresh_token'), 0, 'and nothing refreshed')

    moveToRefresh(a, expiresAt, 5_000)
    const before = cognito.countGrants('refresh_token')
    const responses = await spread()
    t.same(responses.map((r) => r.status), Array(20).fill(200))
    t.equal(cognito.countGrants('refresh_token') - before, 1, 'exactly one refresh grant across both instances')
    const session = await a.app.sessionStore.read(sessionIdOf(browser) as string)
    t.not(session?.tokens?.accessToken, signedIn?.tokens?.accessToken, 'the refreshed tokens are in Redis')
    t.ok((session?.tokens?.accessExpiresAt ?? 0) > (signedIn?.tokens?.accessExpiresAt ?? 0))
  })

  t.test('SES-16, LOAD-06 Redis keys carry a TTL equal to the remaining lifetime; sessions survive an app restart', async (t) => {
    const prefix = uniquePrefix('ttl')
    t.teardown(() => deleteKeys(REDIS_URL, prefix))
    const redis = new Redis(REDIS_URL)
    t.teardown(() => redis.quit())
    const { cognito, clock } = await startSharedCognito(t)
    const env = { ...redisEnv(prefix), SESSION_IDLE_TIMEOUT: '30m', SESSION_MAX_AGE: '2h' }
    const first = await startStack(t, { sharedCognito: cognito, clock, env })
    const browser = new Browser()
    await signIn(browser, first)
    const key = sessionKey(prefix, sessionIdOf(browser) as string)
    const ttl = await redis.pttl(key)
    t.ok(ttl > 29 * 60_000 && ttl <= 30 * 60_000, `TTL ${ttl} ms follows the 30 min idle timeout`)
    const stored = (await redis.get(key)) ?? ''
    t.match(stored, /"tokens":\{"accessExpiresAt":\d+,"sealed":"v1\./, 'the tokens are in Redis (sealed), not in the cookie')
    t.notMatch(stored, /(?<![\w-])eyJ[\w-]+\.[\w-]*\./, 'and no JWT can be read there')

    // The same app, restarted: a new process-equivalent with the same secret and Redis.
    await first.app.close()
    const second = await startStack(t, { sharedCognito: cognito, clock, env, appBaseUrl: first.config.web.baseUrl })
    const again = await browser.get(`${second.baseUrl}/logged-in`)
    t.equal(again.status, 200, 'no session is lost by an app restart')
  })

  t.test('FLT-12 Redis stopped and started again: public pages keep working, signed-in pages 503, then recovery', async (t) => {
    const own = await startOwnRedis({ persist: true })
    t.teardown(() => own.close())
    const prefix = uniquePrefix('outage')
    const stack = await startStack(t, { env: redisEnv(prefix, own.url) })
    const browser = new Browser()
    await signIn(browser, stack)
    t.equal((await browser.get(`${stack.baseUrl}/readyz`)).status, 200)

    await own.stop()
    const home = await browser.get(`${stack.baseUrl}/`)
    t.equal(home.status, 200, 'the public home page still renders')
    t.equal((await browser.get(`${stack.baseUrl}/healthz`)).status, 200)
    const signedIn = await browser.get(`${stack.baseUrl}/logged-in`)
    t.equal(signedIn.status, 503, 'signed-in page answers 503')
    t.match(await signedIn.text(), /Temporarily unavailable/)
    const ready = await browser.get(`${stack.baseUrl}/readyz`)
    t.equal(ready.status, 503)
    t.same(((await ready.json()) as { checks: { sessionStore: string } }).checks.sessionStore, 'unavailable')
    t.ok(browser.cookie('localhost', 'sid'), 'the session cookie is kept during the outage')

    await own.start()
    let recovered = 0
    for (let i = 0; i < 50 && recovered !== 200; i++) {
      recovered = (await browser.get(`${stack.baseUrl}/logged-in`)).status
      if (recovered !== 200) await sleep(100)
    }
    t.equal(recovered, 200, 'the same session works again without a restart')
    t.equal((await browser.get(`${stack.baseUrl}/readyz`)).status, 200)
  })
}
