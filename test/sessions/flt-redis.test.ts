/**
 * Redis faults with SESSION_STORE=redis: down when the app starts, restarted empty (or flushed), and
 * slow. The app never falls back to memory, says 503 where a session is needed, keeps public pages and
 * liveness up, bounds every wait, and comes back by itself.
 */
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import t from 'tap'
import { sessionKey, type RedisSessionStore } from '../../src/session/stores/redis.js'
import { Browser } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { deleteKeys, REDIS_URL, requireRedis, startOwnRedis, uniquePrefix } from '../helpers/redis.js'
import { callbackUrlFor, sessionIdOf, signIn, startStack, type Stack } from '../helpers/stack.js'

const redisEnv = (prefix: string, url: string) => ({ SESSION_STORE: 'redis', REDIS_URL: url, REDIS_KEY_PREFIX: prefix })

/** Polls `path` until it answers `status` (Redis reconnects with a backoff of up to 2 s). */
async function waitForStatus(browser: Browser, stack: Stack, path: string, status: number, ms = 8_000): Promise<number> {
  const deadline = Date.now() + ms
  let last = 0
  while (Date.now() < deadline) {
    const response = await browser.get(`${stack.baseUrl}${path}`)
    await response.arrayBuffer()
    last = response.status
    if (last === status) return last
    await sleep(100)
  }
  return last
}

/**
 * A TCP proxy in front of Redis that holds every answer from Redis for `latency` ms (in order), so
 * the app sees a slow Redis. Requests go through at once.
 */
async function startLatencyProxy(t: { teardown(fn: () => unknown): void }, target: URL) {
  let latency = 0
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname)
    sockets.add(client)
    sockets.add(upstream)
    const queue: Array<{ at: number; chunk: Buffer }> = []
    let timer: NodeJS.Timeout | undefined
    const pump = (): void => {
      timer = undefined
      while (queue.length > 0 && (queue[0] as { at: number }).at <= Date.now()) {
        const { chunk } = queue.shift() as { chunk: Buffer }
        if (!client.destroyed) client.write(chunk)
      }
      if (queue.length > 0) timer = setTimeout(pump, (queue[0] as { at: number }).at - Date.now())
    }
    upstream.on('data', (chunk: Buffer) => {
      const last = queue.at(-1)?.at ?? 0
      queue.push({ at: Math.max(Date.now() + latency, last), chunk })
      if (timer === undefined) pump()
    })
    client.pipe(upstream)
    const end = (): void => {
      clearTimeout(timer)
      client.destroy()
      upstream.destroy()
    }
    for (const s of [client, upstream]) {
      s.on('error', end)
      s.on('close', end)
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    server.close()
    await once(server, 'close')
  })
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setLatency: (ms: number) => {
      latency = ms
    },
  }
}

