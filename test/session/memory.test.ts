import t, { type Test } from 'tap'
import type { Session } from 'fastify'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import { sleep } from '../helpers/clock.js'

type Data = Record<string, unknown> & { cookie: { originalMaxAge: number | null, expires?: Date | null } }

function sessionData (extra: Record<string, unknown> = {}, expires: Date | null = null): Session {
  const data: Data = { cookie: { originalMaxAge: null, expires }, ...extra }
  return data as unknown as Session
}

function set (store: MemorySessionStore, id: string, s: Session): Promise<void> {
  return new Promise((resolve, reject) => { store.set(id, s, (err) => { err ? reject(err) : resolve() }) })
}
function get (store: MemorySessionStore, id: string): Promise<Session | null | undefined> {
  return new Promise((resolve, reject) => { store.get(id, (err, s) => { err ? reject(err) : resolve(s) }) })
}
function destroy (store: MemorySessionStore, id: string): Promise<void> {
  return new Promise((resolve, reject) => { store.destroy(id, (err) => { err ? reject(err) : resolve() }) })
}

function newStore (t: Test, opts: ConstructorParameters<typeof MemorySessionStore>[0] = {}): MemorySessionStore {
  const store = new MemorySessionStore({ sweepIntervalMs: 0, ...opts })
  t.teardown(() => store.close())
  return store
}


t.test('set/get/destroy round trip returns equal data, as a frozen copy', async (t) => {
  const store = newStore(t)
  t.equal(store.kind, 'memory')
  const expires = new Date(Date.now() + 60_000)
  const original = sessionData({ user: { sub: 'abc', groups: ['a'] }, tokens: { access: 'x' } }, expires)
  await set(store, 'id1', original)
  const got = await get(store, 'id1') as unknown as Data
  t.same(got, { user: { sub: 'abc', groups: ['a'] }, tokens: { access: 'x' } }, 'the JSON form of what was saved, without the cookie')
  t.notOk('cookie' in (got as object), 'the cookie is not stored: its expiry is the entry\'s own')
  t.not(got, original, 'not the same object')

  ;(original as unknown as Data).user = 'mutated after set'
  const again = await get(store, 'id1') as unknown as Data
  t.same(again.user, { sub: 'abc', groups: ['a'] }, 'mutating the request session does not leak into the store')
  t.ok(Object.isFrozen(again) && Object.isFrozen(again.user) && Object.isFrozen((again.user as { groups: string[] }).groups), 'frozen all the way down')
  t.throws(() => { (again.user as { sub: string }).sub = 'mutated after get' }, TypeError, 'a read cannot change the stored session')
  t.throws(() => { (again.user as { groups: string[] }).groups.push('b') }, TypeError)
  t.same((await get(store, 'id1') as unknown as Data).user, { sub: 'abc', groups: ['a'] })

  await set(store, 'id1', sessionData({ user: { sub: 'abc', groups: ['a', 'b'] } }, expires))
  t.same((await get(store, 'id1') as unknown as Data).user, { sub: 'abc', groups: ['a', 'b'] }, 'a new save replaces it')
  t.same((again.user as { groups: string[] }).groups, ['a'], 'and leaves a copy read before as it was')

  await destroy(store, 'id1')
  t.equal(await get(store, 'id1'), null)
  t.equal(store.size, 0)
  t.equal(await get(store, 'never-set'), null)
})

