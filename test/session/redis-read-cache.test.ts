/**
 * The Redis store's local cache kept right by Redis (CLIENT TRACKING, src/session/stores/tracking-cache.ts):
 * what it saves (GETs, counted on the store's own connection), and that it never serves what Redis no
 * longer holds: writes from elsewhere, a read overtaken by an invalidation, lost connections, expiry,
 * its bound, and a server that refuses tracking.
 */
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import type { Session } from 'fastify'
import { RedisSessionStore, sessionKey, type RedisSessionStoreOptions } from '../../src/session/stores/redis.js'
import { ReadCache } from '../../src/session/stores/tracking-cache.js'
import { until } from '../helpers/clock.js'
import { REDIS_URL, deleteKeys, requireRedis, startOwnRedis, uniquePrefix } from '../helpers/redis.js'
import { countCommands, destroy, get, set } from '../helpers/store-calls.js'




const stateOf = (store: RedisSessionStore) => store.readCacheStats()?.state

t.test('ReadCache on its own: in-flight reads, bound, expiry, state', async (t) => {
  const cache = new ReadCache<string>({ maxEntries: 2, maxAgeMs: 1000 })
  t.equal(cache.begin('a'), undefined, 'nothing is read for keeping before tracking is on')
  cache.enable()
  const overtaken = cache.begin('a')
  cache.invalidate('a')
  t.equal(cache.settle(overtaken, 'old', 10_000, 0), false, 'a read its key was invalidated during is not kept')
  t.equal(cache.get('a', 0), undefined)
  const flushed = cache.begin('a')
  cache.flush()
  t.equal(cache.settle(flushed, 'old', 10_000, 0), false, 'nor one that a flush overtook')
  const kept = cache.begin('a')
  t.equal(cache.settle(kept, 'v', 10_000, 0), true)
  t.equal(cache.get('a', 999), 'v')
  t.equal(cache.get('a', 1000), undefined, 'never older than maxAgeMs')
  t.equal(cache.settle(cache.begin('b'), 'v', 500, 0), true)
  t.equal(cache.get('b', 500), undefined, 'never past the value\'s own expiry')
  for (const key of ['c', 'd', 'e']) cache.settle(cache.begin(key), key, 10_000, 0)
  t.equal(cache.size, 2, 'bounded')
  t.equal(cache.get('c', 1), undefined, 'the least recently used left first')
  cache.settle(cache.begin('f'), 'f', 10_000, 0)
  cache.disable()
  t.equal(cache.size, 0, 'off: everything dropped')
  t.equal(cache.begin('f'), undefined)
})

t.test('ReadCache with sources (Redis Cluster): an entry is served only while its key belongs to the server it was read from', async (t) => {
  const cache = new ReadCache<string>()
  const owners = new Map<string, string | undefined>([['a', 'node1:6379'], ['b', 'node2:6379']])
  cache.useSource((key) => owners.get(key))
  cache.enable()
  t.equal(cache.settle(cache.begin('a'), 'va', 10_000, 0), true)
  t.equal(cache.get('a', 1), 'va', 'served while the key is on the server it was read from')
  owners.set('a', 'node3:6379')
  t.equal(cache.get('a', 1), undefined, 'not once the slot map gives the key to another server (a failover, a redirection)')
  owners.set('a', 'node1:6379')
  t.equal(cache.get('a', 1), undefined, 'and the entry is gone for good')

  const moving = cache.begin('b')
  owners.set('b', 'node3:6379')
  t.equal(cache.settle(moving, 'vb', 10_000, 0), false, 'a read whose key moved while it was in flight is not kept')
  owners.set('c', undefined)
  t.equal(cache.begin('c'), undefined, 'a key of a slot with no known master is not read for keeping')
})

