/**
 * The Redis store's local cache (./tracking-cache.ts) on a Redis Cluster. Redis tracks the keys a
 * connection reads on the node that answered, so tracking is kept per master:
 *
 * - every master the client's slot map names gets an InvalidationTracker of its own: tracking on for
 *   the client's connection to that node, redirected to a subscriber connection to the same node;
 * - the cache is on only while every master's tracker is (one connection lost anywhere, one master
 *   added or gone: everything is dropped until all are on again);
 * - each entry is tagged with the master of its key's slot when it was read, and served only while
 *   that node still owns the slot (a redirection or a failover moves the key: the next read goes to
 *   Redis); a change of the slot map drops everything;
 * - the fence before a hit goes to the key's master and asks it ROLE: a master demoted by a failover
 *   that still answers is not trusted (its successor takes the writes now).
 *
 * While a slot is being migrated (resharding), a key already moved is read from the importing node
 * (an ASK redirection the client follows by itself) and tagged with the exporting one; its
 * invalidations come from the importing node, which tracks it. The fence then waits for the
 * exporting node only, so a write acknowledged just before the request may be seen one page view
 * late during a migration; the end of the migration changes the slot map and drops everything.
 */
import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import { nodeKey, slotMasters } from './redis-cluster.js'
import { InvalidationTracker, type FenceDone, type ReadCache, type TrackingSink, type TrackingState } from './tracking-cache.js'
import type { StoreLogger } from './types.js'

const SLOTS = 16384
/** How many keys' slots are remembered (then forgotten all at once). */
const SLOT_MEMO_MAX = 10_000

/** Waits between attempts of a subscriber to reach its node again (the node's own connection is the client's). */
function subscriberRetry (attempt: number): number {
  return Math.min(100 * attempt, 2000)
}

/** One master's tracker, and what it said last. */
class NodeTracking implements TrackingSink {
  state: TrackingState = 'starting'
  readonly tracker: InvalidationTracker

  constructor (readonly node: Redis, readonly owner: ClusterTracking, logger: StoreLogger | undefined, where: string) {
    const subscriber = node.duplicate({
      protocol: 2,
      autoResubscribe: false,
      enableOfflineQueue: true,
      lazyConnect: false,
      readOnly: false,
      retryStrategy: subscriberRetry
    })
    this.tracker = new InvalidationTracker(this, node, { logger, where, subscriber, fenceCommand: 'role' })
  }

  /** The client opens its node connections on first use; tracking needs this one open. */
  open (): void {
    if (this.node.status === 'wait') this.node.connect().catch(() => {})
  }

  enable (): void {
    this.state = 'on'
    this.owner.changed()
  }

  disable (state: Exclude<TrackingState, 'on'> = 'off'): void {
    this.state = state
    this.owner.changed(state === 'unsupported')
  }

  flush (): void {
    this.owner.cache.flush()
  }

  invalidate (key: string): void {
    this.owner.cache.invalidate(key)
  }
}

export interface ClusterTrackingOptions {
  /** Told once when a node refuses tracking (never a key or a value). */
  logger?: StoreLogger
  /** Where the cluster is, for that line (no credentials). */
  where?: string
}

/** Keeps `cache` true on `cluster`: a tracker per master, entries tagged with their master, a fence per key's master. */
export class ClusterTracking {
  readonly cache: ReadCache<unknown>
  readonly #cluster: Cluster
  readonly #logger: StoreLogger | undefined
  readonly #where: string
  readonly #nodes = new Map<string, NodeTracking>()
  /** The slot map as last seen (ranges and their masters). */
  #topology = ''
  #closed = false
  #unsupported = false
  /** Recent keys' slots: a page view asks twice, and its session's key is the same at each page view. */
  readonly #slots = new Map<string, number>()
  readonly #reconcile = (): void => { this.#update() }