t.test('expiry by injected clock: get returns null and the entry is gone', async (t) => {
  let now = 1_000_000
  const store = newStore(t, { now: () => now, defaultTtlMs: 10_000 })
  await set(store, 'cookie', sessionData({}, new Date(now + 5_000)))
  await set(store, 'absolute', sessionData({ absoluteExpiresAt: now + 2_000 }, new Date(now + 60_000)))
  await set(store, 'default', sessionData())
  now += 1_999
  t.ok(await get(store, 'absolute'))
  now += 1
  t.equal(await get(store, 'absolute'), null, 'absolute expiry wins over a later cookie expiry')
  t.equal(store.size, 2, 'expired entry deleted on get')
  now += 3_000
  t.equal(await get(store, 'cookie'), null)
  t.ok(await get(store, 'default'), 'default TTL still running')
  now += 5_000
  t.equal(await get(store, 'default'), null)
  t.equal(store.size, 0)

  await set(store, 'dead', sessionData({}, new Date(now - 1)))
  t.equal(store.size, 0, 'an already-expired session is not stored')
  await set(store, 'x', sessionData({}, new Date(now + 1000)))
  await set(store, 'x', sessionData({ absoluteExpiresAt: now }))
  t.equal(store.size, 0, 'saving an expired session removes the old entry')
})

t.test('LOAD-05 the sweep timer removes expired entries', async (t) => {
  let now = 0
  const store = newStore(t, { now: () => now, sweepIntervalMs: 20 })
  await set(store, 'short1', sessionData({}, new Date(now + 100)))
  await set(store, 'short2', sessionData({ absoluteExpiresAt: now + 100 }))
  await set(store, 'long', sessionData({}, new Date(now + 1_000_000)))
  t.equal(store.size, 3)
  now = 100
  const deadline = Date.now() + 2000
  while (store.size > 1 && Date.now() < deadline) await sleep(10)
  t.equal(store.size, 1, 'expired ones swept without any get')
  t.ok(await get(store, 'long'))
})

t.test('LOAD-05 LRU eviction order', async (t) => {
  const store = newStore(t, { maxSessions: 3 })
  await set(store, 'a', sessionData({ n: 'a' }))
  await set(store, 'b', sessionData({ n: 'b' }))
  await set(store, 'c', sessionData({ n: 'c' }))
  t.ok(await get(store, 'a'), 'touch a: order is now b, c, a')
  await set(store, 'd', sessionData({ n: 'd' }))
  t.equal(store.size, 3)
  t.equal(await get(store, 'b'), null, 'b was least recently used')
  await set(store, 'c', sessionData({ n: 'c2' })) // order: a, d, c
  await set(store, 'e', sessionData({ n: 'e' }))
  t.equal(await get(store, 'a'), null, 'a evicted next')
  t.same((await get(store, 'c') as unknown as Data).n, 'c2')
  t.ok(await get(store, 'd'))
  t.ok(await get(store, 'e'))
})

t.test('LOAD-05 bounded: never above maxSessions; holds exactly maxSessions when full', async (t) => {
  const small = newStore(t, { maxSessions: 1_000 })
  let max = 0
  for (let i = 0; i < 12_000; i++) {
    await set(small, `s${i}`, sessionData({ i }))
    if (small.size > max) max = small.size
  }
  t.equal(max, 1_000, 'size never exceeded maxSessions')
  t.equal(small.size, 1_000)
  t.equal(await get(small, 's10999'), null, 'older sessions evicted')
  t.ok(await get(small, 's11000'), 'the most recent 1 000 are kept')
  t.ok(await get(small, 's11999'))

  const full = newStore(t)
  for (let i = 0; i < 10_000; i++) await set(full, `s${i}`, sessionData({ i }))
  t.equal(full.size, 10_000, 'default maxSessions holds all 10 000')
  t.ok(await get(full, 's0'), 'nothing evicted')
  await set(full, 'one-more', sessionData())
  t.equal(full.size, 10_000)
  t.equal(await get(full, 's1'), null, 'the least recently used one (s1; s0 was just read) was evicted')
  t.ok(await get(full, 's0'))
})

