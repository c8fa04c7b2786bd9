/**
 * refreshAfterTimeouts (src/session/stores/redis-cluster.ts): which failed commands make a Cluster
 * client read its slot map again, and how often. The cluster itself is a recorder here; the real
 * cluster case (a master that hangs) is in test/sessions/redis-failover.test.ts.
 */
import type { Cluster } from 'ioredis'
import { mock } from 'node:test'
import t from 'tap'
import { refreshAfterTimeouts, TIMEOUT_REFRESH_GAP_MS } from '../../src/session/stores/redis-cluster.js'

/** A stand-in for the client that records each slot-map read and lets the test finish it. */
function recordingCluster (): { cluster: Cluster, reads: number, finish: () => void, status: string } {
  const pending: Array<(err?: Error) => void> = []
  const recorder = {
    reads: 0,
    status: 'ready',
    finish: () => { for (const done of pending.splice(0)) done() },
    cluster: undefined as unknown as Cluster,
  }
  recorder.cluster = {
    get status () { return recorder.status },
    refreshSlotsCache (callback?: (err?: Error) => void) {
      recorder.reads++
      if (callback) pending.push(callback)
    },
  } as unknown as Cluster
  return recorder
}

t.test('a timed-out command asks for one slot-map read; other errors ask for none', async (t) => {
  const r = recordingCluster()
  const failed = refreshAfterTimeouts(r.cluster)
  failed(new Error('Connection is closed.'))
  failed(new Error('CLUSTERDOWN The cluster is down'))
  failed('Command timed out')
  t.equal(r.reads, 0, 'a closed connection or CLUSTERDOWN (which the client handles itself) and a non-Error: none')
  failed(new Error('Command timed out'))
  t.equal(r.reads, 1, 'a timeout: one read')
})

t.test('many timeouts at once ask for one read; the next comes only after a gap', async (t) => {
  // The gap is a timer: moved here by Node's mock timers, not waited for.
  mock.timers.enable({ apis: ['setTimeout'] })
  t.teardown(() => { mock.timers.reset() })
  const gap = TIMEOUT_REFRESH_GAP_MS
  const r = recordingCluster()
  const failed = refreshAfterTimeouts(r.cluster)
  const timeout = (): void => { failed(new Error('Command timed out')) }
  for (let i = 0; i < 50; i++) timeout()
  t.equal(r.reads, 1, '50 timeouts while a read is under way: one read')
  mock.timers.tick(10_000)
  timeout()
  t.equal(r.reads, 1, 'none while that read is under way, however long (the client\'s own timeout ends it)')
  r.finish()
  mock.timers.tick(gap - 1)
  timeout()
  t.equal(r.reads, 1, `within ${gap} ms after it finished: none`)
  mock.timers.tick(1)
  timeout()
  t.equal(r.reads, 2, 'after that: a second read')
  for (let i = 0; i < 5; i++) {
    r.finish()
    mock.timers.tick(gap)
    for (let j = 0; j < 10; j++) timeout()
  }
  t.equal(r.reads, 7, `a long spell of timeouts: one read every ${gap} ms, no more`)
})

t.test('a client that is closing or closed is not asked', async (t) => {
  for (const status of ['disconnecting', 'close', 'end']) {
    const r = recordingCluster()
    r.status = status
    refreshAfterTimeouts(r.cluster)(new Error('Command timed out'))
    t.equal(r.reads, 0, status)
  }
})