if (await requireRedis(t)) {
  t.test('FLT-11 Redis down at start: no fallback to memory, readiness 503, liveness ok, /login 503, then it reconnects by itself', async (t) => {
    // A port where Redis will run, with nothing listening on it yet.
    const own = await startOwnRedis()
    t.teardown(() => own.close())
    await own.stop()
    const prefix = uniquePrefix('flt-down-at-start')
    const stack = await startStack(t, { env: redisEnv(prefix, own.url) })
    const browser = new Browser()

    t.equal(stack.app.sessionStore.inner.kind, 'redis', 'the Redis store is used, not a memory fallback')
    t.equal((await browser.get(`${stack.baseUrl}/healthz`)).status, 200, 'liveness is ok')
    const ready = await browser.get(`${stack.baseUrl}/readyz`)
    t.equal(ready.status, 503, 'readiness is not')
    t.same(((await ready.json()) as { checks: unknown }).checks, { cognitoDiscovery: 'ok', sessionStore: 'unavailable' })
    t.equal((await browser.get(`${stack.baseUrl}/`)).status, 200, 'the public home page is served')
    const login = await browser.get(`${stack.baseUrl}/login`)
    t.equal(login.status, 503, '/login answers 503 instead of sending the person to Cognito')
    t.equal(login.headers.get('retry-after'), '10', 'with Retry-After')
    t.match(await login.text(), /Temporarily unavailable/)
    t.notOk(browser.cookie('localhost', 'signin'), 'no sign-in was started')
    t.equal(stack.cognito.requests.filter((r) => r.path === '/oauth2/authorize').length, 0, 'Cognito saw no sign-in')
    t.ok(stack.logs.some((l) => /session store: redis at .* unavailable .*reconnecting/.test(l)), 'the outage is logged')

    // Redis comes up: the app's own client reconnects, without a restart.
    await own.start()
    t.equal(await waitForStatus(browser, stack, '/readyz', 200), 200, 'ready once Redis answers')
    const signedIn = await signIn(browser, stack)
    t.equal(signedIn.response.status, 200, 'sign-in works')
    const admin = new Redis(own.url)
    t.teardown(() => admin.quit())
    t.equal(await admin.exists(sessionKey(prefix, sessionIdOf(browser) as string)), 1, 'and the session is in Redis')
  })

  t.test('FLT-13 Redis flushed, then restarted without persistence: stale cookies become anonymous, no 500, a pending sign-in still completes', async (t) => {
    const own = await startOwnRedis()
    t.teardown(() => own.close())
    const admin = new Redis(own.url)
    admin.on('error', () => undefined)
    t.teardown(() => admin.disconnect())
    const stack = await startStack(t, { env: redisEnv(uniquePrefix('flt-data-loss'), own.url) })

    const a = new Browser()
    await signIn(a, stack)
    t.equal((await a.get(`${stack.baseUrl}/logged-in`)).status, 200, 'A is signed in')
    const b = new Browser()
    const pending = await callbackUrlFor(b, stack) // B is at Cognito when the data goes

    await admin.flushall()
    const stale = await a.get(`${stack.baseUrl}/logged-in`)
    t.equal(stale.status, 302, 'A is anonymous: sent to sign in, not a 500')
    t.match(stale.headers.get('location') ?? '', /^\/login\?returnTo=%2Flogged-in$/)
    t.notOk(a.cookie('localhost', 'sid'), 'the stale cookie is cleared')
    const home = await a.get(`${stack.baseUrl}/`)
    t.equal(home.status, 200)
    t.match(await home.text(), /id="greeting">Welcome</, 'the home page is the anonymous one')

    // The sign-in transaction lives in B's cookie, not in Redis: it completes.
    const done = await b.follow(await b.get(pending), pending)
    t.equal(done.response.status, 200, 'the pending sign-in completes')
    t.equal(new URL(done.url).pathname, '/logged-in')

    // Redis restarted without persistence: B's session is gone too.
    await own.stop()
    await own.start()
    t.equal(await waitForStatus(b, stack, '/readyz', 200), 200, 'Redis is back')
    const after = await b.get(`${stack.baseUrl}/logged-in`)
    t.equal(after.status, 302, 'B is anonymous: sent to sign in, not a 500')
    t.notOk(b.cookie('localhost', 'sid'), 'the stale cookie is cleared')
    const again = await b.navigate(`${stack.baseUrl}/login`)
    t.equal(new URL(again.url).pathname, '/logged-in', 'and signs in again (Cognito still knows them)')
    t.equal(again.response.status, 200)
  })

  t.test('FLT-14 Redis answering 2 s late: each request gives up at the command timeout (503), the queue is not used, and it recovers', async (t) => {
    const prefix = uniquePrefix('flt-slow')
    t.teardown(() => deleteKeys(REDIS_URL, prefix))
    const proxy = await startLatencyProxy(t, new URL(REDIS_URL))
    const stack = await startStack(t, { env: redisEnv(prefix, proxy.url) })
    const store = stack.app.sessionStore.inner as RedisSessionStore
    const client = store.client as Redis // a single node (REDIS_CLUSTER unset)
    t.equal(client.options.enableOfflineQueue, false, 'no offline queue: commands fail at once while disconnected')
    t.equal(client.options.commandTimeout, 1_000, 'every command is bounded (1 s)')
    t.equal(client.options.connectTimeout, 2_000, 'and so is connecting (2 s)')

    const browser = new Browser()
    await signIn(browser, stack)
    t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)

    proxy.setLatency(2_000)
    const timed = async (path: string, from = browser) => {
      const started = Date.now()
      const response = await from.get(`${stack.baseUrl}${path}`)
      const body = await response.text()
      return { status: response.status, body, ms: Date.now() - started }
    }
    const burst = await Promise.all(Array.from({ length: 20 }, () => timed('/logged-in')))
    t.same([...new Set(burst.map((r) => r.status))], [503], 'signed-in pages answer 503, not served as anyone')
    t.match(burst[0]?.body ?? '', /Temporarily unavailable/)
    const slowest = Math.max(...burst.map((r) => r.ms))
    t.ok(slowest < 1_800, `every request ended at about the command timeout, before Redis answered (slowest ${slowest} ms)`)
    const home = await timed('/')
    t.equal(home.status, 200, 'the public home page is still served')
    t.ok(home.ms < 1_800, `also in bounded time (${home.ms} ms)`)
    const ready = await timed('/readyz', new Browser()) // a probe, without a session cookie
    t.equal(ready.status, 503, 'readiness reports the slow store')
    t.ok(ready.ms < 1_800, `in bounded time (${ready.ms} ms)`)
    t.ok(browser.cookie('localhost', 'sid'), 'the session cookie is kept')

    proxy.setLatency(0)
    t.equal(await waitForStatus(browser, stack, '/logged-in', 200), 200, 'the same session works again once Redis is fast')
  })
}