t.test('tryLock exclusivity, unlock by owner only, TTL expiry', async (t) => {
  let now = 0
  const store = newStore(t, { now: () => now })
  const token = await store.tryLock('refresh:abc', 1_000)
  t.type(token, 'string')
  t.equal(await store.tryLock('refresh:abc', 1_000), null, 'held')
  t.type(await store.tryLock('refresh:other', 1_000), 'string', 'other keys independent')
  await store.unlock('refresh:abc', 'not-the-token')
  t.equal(await store.tryLock('refresh:abc', 1_000), null, 'a non-owner cannot unlock')
  await store.unlock('refresh:abc', token as string)
  const second = await store.tryLock('refresh:abc', 1_000)
  t.type(second, 'string', 'free again after unlock')
  t.not(second, token)
  now += 999
  t.equal(await store.tryLock('refresh:abc', 1_000), null)
  now += 1
  const third = await store.tryLock('refresh:abc', 1_000)
  t.type(third, 'string', 'expired lock can be taken')
  await store.unlock('refresh:abc', second as string)
  t.equal(await store.tryLock('refresh:abc', 1_000), null, 'the expired owner cannot release the new lock')
})

t.test('ping and close', async (t) => {
  const store = new MemorySessionStore({ sweepIntervalMs: 10 })
  t.equal(store.sweeping, true)
  t.equal(await store.ping(), true)
  await store.close()
  await store.close()
  t.equal(store.sweeping, false, 'timer cleared, idempotently')
  t.equal(await store.ping(), false)
})

t.test('close stops the timer: a process using the store can exit', async (t) => {
  const { spawnSync } = await import('node:child_process')
  const code = `
    import { MemorySessionStore } from ${JSON.stringify(new URL('../../src/session/stores/memory.ts', import.meta.url).href)}
    const s = new MemorySessionStore({ sweepIntervalMs: 5 })
    s.set('a', { cookie: { originalMaxAge: null } }, () => {})
    await s.close()
    console.log('closed')
  `
  const res = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], { timeout: 20_000, encoding: 'utf8' })
  t.equal(res.status, 0, res.stderr)
  t.match(res.stdout, /closed/)
  t.equal(res.signal, null, 'exited on its own, not killed by the timeout')
})

t.test('callbacks are always asynchronous, and see the store as it was when called', async (t) => {
  const store = newStore(t)
  const order: string[] = []
  await new Promise<void>((resolve) => {
    store.set('a', sessionData({ n: 1 }), (err) => { order.push(`set:${String(err)}`) })
    store.get('a', (err, s) => { order.push(`get:${String(err)}:${(s as unknown as Data | null)?.n}`) })
    store.get('missing', (_err, s) => { order.push(`missing:${String(s)}`) })
    store.destroy('a', (err) => { order.push(`destroy:${String(err)}`); resolve() })
    order.push('returned')
  })
  t.same(order, ['returned', 'set:undefined', 'get:null:1', 'missing:null', 'destroy:undefined'])
  t.equal(await get(store, 'a'), null, 'destroyed')
})

t.test('a person\'s other names: the newest owner wins, each expires on the clock, and the list is bounded', async (t) => {
  let now = 1_000_000
  const store = newStore(t, { maxSessions: 2, now: () => now })
  await store.setName('n1', 'owner-a', 1000)
  t.equal(await store.ownerOfName('n1'), 'owner-a')
  await store.setName('n1', 'owner-b', 1000)
  t.equal(await store.ownerOfName('n1'), 'owner-b', 'the newest owner of a name wins')
  t.equal(await store.ownerOfName('unknown'), undefined)
  now += 1000
  t.equal(await store.ownerOfName('n1'), undefined, 'gone once its time is up')
  await store.setName('n2', 'owner-a', 1000)
  await store.setName('n3', 'owner-a', 1000)
  await store.setName('n4', 'owner-a', 1000)
  t.equal(await store.ownerOfName('n2'), undefined, 'beyond maxSessions the earliest set is forgotten')
  t.equal(await store.ownerOfName('n4'), 'owner-a')
  now += 5000
  store.sweep()
  t.equal(await store.ownerOfName('n3'), undefined, 'swept')
})
