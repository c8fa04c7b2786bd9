/**
 * refreshAfterTimeouts (src/session/stores/redis-cluster.ts): which failed commands make a Cluster
 * client read its slot map again, and how often. The cluster itself is a recorder here; the real
 * cluster case (a master that hangs) is in test/sessions/redis-failover.test.ts.
 */
import type { Cluster } from 'ioredis'
import t from 'tap'
import { refreshAfterTimeouts } from '../../src/session/stores/redis-cluster.js'
import { sleep } from '../helpers/clock.js'

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
  const failed = refreshAfterTimeouts(r.cluster, 20)
  failed(new Error('Connection is closed.'))
  failed(new Error('CLUSTERDOWN The cluster is down'))
  failed('Command timed out')
  t.equal(r.reads, 0, 'a closed connection or CLUSTERDOWN (which the client handles itself) and a non-Error: none')
  failed(new Error('Command timed out'))
  t.equal(r.reads, 1, 'a timeout: one read')
})

t.test('many timeouts at once ask for one read; the next comes only after the gap that follows it', async (t) => {
  const r = recordingCluster()
  const failed = refreshAfterTimeouts(r.cluster, 40)
  for (let i = 0; i < 50; i++) failed(new Error('Command timed out'))
  t.equal(r.reads, 1, '50 timeouts while a read is under way: one read')
  r.finish()
  failed(new Error('Command timed out'))
  t.equal(r.reads, 1, 'right after it: still one (the gap)')
  await sleep(80)
  failed(new Error('Command timed out'))
  t.equal(r.reads, 2, 'after the gap: a second read')
})

t.test('a client that is closing or closed is not asked', async (t) => {
  for (const status of ['disconnecting', 'close', 'end']) {
    const r = recordingCluster()
    r.status = status
    refreshAfterTimeouts(r.cluster, 20)(new Error('Command timed out'))
    t.equal(r.reads, 0, status)
  }
})