if (await requireRedis(t)) {
  const prefix = uniquePrefix('read-cache')
  const admin = new Redis(REDIS_URL)
  t.teardown(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await admin.quit()
  })

  const newStore = async (t: Test, opts: Partial<RedisSessionStoreOptions> = {}): Promise<RedisSessionStore> => {
    const store = new RedisSessionStore({ url: REDIS_URL, prefix, ...opts })
    t.teardown(() => store.close())
    t.equal(await store.ping(), true, 'store answers ping')
    if (opts.readCache !== false) await until(t, 'tracking is on', () => stateOf(store) === 'on')
    return store
  }

  t.test('a session read once is served from the cache until it changes: no GET per page view', async (t) => {
    const store = await newStore(t)
    const sent = countCommands(store.client)
    await set(store, 'hit1', { user: { sub: 'u1' }, n: 1 })
    const first = await get(store, 'hit1')
    for (let i = 0; i < 20; i++) t.equal(await get(store, 'hit1'), first, 'the same frozen value')
    t.equal(sent.get, 1, 'one GET for 21 reads')
    t.match(store.readCacheStats(), { state: 'on', entries: 1, hits: 20 })

    // Written elsewhere: the very next read has the new value, every time.
    for (let n = 2; n < 30; n++) {
      await admin.set(sessionKey(prefix, 'hit1'), JSON.stringify({ user: { sub: 'u1' }, n }))
      t.same((await get(store, 'hit1'))?.n, n, `written elsewhere (${n}): the next read sees it`)
      t.same((await get(store, 'hit1'))?.n, n)
    }
    await admin.del(sessionKey(prefix, 'hit1'))
    t.equal(await get(store, 'hit1'), null, 'deleted elsewhere: the next read finds nothing')
  })

  t.test('two stores: a destroy or a write on B is seen by A at its next read', async (t) => {
    const a = await newStore(t)
    const b = await newStore(t)
    const sentByA = countCommands(a.client)
    for (let i = 0; i < 25; i++) {
      const id = `two${i}`
      await set(a, id, { user: { sub: 'u2' }, tokens: 'old' })
      t.same((await get(a, id))?.tokens, 'old')
      t.same((await get(a, id))?.tokens, 'old', 'served from A\'s cache')
      await set(b, id, { user: { sub: 'u2' }, tokens: 'refreshed' })
      t.same((await get(a, id))?.tokens, 'refreshed', 'B\'s refresh is used by A at once')
      t.same((await get(a, id))?.tokens, 'refreshed')
      await destroy(b, id)
      t.equal(await get(a, id), null, 'B\'s sign-out is refused by A at once')
    }
    t.equal(sentByA.get, 75, 'A sent a GET only after each change (3 of its 5 reads per round)')
  })

  t.test('a read overtaken by an invalidation is not kept', async (t) => {
    const store = await newStore(t)
    const sent = countCommands(store.client)
    const key = sessionKey(prefix, 'race1')
    await admin.set(key, JSON.stringify({ v: 'before' }))
    const id = await store.client.call('CLIENT', 'ID') as number
    // Hold the store's answers back: the GET is executed by Redis, then the key is changed and the
    // invalidation arrives on the other connection, then the (old) answer is let through.
    const stream = (store.client as Redis).stream
    stream.pause()
    const reading = get(store, 'race1')
    await until(t, 'Redis has run the GET', async () => /\bcmd=get\b/.test(String(await admin.call('CLIENT', 'LIST', 'ID', String(id)))))
    const invalidationsBefore = store.readCacheStats()?.invalidations ?? 0
    await admin.set(key, JSON.stringify({ v: 'after' }))
    await until(t, 'the invalidation has arrived', () => (store.readCacheStats()?.invalidations ?? 0) > invalidationsBefore)
    stream.resume()
    t.same((await reading)?.v, 'before', 'the read answers what Redis held when it ran')
    t.equal(store.readCacheStats()?.entries, 0, 'but it is not kept')
    t.same((await get(store, 'race1'))?.v, 'after', 'the next read asks Redis again')
    t.equal(sent.get, 2)
  })

  t.test('bounded, and an entry never outlives the session\'s expiry nor maxAgeMs', async (t) => {
    let now = 1_000_000_000_000
    const store = await newStore(t, { now: () => now, readCache: { maxEntries: 3, maxAgeMs: 60 * 60_000 } })
    const sent = countCommands(store.client)
    for (let i = 0; i < 5; i++) await set(store, `b${i}`, { i })
    for (let i = 0; i < 5; i++) await get(store, `b${i}`)
    t.equal(store.readCacheStats()?.entries, 3, 'at most maxEntries')
    await get(store, 'b4')
    t.equal(sent.get, 5, 'a recent one is served from the cache')
    await get(store, 'b0')
    t.equal(sent.get, 6, 'the least recently used was let go: read again')

    await set(store, 'exp', { absoluteExpiresAt: now + 10 * 60_000 })
    await get(store, 'exp')
    await get(store, 'exp')
    t.equal(sent.get, 7, 'kept while the session lives')
    now += 10 * 60_000
    await get(store, 'exp')
    t.equal(sent.get, 8, 'at the session\'s expiry the entry is gone')

    const short = await newStore(t, { now: () => now, readCache: { maxAgeMs: 1000 } })
    const sentShort = countCommands(short.client)
    await set(short, 'age', { absoluteExpiresAt: now + 10 * 60_000 })
    await get(short, 'age')
    now += 999
    await get(short, 'age')
    t.equal(sentShort.get, 1)
    now += 1
    await get(short, 'age')
    t.equal(sentShort.get, 2, 'and never older than maxAgeMs')
  })

  t.test('readCache: false reads every time, with no second connection', async (t) => {
    const store = await newStore(t, { readCache: false })
    const sent = countCommands(store.client)
    await set(store, 'off1', { a: 1 })
    for (let i = 0; i < 5; i++) await get(store, 'off1')
    t.equal(sent.get, 5)
    t.equal(store.readCacheStats(), undefined)
    t.equal(String(await store.client.call('CLIENT', 'GETREDIR')), '-1', 'tracking never turned on')
  })

  t.test('a lost connection drops the copies; none is served until tracking is back, then it works again', async (t) => {
    for (const which of ['subscriber', 'command'] as const) {
      await t.test(`the ${which} connection killed`, async (t) => {
        const store = await newStore(t)
        const sent = countCommands(store.client)
        const key = sessionKey(prefix, `lost-${which}`)
        await admin.set(key, JSON.stringify({ v: 1 }))
        await get(store, `lost-${which}`)
        await get(store, `lost-${which}`)
        t.equal(sent.get, 1, 'cached')
        const target = which === 'subscriber' ? await store.client.call('CLIENT', 'GETREDIR') : await store.client.call('CLIENT', 'ID')
        await admin.call('CLIENT', 'KILL', 'ID', String(target))
        // Written while this instance's tracking is broken: no invalidation can reach it.
        await admin.set(key, JSON.stringify({ v: 2 }))
        await until(t, 'the store has seen the loss', () => stateOf(store) !== 'on')
        t.equal(store.readCacheStats()?.entries, 0, 'every copy dropped')
        await until(t, 'the command connection is back', () => store.client.status === 'ready')
        const during = await get(store, `lost-${which}`)
        t.same(during?.v, 2, 'the value written meanwhile is read from Redis')

        await until(t, 'tracking is on again', () => stateOf(store) === 'on')
        await admin.set(key, JSON.stringify({ v: 3 }))
        t.same((await get(store, `lost-${which}`))?.v, 3, 'invalidations reach it through the new connections')
        // (the read just after a write may be overtaken by that write's own invalidation, and not kept)
        let servedFromCache = false
        for (let i = 0; i < 3 && !servedFromCache; i++) {
          const before = sent.get ?? 0
          t.same((await get(store, `lost-${which}`))?.v, 3)
          servedFromCache = sent.get === before
        }
        t.ok(servedFromCache, 'and it is served from the cache again')
        await admin.set(key, JSON.stringify({ v: 4 }))
        t.same((await get(store, `lost-${which}`))?.v, 4, 'until the next change')
      })
    }
  })

  t.test('Redis restarted: copies dropped, tracking set up again on the new server', async (t) => {
    const own = await startOwnRedis({ persist: true })
    t.teardown(() => own.close())
    const store = new RedisSessionStore({ url: own.url, prefix })
    t.teardown(() => store.close())
    await until(t, 'tracking is on', () => stateOf(store) === 'on')
    const other = new Redis(own.url)
    other.on('error', () => {})
    t.teardown(() => { other.disconnect() })
    await set(store, 'restart', { v: 1 })
    await get(store, 'restart')
    await own.stop()
    await until(t, 'the store has seen the loss', () => stateOf(store) === 'off')
    t.equal(store.readCacheStats()?.entries, 0)
    await own.start()
    await until(t, 'tracking is on again', () => stateOf(store) === 'on')
    t.same((await get(store, 'restart'))?.v, 1)
    await other.set(sessionKey(prefix, 'restart'), JSON.stringify({ v: 2 }))
    t.same((await get(store, 'restart'))?.v, 2, 'invalidations flow again')
  })

  const turn = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve) })
  /** A store with tracking on, on a Redis server of the test's own (CLIENT PAUSE holds no other test), and a client to pause it with. */
  const ownServerStore = async (t: Test, opts: Partial<RedisSessionStoreOptions> = {}) => {
    const own = await startOwnRedis()
    t.teardown(() => own.close())
    const store = new RedisSessionStore({ url: own.url, prefix, ...opts })
    t.teardown(() => store.close())
    await until(t, 'tracking is on', () => stateOf(store) === 'on')
    const admin = new Redis(own.url)
    t.teardown(() => { admin.disconnect() })
    return { store, admin }
  }

  t.test('one fence out at a time: lookups that come in while it is out wait for the next one, sent once it is back', async (t) => {
    const { store, admin } = await ownServerStore(t)
    await set(store, 'fenced', { v: 1 })
    await get(store, 'fenced')
    const sent = countCommands(store.client)
    // Redis holds every client's commands for a while: the first fence stays out.
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL')
    const first = get(store, 'fenced')
    await turn()
    await turn()
    t.equal(sent.ping, 1, 'the first lookup\'s fence is out')
    const later = [get(store, 'fenced'), get(store, 'fenced'), get(store, 'fenced')]
    await turn()
    await turn()
    t.equal(sent.ping, 1, 'lookups that came in meanwhile send no fence while it is out (it proves nothing for them)')
    const values = await Promise.all([first, ...later])
    t.same(values.map((v) => v?.v), [1, 1, 1, 1], 'every lookup is answered')
    t.equal(sent.ping, 2, 'those three shared one more fence, sent once the first was back')
    t.equal(sent.get, undefined, 'all from the local copy: no GET')
  })

  t.test('FLT-14 a fence Redis does not answer: the lookups waiting behind it fail with it, not a command timeout later', async (t) => {
    const { store, admin } = await ownServerStore(t, { commandTimeoutMs: 400 })
    await set(store, 'unanswered', { v: 1 })
    await get(store, 'unanswered')
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL')
    const started = Date.now()
    const settled = (p: Promise<unknown>) => p.then(() => ({ ok: true, ms: Date.now() - started }), () => ({ ok: false, ms: Date.now() - started }))
    const first = settled(get(store, 'unanswered'))
    await turn()
    await turn()
    const later = [settled(get(store, 'unanswered')), settled(get(store, 'unanswered'))]
    const outcomes = await Promise.all([first, ...later])
    t.same(outcomes.map((o) => o.ok), [false, false, false], 'every lookup fails (the store is not answering)')
    const slowest = Math.max(...outcomes.map((o) => o.ms))
    t.ok(slowest >= 350 && slowest < 750, `all at the first fence's command timeout of 400 ms, not at a second one (slowest ${slowest} ms)`)
    await until(t, 'Redis answers again', async () => (await get(store, 'unanswered').catch(() => undefined))?.v === 1)
  })

  t.test('a server that refuses tracking: every read goes to Redis, said once in the log', async (t) => {
    const own = await startOwnRedis({ persist: true, args: ['--rename-command', 'CLIENT', ''] })
    t.teardown(() => own.close())
    const lines: string[] = []
    const logger = { warn: (msg: string) => { lines.push(msg) }, info: (msg: string) => { lines.push(msg) } }
    const store = new RedisSessionStore({ url: own.url, prefix, logger })
    t.teardown(() => store.close())
    await until(t, 'the store has given up on tracking', () => stateOf(store) === 'unsupported')
    const sent = countCommands(store.client)
    await set(store, 'fallback-session-id', { user: { sub: 'u3' } })
    for (let i = 0; i < 5; i++) t.same(await get(store, 'fallback-session-id'), { user: { sub: 'u3' } })
    t.equal(sent.get, 5, 'a GET per read')

    await own.stop()
    await own.start()
    await until(t, 'reconnected', async () => await store.ping())
    await get(store, 'fallback-session-id')
    t.equal(sent.get, 6)
    const refused = lines.filter((l) => /refused client tracking/.test(l))
    t.equal(refused.length, 1, 'said once, not at every reconnect')
    t.match(refused[0], /every signed-in page view reads the session from Redis/)
    t.notMatch(lines.join('\n'), /fallback-session-id/, 'no session id in the log')
  })
}
