/**
 * A local copy of the sessions this instance read from Redis, kept right by Redis itself: server-assisted
 * client-side caching (`CLIENT TRACKING`).
 *
 * The command connection runs `CLIENT TRACKING ON REDIRECT <id>`: Redis remembers every key it reads,
 * and the moment one of them is written, deleted or expires it publishes the key's name on
 * `__redis__:invalidate` to a second connection of ours (`<id>`, subscribed to that channel, RESP2: on
 * RESP3 the server sends `invalidate` pushes instead, which ioredis drops). Redis queues that message
 * before it answers the command that changed the key, so by the time anyone has seen a sign-out,
 * refresh or session write succeed, the invalidation is on its way to every instance, and a request
 * caused by that answer finds it there (hits are answered on a later turn of the event loop, after
 * whatever I/O arrived with the request; see `lookup`).
 *
 * What makes an entry trustworthy, and what drops it:
 * - only values read while tracking is known to be on for both connections are kept (`epoch`: bumped
 *   whenever it goes on or off); a lost connection, either one, drops every entry at once and no
 *   entry is kept or served until tracking is on again after the reconnect;
 * - a read that an invalidation of its key overtakes is not kept (`begin` / `settle`: keys in flight);
 * - a `null` or empty message (FLUSHALL, FLUSHDB, the server dropping its table) drops everything;
 * - an entry never outlives the session's own expiry, nor `maxAgeMs` (which bounds the damage of a
 *   connection that dies without either side noticing); the cache holds at most `maxEntries`, the
 *   least recently used leave first.
 * - where the server refuses tracking (an older Redis, or a managed service without CLIENT or with an
 *   ACL that forbids it: the command errors), the store reads every time and says so once.
 *
 * Two parts: `ReadCache` (entries, keys in flight, bounds; no Redis) and `InvalidationTracker` (one
 * pair of connections to one server, turning the cache on and off and feeding it invalidations).
 * Redis Cluster tracks per node: ./cluster-read-cache.ts gives the cache one tracker per master and
 * tags each entry with the master that answered it.
 */
import type { Redis } from 'ioredis'
import type { StoreLogger } from './types.js'

/** The channel Redis publishes tracked keys' invalidations on (RESP2 redirection). */
export const INVALIDATE_CHANNEL = '__redis__:invalidate'

export interface ReadCacheOptions {
  /** How many entries at most; the least recently used leave first. Default 10 000. */
  maxEntries?: number
  /** The longest an entry is kept, whatever the session's own expiry. Default 60 000 ms. */
  maxAgeMs?: number
}

/** Where tracking stands: only `on` lets entries be kept and served. */
export type TrackingState = 'starting' | 'on' | 'off' | 'unsupported' | 'closed'

export interface ReadCacheStats {
  state: TrackingState
  entries: number
  hits: number
  misses: number
  invalidations: number
  flushes: number
}

/** A fence's outcome: `ok`, or not (read Redis instead), or the command connection's error (Redis is not answering). */
export type FenceDone = (ok: boolean, error?: unknown) => void

/** Makes sure every invalidation for `key` that Redis sent before now has been applied, then calls `done`. */
export type Fence = (done: FenceDone, key: string) => void

/**
 * Which server a key is read from, as far as the client knows (a Redis Cluster master's "host:port");
 * undefined when it does not know (no value is kept or served then). One server: always ''.
 */
export type SourceOf = (key: string) => string | undefined

/** What a tracker drives: the cache itself, or (Redis Cluster) one master's share of it. */
export interface TrackingSink {
  readonly state: TrackingState
  /** Tracking is on: values read from now on may be kept. */
  enable: () => void
  /** Invalidations may be missed from now on. */
  disable: (state?: Exclude<TrackingState, 'on'>) => void
  /** Every key may have changed (FLUSHALL, the server dropping its table). */
  flush: () => void
  /** The key changed. */
  invalidate: (key: string) => void
}

