import { randomUUID } from 'node:crypto'
import type { Session } from 'fastify'
import { tagOf } from '../session-id.js'
import type { AppSessionStore, StoredSession } from './types.js'
import { parseSession, serializeSession } from './record.js'
import type { TokenSealer } from './token-sealer.js'
import { storeTtlMs } from './ttl.js'

export interface MemorySessionStoreOptions {
  /** Seals the tokens in each stored record (the app always gives one); without it they are kept in clear. */
  tokenSealer?: TokenSealer
  /**
   * Upper bound on stored sessions (the last resort: the per-person cap of the session plugin comes
   * first). Beyond it one session is evicted: the least recently used one, unless the person whose
   * session is being written (known by the tag in its id) holds more sessions than that one's owner,
   * in which case it is their own least recently used one (one person signing in again and again
   * cannot push everyone else out).
   * Default 10 000.
   */
  maxSessions?: number
  /** How often expired entries are swept, in ms. Default 60 000; 0 disables the timer. */
  sweepIntervalMs?: number
  /** TTL for sessions that carry no expiry of their own. Default 24 h. */
  defaultTtlMs?: number
  /** Clock (the app's), so tests move time instead of waiting. Default `Date.now`. */
  now?: () => number
}

interface Entry {
  /**
   * A deep-frozen copy of the session as it was saved (through its JSON form, as a network store
   * would keep it). Handed out as it is: @fastify/session copies its fields into a new Session,
   * and nothing can change the stored copy, so a page view needs no parse and no copy.
   */
  session: Session
  expiresAt: number
  /** The owner's tag in the session id, when it has one: the key of the per-person index. */
  tag: string | undefined
  /** When it was last written or read (a counter), to find a person's least recently used session. */
  used: number
}

interface Lock {
  token: string
  expiresAt: number
}

type Callback = (err?: unknown) => void
type CallbackSession = (err: unknown, result?: Session | null) => void

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * In-process session store for development and single-instance use: bounded (LRU),
 * entries expire with the session, values are stored as frozen copies (see Entry).
 *
 * Callbacks are always called asynchronously, on a later turn of the event loop, as with a network
 * store: never sometimes-synchronous, and under load the requests that arrived together are then
 * parsed together and answered together, which measured 15–20 % less CPU per page view than
 * answering each one inside its own parser callback.
 */
export class MemorySessionStore implements AppSessionStore {
  readonly kind = 'memory' as const

