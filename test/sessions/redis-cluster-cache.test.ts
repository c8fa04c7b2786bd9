/**
 * The Redis store's local cache on a Redis Cluster (src/session/stores/cluster-read-cache.ts), on a
 * cluster of the machine's own redis-server: what it saves (GETs, counted on the store's client), and
 * that it never serves what the cluster no longer holds: writes and deletes from another instance on
 * every master, a lost connection to one master, a failover that moves a master's slots to its replica
 * while the old master still answers, and nodes that refuse tracking.
 */
import t, { type Test } from 'tap'
import { Cluster, Redis } from 'ioredis'
import { RedisSessionStore, sessionKey, type RedisSessionStoreOptions } from '../../src/session/stores/redis.js'
import { sleep, until as untilWithin } from '../helpers/clock.js'
import { onNode, requireRedisServer, startRedisCluster, type OwnRedisCluster } from '../helpers/redis-cluster.js'
import { uniquePrefix } from '../helpers/redis.js'
import { countCommands, destroy, get, set } from '../helpers/store-calls.js'


/** As `until` (../helpers/clock.ts), waiting up to 10 s by default: a cluster client may take a few slot-map reads to follow a change. */
const until = async (t: Test, what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> => await untilWithin(t, what, check, ms)

const stateOf = (store: RedisSessionStore): string | undefined => store.readCacheStats()?.state

if (await requireRedisServer(t)) {
  const cluster = await startRedisCluster(t)
  const prefix = uniquePrefix('cluster-cache')
  const admin = new Cluster([{ host: '127.0.0.1', port: cluster.nodes[0]?.port as number }])
  t.teardown(async () => {
    await cluster.deleteKeys(prefix)
    await admin.quit()
  })

  const newStore = async (t: Test, opts: Partial<RedisSessionStoreOptions> = {}): Promise<RedisSessionStore> => {
    const store = new RedisSessionStore({ url: cluster.url, cluster: true, prefix, ...opts })
    t.teardown(() => store.close())
    await until(t, 'the store serves every slot', async () => await store.ping())
    if (opts.readCache !== false) await until(t, 'tracking is on for every master', () => stateOf(store) === 'on')
    return store
  }

  /** Session ids whose keys fall on each of the three masters (at least `perMaster` each). */
  async function idsOnEveryMaster (c: OwnRedisCluster, name: string, perMaster: number): Promise<Map<number, string[]>> {
    const byMaster = new Map<number, string[]>()
    for (let i = 0; [...byMaster.values()].filter((ids) => ids.length >= perMaster).length < 3; i++) {
      const id = `${name}${i}`
      const port = await c.masterOf(sessionKey(prefix, id))
      const ids = byMaster.get(port) ?? []
      if (ids.length < perMaster) ids.push(id)
      byMaster.set(port, ids)
    }
    return byMaster
  }

  t.test('on every master: a session read once is served from the cache; a write or a delete on another instance is seen at the next read', async (t) => {
    const a = await newStore(t)
    const b = await newStore(t)
    const sentByA = countCommands(a.client)
    const ids = [...(await idsOnEveryMaster(cluster, 'every', 3)).values()].flat()
    t.equal(ids.length, 9, 'three sessions on each of the three masters')
    for (const id of ids) {
      await set(a, id, { user: { sub: 'u1' }, tokens: 'old' })
      t.same((await get(a, id))?.tokens, 'old')
      t.same((await get(a, id))?.tokens, 'old', 'served from A\'s cache')
      t.same((await get(a, id))?.tokens, 'old')
      await set(b, id, { user: { sub: 'u1' }, tokens: 'refreshed' })
      t.same((await get(a, id))?.tokens, 'refreshed', 'B\'s refresh is used by A at its next read')
      t.same((await get(a, id))?.tokens, 'refreshed')
      await destroy(b, id)
      t.equal(await get(a, id), null, 'B\'s sign-out is refused by A at its next read')
    }
    t.equal(sentByA.get, 3 * ids.length, 'A sent a GET only after each change (3 of its 6 reads per session)')
    t.match(a.readCacheStats(), { state: 'on' })
  })

  t.test('a lost connection to one master drops every copy; none is served until tracking is back; then it works again', async (t) => {
    for (const which of ['subscriber', 'command'] as const) {
      await t.test(`the ${which} connection killed`, async (t) => {
        const store = await newStore(t)
        const sent = countCommands(store.client)
        const id = `lost-${which}`
        const key = sessionKey(prefix, id)
        const port = await cluster.masterOf(key)
        await admin.set(key, JSON.stringify({ v: 1 }))
        await get(store, id)
        await get(store, id)
        t.equal(sent.get, 1, 'cached')
        // The store's connections to that master: the subscriber is the one subscribed; the command connection is redirected to it.
        const clients = String(await onNode(port, 'CLIENT', 'LIST', 'TYPE', which === 'subscriber' ? 'pubsub' : 'normal'))
        const target = which === 'subscriber'
          ? /id=(\d+) .*sub=1/.exec(clients)?.[1]
          : clients.split('\n').find((line) => /flags=\S*t/.test(line))?.match(/id=(\d+)/)?.[1]
        t.ok(target, `found the store's ${which} connection on the master`)
        await onNode(port, 'CLIENT', 'KILL', 'ID', String(target))
        // Written while this instance's tracking on that master is broken: no invalidation can reach it.
        await admin.set(key, JSON.stringify({ v: 2 }))
        await until(t, 'the store has seen the loss', () => stateOf(store) !== 'on')
        t.equal(store.readCacheStats()?.entries, 0, 'every copy dropped')
        let during: unknown
        await until(t, 'the key\'s master answers again', async () => {
          during = await get(store, id).then((s) => s?.v, () => undefined)
          return during !== undefined
        })
        t.equal(during, 2, 'the value written meanwhile is read from Redis')

        await until(t, 'tracking is on again', () => stateOf(store) === 'on')
        await admin.set(key, JSON.stringify({ v: 3 }))
        t.same((await get(store, id))?.v, 3, 'invalidations reach it through the new connections')
        let servedFromCache = false
        for (let i = 0; i < 3 && !servedFromCache; i++) {
          const before = sent.get ?? 0
          t.same((await get(store, id))?.v, 3)
          servedFromCache = sent.get === before
        }
        t.ok(servedFromCache, 'and it is served from the cache again')
        await admin.set(key, JSON.stringify({ v: 4 }))
        t.same((await get(store, id))?.v, 4, 'until the next change')
      })
    }
  })

  t.test('a failover while the old master still answers (CLUSTER FAILOVER): a write through the new master is seen at the next read, never the old copy', async (t) => {
    const a = await newStore(t)
    const b = await newStore(t)
    const id = 'moved'
    const key = sessionKey(prefix, id)
    await set(b, id, { v: 'before' })
    t.same((await get(a, id))?.v, 'before')
    const sent = countCommands(a.client)
    t.same((await get(a, id))?.v, 'before')
    t.equal(sent.get ?? 0, 0, 'cached on A, read from the slot\'s master')

    const oldMaster = await cluster.masterOf(key)
    const replicas = await Promise.all(cluster.nodes.map(async (node) => ({ port: node.port, info: String(await onNode(node.port, 'INFO', 'replication')) })))
    const successor = replicas.find((node) => node.info.includes('role:slave') && node.info.includes(`master_port:${oldMaster}`))?.port
    t.ok(successor, 'the master has a replica')
    t.equal(await onNode(successor as number, 'CLUSTER', 'FAILOVER'), 'OK', 'the replica takes over (the old master stays up)')
    await until(t, 'the replica is the master', async () => await cluster.masterOf(key) === successor)
    t.match(String(await onNode(oldMaster, 'ROLE')), /slave/, 'the old master answers, as a replica now')
    // Cut the old master off from the new one's writes (its replication link cannot authenticate
    // any more), as a slow link would for a while: only the new master knows of the next write.
    await onNode(oldMaster, 'CONFIG', 'SET', 'masteruser', 'cut-off')
    await onNode(oldMaster, 'CONFIG', 'SET', 'masterauth', 'cut-off')
    await onNode(oldMaster, 'CLIENT', 'KILL', 'TYPE', 'master')
    t.teardown(async () => {
      await onNode(oldMaster, 'CONFIG', 'SET', 'masteruser', '')
      await onNode(oldMaster, 'CONFIG', 'SET', 'masterauth', '')
    })

    // Written through the new master by another instance, while A's copy came from the old one.
    await set(b, id, { v: 'after' })
    await sleep(50)
    const onOld = new Redis({ host: '127.0.0.1', port: oldMaster, maxRetriesPerRequest: 0 })
    t.teardown(() => { onOld.disconnect() })
    await onOld.call('READONLY')
    t.match(await onOld.get(key), /"before"/, 'the old master still holds the old value')
    t.same((await get(a, id))?.v, 'after', 'A reads the write at its next read')
    t.same((await get(a, id))?.v, 'after')
    await destroy(b, id)
    t.equal(await get(a, id), null, 'and a sign-out')

    // Once A has read the new slot map (its reads met the old master's MOVED) and tracks the new master.
    await set(b, id, { v: 'again' })
    let wrong = 0
    t.ok(await until(t, 'A serves the session from its cache again', async () => {
      const before = sent.get ?? 0
      if ((await get(a, id))?.v !== 'again') wrong++
      return sent.get === before
    }, 15_000), 'served from the cache again, now tracked on the new master')
    t.equal(wrong, 0, 'and always the value in the cluster meanwhile')
    t.equal(stateOf(a), 'on')
    await set(b, id, { v: 'last' })
    t.same((await get(a, id))?.v, 'last', 'and kept right by it')
  })

  t.test('nodes that refuse tracking: every read goes to the cluster, said once in the log', async (t) => {
    const own = await startRedisCluster(t)
    for (const node of own.nodes) await onNode(node.port, 'ACL', 'SETUSER', 'default', '-client')
    const lines: string[] = []
    const logger = { warn: (msg: string) => { lines.push(msg) }, info: (msg: string) => { lines.push(msg) } }
    const store = new RedisSessionStore({ url: own.url, cluster: true, prefix, logger })
    t.teardown(() => store.close())
    await until(t, 'the store has given up on tracking', () => stateOf(store) === 'unsupported')
    await until(t, 'the store serves every slot', async () => await store.ping())
    const sent = countCommands(store.client)
    await set(store, 'fallback-session-id', { user: { sub: 'u3' } })
    for (let i = 0; i < 5; i++) t.same(await get(store, 'fallback-session-id'), { user: { sub: 'u3' } })
    t.equal(sent.get, 5, 'a GET per read')
    const refused = lines.filter((l) => /refused client tracking/.test(l))
    t.equal(refused.length, 1, 'said once, not once per node')
    t.match(refused[0], /every signed-in page view reads the session from Redis/)
    t.notMatch(lines.join('\n'), /fallback-session-id/, 'no session id in the log')
  })

  t.test('readCache: false on a cluster: a GET per read, tracking never turned on', async (t) => {
    const store = await newStore(t, { readCache: false })
    const sent = countCommands(store.client)
    await set(store, 'off1', { a: 1 })
    for (let i = 0; i < 4; i++) await get(store, 'off1')
    t.equal(sent.get, 4)
    t.equal(store.readCacheStats(), undefined)
    const port = await cluster.masterOf(sessionKey(prefix, 'off1'))
    t.notMatch(String(await onNode(port, 'CLIENT', 'LIST', 'TYPE', 'pubsub')), /sub=1/, 'no subscriber connection')
  })
}