/** A read in progress: kept only if nothing invalidated its key, or the whole cache, meanwhile. */
export interface Flight {
  readonly key: string
  readonly generation: number
  readonly epoch: number
  /** The server it was sent to (SourceOf). */
  readonly source: string
}

interface Entry<V> {
  value: V
  expiresAt: number
  /** The server it was read from: served only while the key still belongs to that server. */
  source: string
}

/** Reads of one key in progress, and how many times the key was invalidated while any was. */
interface InFlight {
  count: number
  generation: number
}

/**
 * The entries themselves. Knows nothing of Redis: a tracker turns it on (`enable`) once invalidations
 * are sure to arrive, and off (`disable`) the moment they may not.
 */
export class ReadCache<V> implements TrackingSink {
  readonly maxEntries: number
  readonly maxAgeMs: number
  /** Insertion order = recency order (least recently used first). */
  readonly #entries = new Map<string, Entry<V>>()
  readonly #inFlight = new Map<string, InFlight>()
  #epoch = 0
  #state: TrackingState = 'starting'
  #hits = 0
  #misses = 0
  #invalidations = 0
  #flushes = 0

  constructor (options: ReadCacheOptions = {}) {
    const { maxEntries = 10_000, maxAgeMs = 60_000 } = options
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer')
    if (!(maxAgeMs > 0)) throw new RangeError('maxAgeMs must be positive')
    this.maxEntries = maxEntries
    this.maxAgeMs = maxAgeMs
  }

  get state (): TrackingState {
    return this.#state
  }

  get size (): number {
    return this.#entries.size
  }

