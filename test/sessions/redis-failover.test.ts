/**
 * Failover under load, with two app instances: a Redis Cluster master killed (its replica takes over)
 * and a single Redis restarted with its data kept. Page views never get a 500 and never lose a
 * session; while the store cannot answer they get the 503 page; they come back by themselves. The
 * figures are printed (as comments) and kept in docs/performance.md; these tests assert the outcomes only.
 * And a cluster master that hangs without closing its connections: the store follows its replica's
 * promotion by itself. That test asserts two coarse bounds, because they are what it proves: each
 * refusal within a few command timeouts, and the session served again within 15 s, a quarter of the
 * client's periodic read of the slot map (about 5 s here; never, within 25 s, without the read after
 * a timeout).
 */
import { Cluster } from 'ioredis'
import t, { type Test } from 'tap'
import { SLOTS_REFRESH_INTERVAL_MS } from '../../src/session/stores/redis-cluster.js'
import { RedisSessionStore, sessionKey } from '../../src/session/stores/redis.js'
import { SessionStoreUnavailableError } from '../../src/session/stores/types.js'
import { sleep, until } from '../helpers/clock.js'
import { describeLoad, loadUsers, pageViewsThrough, signInAll, type LoadReport, type Person } from '../helpers/failover.js'
import { requireRedisServer, startRedisCluster } from '../helpers/redis-cluster.js'
import { startOwnRedis, uniquePrefix } from '../helpers/redis.js'
import { get, set } from '../helpers/store-calls.js'
import { sessionIdOf, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'

/** Polls /readyz until it answers `status` (true) or `withinMs` has passed (false). */
async function readyzBecomes (stack: Stack, status: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs
  do {
    const answer = await fetch(`${stack.baseUrl.replace('localhost', '127.0.0.1')}/readyz`)
    await answer.arrayBuffer()
    if (answer.status === status) return true
    await sleep(25)
  } while (Date.now() < deadline)
  return false
}

/** What every failover test asserts of the load: no 500, no lost session, everyone served again. */
function assertOutcome (t: Test, report: LoadReport): void {
  t.comment(describeLoad(report))
  t.same(report.wrong.map((v) => `${v.person}: ${v.status}`), [], 'every answer was the person\'s signed-in page or the 503 page: no 500, no sign-in redirect, no failed request')
  t.ok(report.recovered, 'everyone\'s page views came back by themselves')
  t.ok(report.views.filter((v) => v.sentAt > report.faultDoneAt).length > 0, 'page views went on after the fault')
}

/** Each person, on each instance: still signed in as themselves. */
async function everyoneSignedIn (t: Test, stacks: Stack[], people: Person[]): Promise<void> {
  for (const stack of stacks) {
    const pages = await Promise.all(people.map(async (person) => {
      const answer = await person.browser.get(`${stack.baseUrl}/logged-in`)
      return answer.status === 200 && (await answer.text()).includes(`data-field="username">${person.username}<`)
    }))
    t.equal(pages.filter(Boolean).length, people.length, `all ${people.length} people still signed in on ${stack === stacks[0] ? 'A' : 'B'}: no session lost`)
  }
}

if (await requireRedisServer(t)) {
  t.test('FLT-12 a cluster master killed under load on two instances: its replica takes over, 503 meanwhile, no 500, no session lost', async (t) => {
    // A node timeout of 2 s (production default 15 s) to keep the test short: see docs/performance.md.
    const cluster = await startRedisCluster(t, { nodeTimeoutMs: 2000 })
    const prefix = uniquePrefix('cluster-failover')
    const users = loadUsers(12)
    const { cognito, clock } = await startSharedCognito(t, { users })
    const env = { SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: cluster.url, REDIS_KEY_PREFIX: prefix }
    const a = await startStack(t, { sharedCognito: cognito, clock, env })
    const b = await startStack(t, { sharedCognito: cognito, clock, env, appBaseUrl: a.config.web.baseUrl })
    const stacks = [a, b]
    const people = await signInAll(stacks, users)
    const keys = people.map((p) => sessionKey(prefix, sessionIdOf(p.browser) as string))
    const victim = await cluster.masterOf(keys[0] as string)
    const onVictim = (await Promise.all(keys.map(async (key) => await cluster.masterOf(key)))).filter((port) => port === victim).length
    t.ok(onVictim >= 1, `${onVictim} of ${people.length} people have their sessions on the master that will be killed (port ${victim})`)

    // Every session written so far has reached the victim's replica: replication is asynchronous, and
    // what a master acknowledged but had not sent yet is lost with it (the replica, a fresh one here,
    // confirms what it received once a second).
    await cluster.waitReplicated(victim)
    let readinessDropped = false
    const report = await pageViewsThrough(stacks, people, async () => {
      await cluster.kill(victim)
      readinessDropped = await readyzBecomes(a, 503, 1500)
    })
    assertOutcome(t, report)
    t.ok(readinessDropped, '/readyz answered 503 while a master was gone')
    t.not(await cluster.masterOf(keys[0] as string), victim, 'the replica is the master now')
    t.ok(await readyzBecomes(a, 200, 10_000) && await readyzBecomes(b, 200, 10_000), '/readyz is ready again on both instances')

    const admin = new Cluster(cluster.nodes.filter((node) => node.port !== victim).map((node) => ({ host: '127.0.0.1', port: node.port })))
    t.teardown(() => admin.quit())
    t.equal((await Promise.all(keys.map(async (key) => await admin.exists(key)))).filter((n) => n === 1).length, keys.length, 'every session record is still in the cluster')
    await everyoneSignedIn(t, stacks, people)
    await cluster.deleteKeys(prefix)
  })

  t.test('FLT-12 a single Redis restarted under load with its data kept: 503 meanwhile, no 500, no session lost', async (t) => {
    const own = await startOwnRedis({ persist: true })
    t.teardown(() => own.close())
    const prefix = uniquePrefix('restart')
    const users = loadUsers(8)
    const { cognito, clock } = await startSharedCognito(t, { users })
    const env = { SESSION_STORE: 'redis', REDIS_URL: own.url, REDIS_KEY_PREFIX: prefix }
    const a = await startStack(t, { sharedCognito: cognito, clock, env })
    const b = await startStack(t, { sharedCognito: cognito, clock, env, appBaseUrl: a.config.web.baseUrl })
    const stacks = [a, b]
    const people = await signInAll(stacks, users)

    let readinessDropped = false
    const report = await pageViewsThrough(stacks, people, async () => {
      await own.stop()
      readinessDropped = await readyzBecomes(a, 503, 1500)
      await own.start()
    })
    assertOutcome(t, report)
    t.ok(report.refused > 0, 'page views were refused (503) while Redis was down')
    t.ok(readinessDropped, '/readyz answered 503 while Redis was down')
    t.ok(await readyzBecomes(a, 200, 10_000) && await readyzBecomes(b, 200, 10_000), '/readyz is ready again on both instances')
    await everyoneSignedIn(t, stacks, people)
  })

  t.test('FLT-14 a cluster master that hangs (connections open, nothing answered): reads fail within the command timeout, and come back once its replica is promoted, long before the periodic slot-map read', async (t) => {
    const cluster = await startRedisCluster(t, { nodeTimeoutMs: 2000 })
    const prefix = uniquePrefix('cluster-hang')
    const commandTimeoutMs = 300
    const store = new RedisSessionStore({ url: cluster.url, cluster: true, prefix, commandTimeoutMs })
    t.teardown(() => store.close())
    await until(t, 'the store serves every slot', async () => await store.ping(), 10_000)
    await until(t, 'tracking is on for every master', () => store.readCacheStats()?.state === 'on', 10_000)
    const id = 'hangs'
    await set(store, id, { v: 'kept' })
    const victim = await cluster.masterOf(sessionKey(prefix, id))
    await cluster.waitReplicated(victim)
    t.same((await get(store, id))?.v, 'kept', 'read before the fault')

    cluster.freeze(victim)
    const frozenAt = Date.now()
    const failures: number[] = []
    const wrong: string[] = []
    let backAfter: number | undefined
    while (backAfter === undefined && Date.now() - frozenAt < 25_000) {
      const started = Date.now()
      try {
        const v = (await get(store, id))?.v
        if (v === 'kept' && failures.length > 0) backAfter = Date.now() - frozenAt
        else if (v !== 'kept') wrong.push(String(v))
      } catch (err) {
        if (err instanceof SessionStoreUnavailableError) failures.push(Date.now() - started)
        else wrong.push(String(err))
      }
      await sleep(50)
    }
    const slowest = Math.max(...failures)
    t.comment(`a master frozen: ${failures.length} reads refused, the slowest after ${slowest} ms; served again ${backAfter === undefined ? 'never' : `${backAfter} ms after the freeze`} (node timeout ${cluster.nodeTimeoutMs} ms, periodic slot-map read every ${SLOTS_REFRESH_INTERVAL_MS} ms)`)
    t.same(wrong, [], 'every read was the session or a refusal (SessionStoreUnavailableError): never another value, never another error')
    t.ok(failures.length > 0, 'reads were refused while the master hung')
    t.ok(slowest < commandTimeoutMs * 4, `each refusal came within a few command timeouts (${slowest} ms; ${commandTimeoutMs} ms each)`)
    t.ok(backAfter !== undefined && backAfter < 15_000, `the session was served again, by the promoted replica (${backAfter === undefined ? 'not within 25 s' : `${backAfter} ms after the freeze`})`)
    t.not(await cluster.masterOf(sessionKey(prefix, id)), victim, 'the replica is the master now')
    t.ok(await store.ping(), 'and the store is ready again (/readyz)')
  })
}
