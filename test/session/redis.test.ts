import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import type { Session } from 'fastify'
import { RedisSessionStore, reconnectDelayMs } from '../../src/session/stores/redis.js'
import { SessionStoreUnavailableError } from '../../src/session/stores/types.js'
import { sleep } from '../helpers/clock.js'
import { REDIS_URL, deleteKeys, requireRedis, startOwnRedis, uniquePrefix } from '../helpers/redis.js'
import { asSession, destroy, get, set, type Data } from '../helpers/store-calls.js'

/** Time an operation that must fail; returns [error, elapsed ms]. */
async function failure (op: () => Promise<unknown>): Promise<[unknown, number]> {
  const started = Date.now()
  try {
    await op()
  } catch (err) {
    return [err, Date.now() - started]
  }
  return [undefined, Date.now() - started]
}

t.test('options and pure parts (no server needed)', async (t) => {
  t.throws(() => new RedisSessionStore({}), /client or a url/)
  t.throws(() => new RedisSessionStore({ url: 'http://127.0.0.1:6379' }), /redis:\/\/ or rediss:\/\//)
  t.same([1, 2, 5, 10, 11, 1000].map(reconnectDelayMs), [200, 400, 1000, 2000, 2000, 2000], 'capped backoff')

  const tls = new RedisSessionStore({ url: 'rediss://127.0.0.1:1/0' })
  t.type(tls.client, Redis, 'one node: a Redis client')
  const options = (tls.client as Redis).options
  t.ok(options.tls, 'rediss:// enables TLS')
  t.equal(options.enableOfflineQueue, false)
  t.equal(options.maxRetriesPerRequest, 1)
  t.equal(options.connectTimeout, 2000)
  t.equal(options.commandTimeout, 1000)
  t.equal(options.lazyConnect, false)
  await tls.close()
  t.equal(tls.client.status, 'end', 'own client closed even when never connected')
  t.equal(await tls.ping(), false)
})

if (await requireRedis(t)) {
  const prefix = uniquePrefix('redis-store')
  const admin = new Redis(REDIS_URL)
  t.teardown(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await admin.quit()
  })

  const newStore = async (t: Test, opts: Partial<ConstructorParameters<typeof RedisSessionStore>[0]> = {}): Promise<RedisSessionStore> => {
    const store = new RedisSessionStore({ url: REDIS_URL, prefix, ...opts })
    t.teardown(() => store.close())
    t.equal(await store.ping(), true, 'store answers ping')
    return store
  }


  t.test('an entry read again unchanged is not parsed again; a changed one is', async (t) => {
    const store = await newStore(t)
    await set(store, 'pc1', { user: { sub: 'u1', groups: ['a'] } })
    const first = await get(store, 'pc1')
    const second = await get(store, 'pc1')
    t.equal(second, first, 'the same frozen value for the same text')
    t.ok(Object.isFrozen(first) && Object.isFrozen((first as { user: object }).user), 'deep-frozen')
    // Another instance writes the entry: the text differs, so it is parsed anew.
    await admin.set(prefix + 'pc1', JSON.stringify({ user: { sub: 'u1', groups: ['a', 'b'] } }))
    const third = await get(store, 'pc1')
    t.not(third, first)
    t.same(third, { user: { sub: 'u1', groups: ['a', 'b'] } }, 'what Redis holds now')
    await admin.del(prefix + 'pc1')
    t.equal(await get(store, 'pc1'), null, 'a deleted entry is gone, whatever was read before')
  })

  t.test('round trip, stored as JSON under prefix + id', async (t) => {
    const store = await newStore(t)
    t.equal(store.kind, 'redis')
    const expires = new Date(Date.now() + 60_000)
    const data = { cookie: { originalMaxAge: 60_000, expires }, user: { sub: 'u1' }, tokens: { refresh: 'r' } }
    await set(store, 'rt', data)
    const got = await get(store, 'rt')
    t.same(got, { user: data.user, tokens: data.tokens }, 'read back without the cookie')
    t.same(JSON.parse(await admin.get(prefix + 'rt') ?? 'null'), got, 'one JSON value per session')
    t.equal(await get(store, 'missing'), null)
  })

  t.test('key TTL follows the session: min(cookie expiry, absoluteExpiresAt), else defaultTtlMs', async (t) => {
    const store = await newStore(t, { defaultTtlMs: 5_000 })
    const now = Date.now()
    await set(store, 'cookie-only', { cookie: { originalMaxAge: 60_000, expires: new Date(now + 60_000) } })
    await set(store, 'both', { cookie: { originalMaxAge: 60_000, expires: new Date(now + 60_000) }, absoluteExpiresAt: now + 30_000 })
    await set(store, 'none', { cookie: { originalMaxAge: null, expires: null } })
    const cookieOnly = await admin.pttl(prefix + 'cookie-only')
    const readAt = Date.now()
    const both = await admin.pttl(prefix + 'both')
    const none = await admin.pttl(prefix + 'none')
    t.ok(cookieOnly > 58_000 && cookieOnly <= 60_000, `cookie-only PTTL ${cookieOnly} ≈ 60 s`)
    t.ok(both > 28_000 && both <= 30_000, `both PTTL ${both} ≈ 30 s`)
    t.ok(both <= now + 30_000 - readAt + 1, `never beyond the absolute expiry (${both} ≤ ${now + 30_000 - readAt})`)
    t.ok(none > 3_000 && none <= 5_000, `no-expiry PTTL ${none} ≈ defaultTtlMs`)

    // Redis's own expiry runs on real time (no clock to move): a 50 ms lifetime, and a wait just past it.
    await set(store, 'short', { cookie: { originalMaxAge: null }, absoluteExpiresAt: Date.now() + 50 })
    const storedBy = Date.now()
    const short = await admin.pttl(prefix + 'short')
    t.ok(short > 0 && short <= 50, `PTTL ${short} ≤ the 50 ms left`)
    t.ok(await get(store, 'short'))
    await sleep(storedBy + 60 - Date.now())
    t.equal(await get(store, 'short'), null, 'Redis expired it')
  })

  t.test('an already-expired session is not stored (and replaces nothing)', async (t) => {
    const store = await newStore(t)
    await set(store, 'exp', { cookie: { originalMaxAge: null, expires: new Date(Date.now() - 1) } })
    t.equal(await admin.exists(prefix + 'exp'), 0, 'no key')
    await set(store, 'exp2', { cookie: { originalMaxAge: null }, user: 'x' })
    t.equal(await admin.exists(prefix + 'exp2'), 1)
    await set(store, 'exp2', { cookie: { originalMaxAge: null }, absoluteExpiresAt: Date.now() - 1 })
    t.equal(await admin.exists(prefix + 'exp2'), 0, 'saving it expired deletes the old key')
  })

  t.test('corrupt JSON reads as no session and is deleted', async (t) => {
    const store = await newStore(t)
    for (const [id, raw] of [['bad1', '{not json'], ['bad2', 'null'], ['bad3', '42'], ['bad4', '[1]']] as const) {
      await admin.set(prefix + id, raw, 'PX', 60_000)
      t.equal(await get(store, id), null, `${raw} → null`)
      t.equal(await admin.exists(prefix + id), 0, `${raw} deleted`)
    }
  })

  t.test('destroy removes the key', async (t) => {
    const store = await newStore(t)
    await set(store, 'd', { cookie: { originalMaxAge: null }, v: 1 })
    t.equal(await admin.exists(prefix + 'd'), 1)
    await destroy(store, 'd')
    t.equal(await admin.exists(prefix + 'd'), 0)
    t.equal(await get(store, 'd'), null)
    await destroy(store, 'd') // destroying a missing session is fine
  })

  t.test('tryLock is exclusive across store instances; unlock only by the owner', async (t) => {
    const a = await newStore(t)
    const b = await newStore(t)
    t.not(a.client, b.client, 'two separate clients')
    const token = await a.tryLock('refresh:s1', 5_000)
    t.type(token, 'string')
    t.equal(await b.tryLock('refresh:s1', 5_000), null, 'held by a')
    t.equal(await a.tryLock('refresh:s1', 5_000), null, 'also not re-entrant')
    const pttl = await admin.pttl(prefix + 'lock:refresh:s1')
    t.ok(pttl > 4_000 && pttl <= 5_000, `lock key has its TTL (${pttl})`)

    await b.unlock('refresh:s1', 'someone-else')
    t.equal(await admin.get(prefix + 'lock:refresh:s1'), token, 'a non-owner unlock does nothing')
    t.equal(await b.tryLock('refresh:s1', 5_000), null)

    await a.unlock('refresh:s1', token as string)
    t.equal(await admin.exists(prefix + 'lock:refresh:s1'), 0, 'owner unlock deletes it')
    // The lock's TTL is Redis's own (real time): 30 ms, and a wait just past it.
    const tokenB = await b.tryLock('refresh:s1', 30)
    const lockedBy = Date.now()
    t.type(tokenB, 'string', 'b gets it now')
    const shortLock = await admin.pttl(prefix + 'lock:refresh:s1')
    t.ok(shortLock > 0 && shortLock <= 30, `held, PTTL ${shortLock} ≤ 30 ms`)
    await sleep(lockedBy + 40 - Date.now())
    const tokenA = await a.tryLock('refresh:s1', 5_000)
    t.type(tokenA, 'string', 'lock expired by TTL')
    await b.unlock('refresh:s1', tokenB as string)
    t.equal(await admin.get(prefix + 'lock:refresh:s1'), tokenA, 'stale owner cannot release the new lock')
  })

  t.test('a person\'s index: written with their sessions, one hash tag, TTL of at least the longest lifetime, pruned of expired sessions on read', async (t) => {
    const store = await newStore(t, { defaultTtlMs: 60_000, indexTtlMs: 3_600_000 })
    const tag = 'TagOfAda01'
    const id = (n: number): string => tag + String(n).padStart(32, 'x')
    const now = Date.now()
    await set(store, id(1), { owner: 'ada', lastSeenAt: now, absoluteExpiresAt: now + 600_000 })
    // Lives 150 ms more: its idle window (60 s) began just under a minute ago.
    await set(store, id(2), { owner: 'ada', lastSeenAt: now - 59_850, absoluteExpiresAt: now + 600_000 })
    await set(store, id(3), { owner: 'someone with the same tag', lastSeenAt: now })
    await set(store, id(4), {}) // not signed in yet (as regenerate writes it): not indexed
    const index = `${prefix}{${tag}}:index`
    t.same((await admin.smembers(index)).sort(), [id(1), id(2), id(3)], 'the index lists the signed-in sessions with the tag')
    const pttl = await admin.pttl(index)
    t.ok(pttl > 3_590_000 && pttl <= 3_600_000, `index TTL ${pttl} ms: the longest a session lives`)
    t.equal(await admin.exists(`${prefix}{${tag}}${id(1).slice(10)}`), 1, 'each session at prefix{tag}rest')
    t.same((await store.sessionsOf('ada', [tag])).map((s) => s.id).sort(), [id(1), id(2)], 'ada\'s sessions, not the other person\'s under the same tag')

    // The second session's key expires by Redis's own TTL (set from its idle window): check the TTL,
    // then bring its end forward to 1 ms instead of waiting the 150 ms out.
    const second = `${prefix}{${tag}}${id(2).slice(10)}`
    const left = await admin.pttl(second)
    t.ok(left > 0 && left <= 150, `the key lives only what its idle window has left (${left} ms)`)
    await admin.pexpire(second, 1)
    await sleep(20)
    t.same((await store.sessionsOf('ada', [tag])).map((s) => s.id), [id(1)], 'the expired session is not listed')
    t.same((await admin.smembers(index)).sort(), [id(1), id(3)], 'and was pruned from the index')

    await destroy(store, id(1))
    t.same(await admin.smembers(index), [id(3)], 'destroy removes the entry with the session')
    await set(store, id(3), { owner: 'someone with the same tag', lastSeenAt: now - 120_000 })
    t.equal(await admin.exists(index), 0, 'saving a session expired removes it from the index; an empty index is gone')
    t.equal(await admin.exists(`${prefix}lock:refresh:{${tag}}${id(1).slice(10)}`), 0)
    const token = await store.tryLock(`refresh:${id(1)}`, 5_000)
    t.equal(await admin.get(`${prefix}lock:refresh:{${tag}}${id(1).slice(10)}`), token, 'a session\'s refresh lock shares its hash tag')
    t.throws(() => new RedisSessionStore({ url: REDIS_URL, prefix: 'app{x}:' }), /must not contain \{ or \}/, 'a prefix with braces is refused')
  })

  t.test('a passed-in client is used but not closed', async (t) => {
    const client = new Redis(REDIS_URL)
    t.teardown(() => client.quit())
    const store = new RedisSessionStore({ client, prefix })
    t.equal(store.client, client)
    t.equal(await store.ping(), true)
    await set(store, 'pc', { cookie: { originalMaxAge: null }, ok: true })
    t.same(await get(store, 'pc'), { ok: true })
    await store.close()
    await store.close()
    t.equal(await client.ping(), 'PONG', 'client still usable after store.close()')
  })

  t.test('Redis stopped and started again: fail fast, then recover without a new store', async (t) => {
    const own = await startOwnRedis()
    t.teardown(() => own.close())
    const warnings: string[] = []
    const infos: string[] = []
    const store = new RedisSessionStore({
      url: own.url,
      prefix,
      logger: { warn: (m) => { warnings.push(m) }, info: (m) => { infos.push(m) } }
    })
    t.teardown(() => store.close())
    t.equal(await store.ping(), true)
    const secret = 'refresh-token-SECRET-value'
    await set(store, 'before', { cookie: { originalMaxAge: null }, tokens: { refresh: secret } })
    t.ok(await get(store, 'before'))

    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

    let reconnects = 0
    store.client.on('reconnecting', () => { reconnects++ })
    await own.stop()

    const [getErr, getMs] = await failure(() => get(store, 'before'))
    t.type(getErr, SessionStoreUnavailableError, 'get rejects')
    t.equal((getErr as SessionStoreUnavailableError).statusCode, 503)
    t.ok(getMs < 2000, `get failed fast (${getMs} ms)`)
    const [setErr, setMs] = await failure(() => set(store, 'during', { cookie: { originalMaxAge: null } }))
    t.type(setErr, SessionStoreUnavailableError, 'set rejects')
    t.ok(setMs < 2000, `set failed fast (${setMs} ms)`)
    const [destroyErr] = await failure(() => destroy(store, 'before'))
    t.type(destroyErr, SessionStoreUnavailableError, 'destroy rejects')
    const [lockErr, lockMs] = await failure(() => store.tryLock('x', 1000))
    t.type(lockErr, SessionStoreUnavailableError, 'tryLock rejects')
    t.ok(lockMs < 2000)
    const pingStarted = Date.now()
    t.equal(await store.ping(), false, 'ping false while down')
    t.ok(Date.now() - pingStarted < 2000, 'ping answers within its timeout')

    // Stay down across a few reconnect attempts (counted as they happen, not timed).
    const deadline = Date.now() + 10_000
    while (reconnects < 4 && Date.now() < deadline) await sleep(50)
    t.ok(reconnects >= 4, `${reconnects} reconnect attempts while down`)
    t.equal(await store.ping(), false)

    await own.start()
    const upBy = Date.now() + 10_000
    let up = false
    while (!up && Date.now() < upBy) up = await store.ping()
    t.ok(up, 'ping true again after restart, same store')

    await set(store, 'after', { cookie: { originalMaxAge: null }, v: 'after-restart' })
    t.same(await get(store, 'after'), { v: 'after-restart' }, 'data written after restart is readable')
    t.equal(await get(store, 'before'), null, 'the restarted in-memory server lost the old data (expected)')
    const lock = await store.tryLock('x', 1000)
    t.type(lock, 'string')
    await store.unlock('x', lock as string)

    t.ok(warnings.length >= 1, 'outage logged')
    t.ok(warnings.length <= 2, `not once per reconnect attempt (${warnings.length})`)
    t.ok(infos.some((m) => /reachable again/.test(m)), 'recovery logged')
    t.notOk([...warnings, ...infos].some((m) => m.includes(secret)), 'no session contents in logs')
    t.same(unhandled, [], 'no unhandled rejections')
  })
}