  stats (): ReadCacheStats {
    return { state: this.#state, entries: this.#entries.size, hits: this.#hits, misses: this.#misses, invalidations: this.#invalidations, flushes: this.#flushes }
  }

  /** Tracking is on for every connection involved: values read from now on may be kept. */
  enable (): void {
    this.flush()
    this.#state = 'on'
  }

  /** Invalidations may be missed from now on: everything is dropped, and nothing kept until `enable`. */
  disable (state: Exclude<TrackingState, 'on'> = 'off'): void {
    this.flush()
    this.#state = state
  }

  /** Drops every entry and makes every read in flight not to be kept. */
  flush (): void {
    this.#epoch++
    if (this.#entries.size > 0) this.#flushes++
    this.#entries.clear()
  }

  /** The key changed in Redis: its entry goes, and reads of it in flight are not to be kept. */
  invalidate (key: string): void {
    this.#invalidations++
    this.#entries.delete(key)
    const flight = this.#inFlight.get(key)
    if (flight !== undefined) flight.generation++
  }

  /** The entry for `key`, if there is a live one read from the server the key belongs to; refreshes its recency. */
  get (key: string, now: number): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.expiresAt <= now || this.#state !== 'on' || entry.source !== this.#sourceOf(key)) return undefined
    this.#entries.set(key, entry)
    return entry.value
  }

  /** Whether there is an entry for `key` (live or not: `lookup` decides). */
  has (key: string): boolean {
    return this.#entries.has(key)
  }

  /**
   * Makes sure that every invalidation Redis sent before now has been applied: given by the tracker
   * (see InvalidationTracker#fence); without one (tests of the cache alone) the next turn of the event loop.
   */
  useFence (fence: Fence): void {
    this.#fence = fence
  }

  #fence: Fence = (done) => { setImmediate(done, true) }

  /** Where keys are read from (Redis Cluster: the master of the key's slot); see SourceOf. */
  useSource (sourceOf: SourceOf): void {
    this.#sourceOf = sourceOf
  }

  #sourceOf: SourceOf = () => ''

  /**
   * Answers from the cache (`hit`) or, when the entry is gone by then or the fence could not be
   * made, leaves it to `miss`; when Redis did not answer the fence, `fail`. A hit waits for the
   * fence, and the entry is looked up again after it: whatever was written in Redis before the
   * request that asked came in has been invalidated by then.
   */
  lookup (key: string, now: () => number, hit: (value: V) => void, miss: () => void, fail: (error: unknown) => void): void {
    this.#fence((ok, error) => {
      if (error !== undefined) {
        fail(error)
        return
      }
      const value = ok ? this.get(key, now()) : undefined
      if (value === undefined) {
        miss()
      } else {
        this.#hits++
        hit(value)
      }
    }, key)
  }

  /** Marks a read of `key` as started (before the command is sent); undefined while tracking is not on. */
  begin (key: string): Flight | undefined {
    if (this.#state !== 'on') return undefined
    const source = this.#sourceOf(key)
    if (source === undefined) return undefined
    this.#misses++
    let flight = this.#inFlight.get(key)
    if (flight === undefined) {
      flight = { count: 0, generation: 0 }
      this.#inFlight.set(key, flight)
    }
    flight.count++
    return { key, generation: flight.generation, epoch: this.#epoch, source }
  }

  /**
   * The read `flight` answered: keeps `value` until `expiresAt` (capped at maxAgeMs from `now`) when
   * nothing invalidated the key or the cache meanwhile; with no value (nothing there, unreadable, or an
   * error) it only ends the flight. A value is not kept either when the key has moved to another
   * server since the read was sent (a Redis Cluster redirection). Returns whether the value was kept.
   */
  settle (flight: Flight | undefined, value: V | undefined, expiresAt: number, now: number): boolean {
    if (flight === undefined) return false
    const inFlight = this.#inFlight.get(flight.key)
    if (inFlight === undefined) return false
    const untouched = inFlight.generation === flight.generation && flight.epoch === this.#epoch && this.#state === 'on' && this.#sourceOf(flight.key) === flight.source
    if (--inFlight.count === 0) this.#inFlight.delete(flight.key)
    if (!untouched || value === undefined) return false
    const until = Math.min(expiresAt, now + this.maxAgeMs)
    if (!(until > now)) return false
    this.#entries.delete(flight.key)
    this.#entries.set(flight.key, { value, expiresAt: until, source: flight.source })
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
    return true
  }
}

export interface InvalidationTrackerOptions {
  /** Told once when the server refuses tracking (never a key or a value). */
  logger?: StoreLogger
  /** Where the server is, for that line (no credentials). */
  where?: string
  /**
   * The connection invalidations are redirected to. Default: `command.duplicate()` on RESP2, without
   * automatic resubscription (the tracker subscribes itself after asking for the connection's id).
   */
  subscriber?: Redis
  /**
   * What the fence asks the command connection: `ping` (one server), or `role`, which also makes sure
   * the server is still a master (Redis Cluster: a master demoted by a failover may still answer, but
   * the key's writes go to its successor now). Default `ping`.
   */
  fenceCommand?: 'ping' | 'role'
}

function isReplyError (err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError'
}

function describe (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * Keeps tracking on for one command connection (redirected to a subscriber connection of its own)
 * and feeds the cache: `enable` once both are set up, `disable` the moment either connection closes,
 * `invalidate` / `flush` for every message. Re-establishes itself after every reconnect.
 */
export class InvalidationTracker {
  readonly subscriber: Redis
  readonly #cache: TrackingSink
  readonly #command: Redis
  readonly #fenceCommand: 'ping' | 'role'
  readonly #logger: StoreLogger | undefined
  readonly #where: string
  /** Bumped whenever the command connection closes: tracking asked for before is gone with it. */
  #commandGeneration = 0
  /** Bumped whenever the subscriber's connection closes: its id and subscription are gone with it. */
  #subscriberGeneration = 0
  /** The subscriber's client id, once it is subscribed on its current connection. */
  #redirectTo: string | undefined
  #closed = false
  /** Lookups waiting for the next fence (one for all the lookups of an event-loop turn). */
  #waiting: FenceDone[] = []
  #fenceScheduled = false
  /** A fence has been sent and its answer is not back yet. */
  #fenceOut = false
  readonly #listeners: Array<[Redis, string, (...args: never[]) => void]> = []

  constructor (cache: TrackingSink, command: Redis, options: InvalidationTrackerOptions = {}) {
    this.#cache = cache
    this.#command = command
    this.#fenceCommand = options.fenceCommand ?? 'ping'
    this.#logger = options.logger
    this.#where = options.where ?? 'redis'
    this.subscriber = options.subscriber ?? command.duplicate({
      protocol: 2,
      autoResubscribe: false,
      enableOfflineQueue: true,
      lazyConnect: false,
      connectionName: undefined
    })

    this.#on(this.subscriber, 'error', () => {}) // the command connection's own listener reports outages
    this.#on(this.subscriber, 'close', () => {
      this.#subscriberGeneration++
      this.#redirectTo = undefined
      this.#lost()
    })
    this.#on(this.subscriber, 'ready', () => { void this.#subscribe() })
    this.#on(this.subscriber, 'messageBuffer', (channel: Buffer, message: unknown) => { this.#message(channel, message) })
    this.#on(command, 'close', () => {
      this.#commandGeneration++
      this.#lost()
    })
    this.#on(command, 'ready', () => { void this.#track() })
    if (this.subscriber.status === 'ready') void this.#subscribe()
  }

  /**
   * Calls `done(true)` once every invalidation that Redis queued before this call has been applied:
   * a PING on the subscriber (its PONG comes after any message queued before it, on the same
   * connection) and one on the command connection (its PONG proves that the connection, and with it
   * the server's tracking of its keys, was still there after that write), both on the connections
   * tracking was turned on for. `done(false)` when a connection changed or the subscriber failed
   * (read Redis instead); `done(false, error)` when the command connection did not answer.
   * The lookups of one event-loop turn share one fence, sent at the end of the turn (after they
   * all came in). At most one fence is out at a time: lookups that come in meanwhile wait for the
   * next one, sent as soon as it is back (a fence sent before a lookup came in proves nothing for
   * it). When Redis did not answer a fence, the lookups waiting for the next one fail with it at
   * once rather than wait out a second command timeout. Under load this sends one fence per round
   * trip to Redis rather than one per turn of the event loop. Given to the cache with
   * `cache.useFence((done) => { tracker.fence(done) })`.
   */
  fence (done: FenceDone): void {
    this.#waiting.push(done)
    if (!this.#fenceOut) this.#scheduleFence()
  }

  /** Sends the next fence at the end of this turn of the event loop (once, however many lookups ask). */
  #scheduleFence (): void {
    if (this.#fenceScheduled) return
    this.#fenceScheduled = true
    setImmediate(() => { this.#sendFence() })
  }

  /** A fence's answer is back: the lookups that came in meanwhile get theirs (or its error). */
  #fenceBack (error: unknown): void {
    this.#fenceOut = false
    if (this.#waiting.length === 0) return
    if (error !== undefined) {
      const waiting = this.#waiting
      this.#waiting = []
      for (const done of waiting) done(false, error)
      return
    }
    this.#scheduleFence()
  }

  #sendFence (): void {
    this.#fenceScheduled = false
    const waiting = this.#waiting
    this.#waiting = []
    const commandGeneration = this.#commandGeneration
    const subscriberGeneration = this.#subscriberGeneration
    const finish = (answered: boolean, error?: unknown): void => {
      const ok = answered && commandGeneration === this.#commandGeneration && subscriberGeneration === this.#subscriberGeneration && this.#cache.state === 'on'
      for (const done of waiting) done(ok, error)
      // (Only a fence that was sent is out; one refused before sending leaves nothing to follow up.)
      if (this.#fenceOut) this.#fenceBack(error)
    }
    if (this.#closed || this.#cache.state !== 'on' || this.subscriber.status !== 'ready' || this.#command.status !== 'ready') {
      finish(false)
      return
    }
    this.#fenceOut = true
    const subscriber = this.subscriber.ping()
    subscriber.catch(() => {})
    const command = this.#fenceCommand === 'role' ? this.#command.call('ROLE') : this.#command.ping()
    command.then(
      (reply) => subscriber.then(() => { finish(this.#fenceCommand === 'ping' || (Array.isArray(reply) && reply[0] === 'master')) }, () => { finish(false) }),
      // A reply error is an answer (e.g. an ACL refusing ROLE): read Redis instead; anything else means it is not answering.
      (error: unknown) => { finish(false, isReplyError(error) ? undefined : error) }
    )
  }

  #on (emitter: Redis, event: string, listener: (...args: never[]) => void): void {
    emitter.on(event, listener as (...args: unknown[]) => void)
    this.#listeners.push([emitter, event, listener])
  }

  /** A connection closed: invalidations may be missed from now on. */
  #lost (): void {
    if (this.#cache.state === 'on' || this.#cache.state === 'starting') this.#cache.disable('off')
  }

  #message (channel: Buffer, message: unknown): void {
    if (channel.toString() !== INVALIDATE_CHANNEL) return
    if (message === null || message === undefined || (Array.isArray(message) && message.length === 0)) {
      this.#cache.flush()
      return
    }
    if (Array.isArray(message)) {
      for (const key of message) this.#cache.invalidate(String(key))
    } else {
      this.#cache.invalidate(String(message))
    }
  }

  /** On the subscriber's (re)connection: its id, then the channel; then tracking on the command connection. */
  async #subscribe (): Promise<void> {
    if (this.#closed || this.#cache.state === 'unsupported') return
    const generation = this.#subscriberGeneration
    try {
      const id = await this.subscriber.client('ID')
      await this.subscriber.subscribe(INVALIDATE_CHANNEL)
      if (generation !== this.#subscriberGeneration || this.#closed) return
      this.#redirectTo = String(id)
    } catch (err) {
      this.#failed(err)
      return
    }
    await this.#track()
  }

  /** Turns tracking on for the command connection, redirected to the subscriber; then the cache. */
  async #track (): Promise<void> {
    const redirectTo = this.#redirectTo
    if (this.#closed || redirectTo === undefined || this.#command.status !== 'ready' || this.#cache.state === 'unsupported') return
    const commandGeneration = this.#commandGeneration
    const subscriberGeneration = this.#subscriberGeneration
    try {
      await this.#command.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', redirectTo)
    } catch (err) {
      this.#failed(err)
      return
    }
    // Both connections the same as when it was asked for: every key read from now on is tracked.
    if (commandGeneration === this.#commandGeneration && subscriberGeneration === this.#subscriberGeneration && !this.#closed) this.#cache.enable()
  }

  /** The server refused (a reply error): reads go to Redis every time, for good. Otherwise the next reconnect tries again. */
  #failed (err: unknown): void {
    if (this.#closed || !isReplyError(err) || this.#cache.state === 'unsupported') return
    this.#cache.disable('unsupported')
    this.#logger?.warn(`session store: redis at ${this.#where} refused client tracking (${describe(err)}); every signed-in page view reads the session from Redis`)
    this.#detach()
    this.subscriber.disconnect(false)
  }

  #detach (): void {
    for (const [emitter, event, listener] of this.#listeners) emitter.off(event, listener as (...args: unknown[]) => void)
    this.#listeners.length = 0
    // A listener for late errors of the subscriber as it goes.
    this.subscriber.on('error', () => {})
  }

  /** Stops: the cache is emptied and off, the subscriber closed. Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#cache.state !== 'unsupported') this.#cache.disable('closed')
    this.#detach()
    const subscriber = this.subscriber
    if (subscriber.status === 'end') return
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1000)
      function done (): void {
        clearTimeout(timer)
        subscriber.off('end', done)
        resolve()
      }
      subscriber.once('end', done)
    })
    subscriber.disconnect(false)
    await ended
  }
}
