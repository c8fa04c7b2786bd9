/**
 * The Redis session store on a real Redis Cluster (three masters, three replicas, started from the
 * machine's redis-server for this file): two app instances share sessions through it, every key of a
 * session sits in one slot with its TTL, a refresh is single-flight across instances, the devices page
 * reads a person's index, and /readyz says ready.
 */
import { Cluster } from 'ioredis'
import type { Session } from 'fastify'
import t from 'tap'
import { RedisSessionStore, indexKey, lockKey, sessionKey } from '../../src/session/stores/redis.js'
import { tagOf } from '../../src/session/session-id.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { uniquePrefix } from '../helpers/redis.js'
import { freePorts, requireRedisServer, startRedisCluster } from '../helpers/redis-cluster.js'
import { moveToRefresh, sessionIdOf, signIn, startSharedCognito, startStack } from '../helpers/stack.js'

if (await requireRedisServer(t)) {
  const cluster = await startRedisCluster(t)
  const admin = new Cluster(cluster.nodes.slice(0, 3).map((node) => ({ host: '127.0.0.1', port: node.port })))
  t.teardown(() => admin.quit())
  const clusterEnv = (prefix: string, extra: Record<string, string> = {}) => ({ SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: cluster.url, REDIS_KEY_PREFIX: prefix, ...extra })
  const keySlot = async (key: string): Promise<number> => await admin.cluster('KEYSLOT', key)

  t.test('the store on a cluster: a Cluster client, every command of a session in its one slot, locks, a person\'s sessions', async (t) => {
    const prefix = uniquePrefix('cluster-store')
    t.teardown(() => cluster.deleteKeys(prefix))
    const store = new RedisSessionStore({ url: cluster.url, cluster: true, prefix, defaultTtlMs: 60_000, indexTtlMs: 3_600_000 })
    t.teardown(() => store.close())
    t.type(store.client, Cluster, 'REDIS_CLUSTER gives a Cluster client')
    t.equal(await store.ping(), true, 'ready: every slot has a master that answers')
    const set = (id: string, data: Record<string, unknown>) => new Promise<void>((resolve, reject) => { store.set(id, data as unknown as Session, (e) => { e ? reject(e) : resolve() }) })
    const get = (id: string) => new Promise<unknown>((resolve, reject) => { store.get(id, (e, s) => { e ? reject(e) : resolve(s) }) })
    const destroy = (id: string) => new Promise<void>((resolve, reject) => { store.destroy(id, (e) => { e ? reject(e) : resolve() }) })

    // Ten people, so their tags land on all three masters.
    const tags = Array.from({ length: 10 }, (_, i) => `TagOfP${String(i).padStart(4, '0')}`)
    const id = (tag: string, n: number): string => tag + String(n).padStart(32, 'x')
    const now = Date.now()
    for (const tag of tags) {
      await set(id(tag, 1), { owner: tag, lastSeenAt: now, absoluteExpiresAt: now + 600_000 })
      await set(id(tag, 2), { owner: tag, lastSeenAt: now, absoluteExpiresAt: now + 600_000 })
    }
    const masters = new Set(await Promise.all(tags.map(async (tag) => await cluster.masterOf(sessionKey(prefix, id(tag, 1))))))
    t.equal(masters.size, 3, 'the sessions are spread over the three masters')
    for (const tag of tags) {
      const slot = await keySlot(sessionKey(prefix, id(tag, 1)))
      t.equal(await keySlot(indexKey(prefix, tag)), slot, `${tag}: the index in its sessions' slot`)
      t.equal(await keySlot(lockKey(prefix, `refresh:${id(tag, 1)}`)), slot, `${tag}: and the refresh lock`)
      t.same((await store.sessionsOf(tag, [tag])).map((s) => s.id).sort(), [id(tag, 1), id(tag, 2)], `${tag}: listed through the index (SMEMBERS, MGET)`)
    }
    t.same(await get(id(tags[0] as string, 1)), { owner: tags[0], lastSeenAt: now, absoluteExpiresAt: now + 600_000 })
    const pttl = await admin.pttl(sessionKey(prefix, id(tags[0] as string, 1)))
    t.ok(pttl > 58_000 && pttl <= 60_000, `session TTL ${pttl} ms`)
    await destroy(id(tags[0] as string, 1))
    t.equal(await get(id(tags[0] as string, 1)), null, 'destroyed (DEL and SREM in one MULTI)')
    t.same(await admin.smembers(indexKey(prefix, tags[0] as string)), [id(tags[0] as string, 2)])

    const token = await store.tryLock(`refresh:${id(tags[1] as string, 1)}`, 5_000)
    t.type(token, 'string', 'lock taken (SET NX PX)')
    t.equal(await store.tryLock(`refresh:${id(tags[1] as string, 1)}`, 5_000), null, 'and exclusive')
    await store.unlock(`refresh:${id(tags[1] as string, 1)}`, token as string)
    t.equal(await admin.exists(lockKey(prefix, `refresh:${id(tags[1] as string, 1)}`)), 0, 'released by its owner (EVAL on one key)')
    t.equal(tagOf(id(tags[2] as string, 1)), tags[2])
  })

  t.test('two instances share sessions through the cluster: sign in on A, use on B, sign out on B, anonymous on A', async (t) => {
    const prefix = uniquePrefix('cluster-two-instances')
    t.teardown(() => cluster.deleteKeys(prefix))
    const { cognito, clock } = await startSharedCognito(t)
    const a = await startStack(t, { sharedCognito: cognito, clock, env: clusterEnv(prefix) })
    const b = await startStack(t, { sharedCognito: cognito, clock, env: clusterEnv(prefix), appBaseUrl: a.config.web.baseUrl })
    t.equal(a.config.session.redisCluster, true)
    const browser = new Browser()
    await signIn(browser, a)
    const onB = await browser.get(`${b.baseUrl}/logged-in`)
    t.equal(onB.status, 200, 'B serves the session A created')
    const page = await onB.text()
    t.match(page, /data-field="username">demo</)
    const id = sessionIdOf(browser) as string
    t.ok(await admin.exists(sessionKey(prefix, id)), 'the session is in the cluster')

    const cookie = `sid=${browser.cookie('localhost', 'sid')}`

    const out = await browser.post(`${b.baseUrl}/logout`, { _csrf: csrfTokenOf(page) })
    t.equal(out.status, 303, 'signed out on B')
    t.equal(await admin.exists(sessionKey(prefix, id)), 0, 'its record is gone from the cluster')
    // The cookie as it was before signing out, sent again to A: it names nothing any more.
    const onA = await fetch(`${a.baseUrl.replace('localhost', '127.0.0.1')}/logged-in`, { headers: { cookie }, redirect: 'manual' })
    t.equal(onA.status, 302, 'A sees the person signed out')
    t.equal(onA.headers.get('location'), '/login?returnTo=%2Flogged-in')
  })

  t.test('SES-16 on a cluster: the session and its person\'s index carry TTLs (idle timeout; at least the longest lifetime)', async (t) => {
    const prefix = uniquePrefix('cluster-ttl')
    t.teardown(() => cluster.deleteKeys(prefix))
    const stack = await startStack(t, { env: clusterEnv(prefix, { SESSION_IDLE_TIMEOUT: '30m', SESSION_MAX_AGE: '2h' }) })
    const browser = new Browser()
    await signIn(browser, stack)
    const id = sessionIdOf(browser) as string
    const tag = tagOf(id) as string
    t.ok(tag, 'a signed-in session id carries its person\'s tag')
    const ttl = await admin.pttl(sessionKey(prefix, id))
    t.ok(ttl > 29 * 60_000 && ttl <= 30 * 60_000, `session TTL ${ttl} ms follows the 30 min idle timeout`)
    const indexTtl = await admin.pttl(indexKey(prefix, tag))
    t.ok(indexTtl > 119 * 60_000 && indexTtl <= 120 * 60_000, `index TTL ${indexTtl} ms: the 2 h maximum age`)
    t.same(await admin.smembers(indexKey(prefix, tag)), [id], 'the index lists the session')
    t.equal(await keySlot(indexKey(prefix, tag)), await keySlot(sessionKey(prefix, id)), 'one slot for both')
    const stored = (await admin.get(sessionKey(prefix, id))) ?? ''
    t.match(stored, /"sealed":"v1\./, 'the tokens are sealed')
    t.notMatch(stored, /(?<![\w-])eyJ[\w-]+\.[\w-]*\./, 'no JWT can be read there')
  })

  t.test('LOAD-03 on a cluster: one refresh grant for 20 concurrent requests spread over two instances', async (t) => {
    const prefix = uniquePrefix('cluster-refresh')
    t.teardown(() => cluster.deleteKeys(prefix))
    const { cognito, clock } = await startSharedCognito(t)
    const env = clusterEnv(prefix)
    const a = await startStack(t, { sharedCognito: cognito, clock, env })
    const b = await startStack(t, { sharedCognito: cognito, clock, env, appBaseUrl: a.config.web.baseUrl })
    const browser = new Browser()
    await signIn(browser, a)
    const id = sessionIdOf(browser) as string
    const signedIn = await a.app.sessionStore.read(id)
    const expiresAt = signedIn?.tokens?.accessExpiresAt as number
    const spread = () => Promise.all(Array.from({ length: 20 }, (_, i) => browser.get(`${(i % 2 ? a : b).baseUrl}/logged-in`)))

    moveToRefresh(a, expiresAt, 5_000)
    const responses = await spread()
    t.same(responses.map((r) => r.status), Array(20).fill(200), 'all 20 served')
    t.equal(cognito.countGrants('refresh_token'), 1, 'exactly one refresh grant across both instances')
    const session = await b.app.sessionStore.read(id)
    t.not(session?.tokens?.accessToken, signedIn?.tokens?.accessToken, 'the refreshed tokens are in the cluster')
    t.ok((session?.tokens?.accessExpiresAt ?? 0) > expiresAt)
    t.equal(await admin.exists(lockKey(prefix, `refresh:${id}`)), 0, 'the lock is released')
  })

  t.test('the devices page lists a person\'s sessions from the cluster, across instances, and ends one', async (t) => {
    const prefix = uniquePrefix('cluster-devices')
    t.teardown(() => cluster.deleteKeys(prefix))
    const { cognito, clock } = await startSharedCognito(t)
    const a = await startStack(t, { sharedCognito: cognito, clock, env: clusterEnv(prefix) })
    const b = await startStack(t, { sharedCognito: cognito, clock, env: clusterEnv(prefix), appBaseUrl: a.config.web.baseUrl })
    const laptop = new Browser()
    const phone = new Browser()
    const someoneElse = new Browser()
    await signIn(laptop, a)
    await signIn(phone, b)
    await signIn(someoneElse, a, { username: 'reader', password: 'Reader-passw0rd' })

    const listed = await laptop.get(`${b.baseUrl}/account/sessions`)
    t.equal(listed.status, 200)
    const html = await listed.text()
    t.same([...html.matchAll(/data-device="(current|other)"/g)].map((m) => m[1]).sort(), ['current', 'other'], 'both of demo\'s sessions, not reader\'s')
    const handles = [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1] as string)
    t.equal(handles.length, 1, 'one other session to end')

    const ended = await laptop.post(`${a.baseUrl}/account/sessions/end`, { _csrf: csrfTokenOf(html), session: handles[0] as string }, { 'sec-fetch-site': 'same-origin' })
    t.ok(ended.status === 303 || ended.status === 200, `ended (${ended.status})`)
    t.equal(await admin.exists(sessionKey(prefix, sessionIdOf(phone) as string)), 0, 'its record is gone from the cluster')
    t.equal((await phone.get(`${b.baseUrl}/logged-in`)).status, 302, 'the phone is anonymous on B')
    t.equal((await laptop.get(`${b.baseUrl}/logged-in`)).status, 200, 'the laptop is still signed in')
    t.equal((await someoneElse.get(`${b.baseUrl}/logged-in`)).status, 200, 'and so is the other person')
    const tag = tagOf(sessionIdOf(laptop) as string) as string
    t.same(await admin.smembers(indexKey(prefix, tag)), [sessionIdOf(laptop)], 'the index lists only the laptop now')
  })

  t.test('/readyz is ready on a healthy cluster', async (t) => {
    const prefix = uniquePrefix('cluster-ready')
    t.teardown(() => cluster.deleteKeys(prefix))
    const stack = await startStack(t, { env: clusterEnv(prefix) })
    const ready = await fetch(`${stack.baseUrl.replace('localhost', '127.0.0.1')}/readyz`)
    t.equal(ready.status, 200)
    t.same(await ready.json(), { status: 'ready', checks: { cognitoDiscovery: 'ok', sessionStore: 'ok' } })
    const store = stack.app.sessionStore.inner as RedisSessionStore
    t.equal((store.client as Cluster).status, 'ready')
    t.equal((store.client as Cluster).nodes('master').length, 3, 'the client knows the three masters')
  })

  t.test('a store on a cluster that does not answer: ping false, commands fail fast with SessionStoreUnavailableError', async (t) => {
    const warnings: string[] = []
    const [port] = await freePorts(1) // nothing listens there
    const store = new RedisSessionStore({ url: `redis://:not-logged-SECRET@127.0.0.1:${port}`, cluster: true, prefix: 'x:', logger: { warn: (m) => { warnings.push(m) } } })
    t.teardown(() => store.close())
    t.equal(await store.ping(), false)
    const started = Date.now()
    const error = await new Promise<unknown>((resolve) => { store.get('TagOfNone0' + 'x'.repeat(32), (e) => { resolve(e) }) })
    t.match(error, { name: 'SessionStoreUnavailableError', statusCode: 503 })
    t.ok(Date.now() - started < 2000, `failed within ${Date.now() - started} ms`)
    const by = Date.now() + 5000
    while (warnings.length === 0 && Date.now() < by) await new Promise((resolve) => setTimeout(resolve, 50))
    t.equal(warnings.length, 1, 'the outage is logged once')
    t.notMatch(warnings.join('\n'), /SECRET/, 'without the password')
  })
}