  readonly #maxSessions: number
  readonly #defaultTtlMs: number
  readonly #sealer: TokenSealer | undefined
  readonly #now: () => number
  /** Insertion order = recency order (oldest first). */
  readonly #entries = new Map<string, Entry>()
  readonly #locks = new Map<string, Lock>()
  /**
   * The per-person index, as in Redis: the tag in a session id (see ../session-id.ts) → the stored
   * sessions with that tag. A set leaves with its last session. Listing checks each record's owner.
   */
  readonly #tags = new Map<string, Set<string>>()
  /** Other names of people (see setName): bounded like the sessions, the earliest set forgotten first. */
  readonly #names = new Map<string, { owner: string, expiresAt: number }>()
  #uses = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (options: MemorySessionStoreOptions = {}) {
    const {
      maxSessions = 10_000,
      sweepIntervalMs = 60_000,
      defaultTtlMs = DAY_MS,
      now = Date.now
    } = options
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new RangeError('maxSessions must be a positive integer')
    }
    if (!(defaultTtlMs > 0)) throw new RangeError('defaultTtlMs must be positive')
    if (!(sweepIntervalMs >= 0)) throw new RangeError('sweepIntervalMs must be ≥ 0')
    this.#maxSessions = maxSessions
    this.#defaultTtlMs = defaultTtlMs
    this.#sealer = options.tokenSealer
    this.#now = now
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => { this.sweep() }, sweepIntervalMs)
      this.#timer.unref()
    }
  }

  /** Number of stored sessions (expired ones not yet swept included). */
  get size (): number {
    return this.#entries.size
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    let error: unknown
    try {
      const ttl = storeTtlMs(session, this.#now(), this.#defaultTtlMs)
      this.#delete(sessionId)
      if (ttl > 0) {
        const copy = parseSession(serializeSession(session, this.#sealer), this.#sealer) // deep-frozen
        if (copy === undefined) throw new TypeError('a session must be an object')
        const tag = tagOf(sessionId)
        this.#entries.set(sessionId, { session: copy, expiresAt: this.#now() + ttl, tag, used: ++this.#uses })
        if (tag !== undefined) {
          let ids = this.#tags.get(tag)
          if (ids === undefined) this.#tags.set(tag, (ids = new Set()))
          ids.add(sessionId)
        }
        while (this.#entries.size > this.#maxSessions) {
          const victim = this.#victim(sessionId, tag)
          if (victim === undefined) break
          this.#delete(victim)
        }
      }
    } catch (err) {
      error = err
    }
    setImmediate(callback, error)
  }

  /**
   * Which session a full store lets go: the least recently used one, or the least recently used one
   * of the person writing `keep` (`tag`) when they hold more sessions than the owner of that one.
   */
  #victim (keep: string, tag: string | undefined): string | undefined {
    const oldest = this.#entries.entries().next()
    if (oldest.done === true) return undefined
    const [oldestId, oldestEntry] = oldest.value
    const mine = tag === undefined ? undefined : this.#tags.get(tag)
    const theirs = oldestEntry.tag === undefined ? 1 : (this.#tags.get(oldestEntry.tag)?.size ?? 1)
    if (mine === undefined || mine.size <= theirs || oldestEntry.tag === tag) return oldestId === keep ? undefined : oldestId
    let victim: string | undefined
    let used = Number.POSITIVE_INFINITY
    for (const id of mine) {
      const entry = this.#entries.get(id)
      if (id !== keep && entry !== undefined && entry.used < used) {
        victim = id
        used = entry.used
      }
    }
    return victim ?? oldestId
  }

  /** Removes a session and its index entry. */
  #delete (sessionId: string): void {
    const entry = this.#entries.get(sessionId)
    if (entry === undefined) return
    this.#entries.delete(sessionId)
    if (entry.tag !== undefined) {
      const ids = this.#tags.get(entry.tag)
      ids?.delete(sessionId)
      if (ids?.size === 0) this.#tags.delete(entry.tag)
    }
  }

  get (sessionId: string, callback: CallbackSession): void {
    let result: Session | null = null
    const entry = this.#entries.get(sessionId)
    if (entry !== undefined) {
      if (entry.expiresAt > this.#now()) {
        this.#entries.delete(sessionId)
        this.#entries.set(sessionId, entry) // most recently used
        entry.used = ++this.#uses
        result = entry.session
      } else {
        this.#delete(sessionId)
      }
    }
    setImmediate(callback, null, result)
  }

  destroy (sessionId: string, callback: Callback): void {
    this.#delete(sessionId)
    setImmediate(callback)
  }

  async sessionsOf (owner: string, tags: readonly string[]): Promise<StoredSession[]> {
    const now = this.#now()
    const found: StoredSession[] = []
    for (const tag of tags) {
      for (const id of [...(this.#tags.get(tag) ?? [])]) {
        const entry = this.#entries.get(id)
        if (entry === undefined || entry.expiresAt <= now) this.#delete(id)
        else if (entry.session.owner === owner) found.push({ id, session: entry.session })
      }
    }
    return found
  }

  async setName (name: string, owner: string, ttlMs: number): Promise<void> {
    this.#names.delete(name)
    this.#names.set(name, { owner, expiresAt: this.#now() + ttlMs })
    if (this.#names.size > this.#maxSessions) {
      const oldest = this.#names.keys().next()
      if (oldest.done !== true) this.#names.delete(oldest.value)
    }
  }

  async ownerOfName (name: string): Promise<string | undefined> {
    const entry = this.#names.get(name)
    if (entry === undefined) return undefined
    if (entry.expiresAt > this.#now()) return entry.owner
    this.#names.delete(name)
    return undefined
  }

  /** How many tags (about: people) the index holds (for tests: an entry leaves with a person's last session). */
  get indexedTags (): number {
    return this.#tags.size
  }

  /** Deletes every expired session and lock; returns how many sessions were removed. */
  sweep (): number {
    const now = this.#now()
    let removed = 0
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#delete(id)
        removed++
      }
    }
    for (const [key, lock] of this.#locks) {
      if (lock.expiresAt <= now) this.#locks.delete(key)
    }
    for (const [name, entry] of this.#names) {
      if (entry.expiresAt <= now) this.#names.delete(name)
    }
    return removed
  }

  async ping (): Promise<boolean> {
    return !this.#closed
  }

  async tryLock (key: string, ttlMs: number): Promise<string | null> {
    if (!(ttlMs > 0)) throw new RangeError('ttlMs must be positive')
    const now = this.#now()
    const held = this.#locks.get(key)
    if (held !== undefined && held.expiresAt > now) return null
    const token = randomUUID()
    this.#locks.set(key, { token, expiresAt: now + ttlMs })
    return token
  }

  async unlock (key: string, token: string): Promise<void> {
    const held = this.#locks.get(key)
    if (held !== undefined && held.token === token) this.#locks.delete(key)
  }

  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  /** True while the sweep timer is scheduled (for tests). */
  get sweeping (): boolean {
    return this.#timer !== undefined
  }
}