  constructor (cache: ReadCache<unknown>, cluster: Cluster, options: ClusterTrackingOptions = {}) {
    this.cache = cache
    this.#cluster = cluster
    this.#logger = options.logger
    this.#where = options.where ?? 'redis cluster'
    cache.useSource((key) => this.ownerOf(key))
    cache.useFence((done, key) => { this.#fence(done, key) })
    for (const event of ['ready', 'refresh', '+node', '-node']) cluster.on(event, this.#reconcile)
    this.#update()
  }

  /** The master of `key`'s slot, as the client's slot map has it ("host:port"). */
  ownerOf (key: string): string | undefined {
    let slot = this.#slots.get(key)
    if (slot === undefined) {
      if (this.#slots.size >= SLOT_MEMO_MAX) this.#slots.clear()
      slot = calculateSlot(key)
      this.#slots.set(key, slot)
    }
    return this.#cluster.slots[slot]?.[0]
  }

  /** A tracker's state changed: the cache is on while every master's tracker is, off otherwise. */
  changed (unsupported = false): void {
    if (this.#closed || this.#unsupported) return
    if (unsupported) {
      // One node refused (its tracker said so in the log): the cache stays off for good.
      this.#unsupported = true
      this.cache.disable('unsupported')
      this.#closeAll()
      return
    }
    const masters = slotMasters(this.#cluster)
    const allOn = masters !== undefined && masters.length > 0 && masters.every((node) => this.#nodes.get(nodeKey(node))?.state === 'on')
    if (allOn) {
      if (this.cache.state !== 'on') this.cache.enable()
    } else if (this.cache.state === 'on' || this.cache.state === 'starting') {
      this.cache.disable('off')
    }
  }

  /** After the client changed its slot map or its connections: a tracker per master, no other; a new map drops everything. */
  #update (): void {
    if (this.#closed || this.#unsupported) return
    const topology = this.#describeSlots()
    if (topology !== this.#topology) {
      this.#topology = topology
      this.cache.flush()
    }
    const masters = slotMasters(this.#cluster)
    if (masters === undefined) {
      // The map names a master the client has no usable connection to (yet): off until it has, trackers kept.
      this.changed()
      return
    }
    const current = new Map(masters.map((node) => [nodeKey(node), node]))
    for (const [key, tracking] of this.#nodes) {
      if (current.get(key) !== tracking.node) {
        this.#nodes.delete(key)
        void tracking.tracker.close()
      }
    }
    for (const [key, node] of current) {
      if (!this.#nodes.has(key)) this.#nodes.set(key, new NodeTracking(node, this, this.#logger, `${this.#where} (node ${key})`))
    }
    // Not while the client is still connecting: its ready check fails if a node connection opens meanwhile.
    if (this.#cluster.status === 'ready') for (const tracking of this.#nodes.values()) tracking.open()
    this.changed()
  }

  /** The slot map in short: each run of slots and its master. */
  #describeSlots (): string {
    let text = ''
    let previous: string | undefined = ''
    for (let slot = 0; slot < SLOTS; slot++) {
      const owner = this.#cluster.slots[slot]?.[0]
      if (owner !== previous) {
        text += `${slot}:${owner ?? '-'} `
        previous = owner
      }
    }
    return text
  }

  #fence (done: FenceDone, key: string): void {
    const owner = this.ownerOf(key)
    const tracking = owner === undefined ? undefined : this.#nodes.get(owner)
    if (tracking === undefined) {
      setImmediate(done, false)
      return
    }
    tracking.tracker.fence(done)
  }

  #closeAll (): void {
    for (const tracking of this.#nodes.values()) void tracking.tracker.close()
    this.#nodes.clear()
  }

  /** Stops: the cache is emptied and off, every subscriber closed. Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const event of ['ready', 'refresh', '+node', '-node']) this.#cluster.off(event, this.#reconcile)
    if (this.cache.state !== 'unsupported') this.cache.disable('closed')
    const trackers = [...this.#nodes.values()].map((tracking) => tracking.tracker)
    this.#nodes.clear()
    await Promise.all(trackers.map(async (tracker) => { await tracker.close() }))
  }
}
