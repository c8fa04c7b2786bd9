import { randomUUID } from 'node:crypto'
import { Redis, type Cluster } from 'ioredis'
import type { Session } from 'fastify'
import { SessionStoreUnavailableError, type AppSessionStore, type StoreLogger, type StoredSession } from './types.js'
import { TAG_LENGTH, tagOf } from '../session-id.js'
import { storeTtlMs } from './ttl.js'
import { parseSession, serializeSession } from './record.js'
import type { TokenSealer } from './token-sealer.js'
import { clusterServes, createClusterClient, refreshAfterTimeouts } from './redis-cluster.js'
import { ClusterTracking } from './cluster-read-cache.js'
import { InvalidationTracker, ReadCache, type ReadCacheOptions, type ReadCacheStats } from './tracking-cache.js'

export interface RedisSessionStoreOptions {
  /** Seals the tokens in each stored record (the app always gives one); without it they are kept in clear. */
  tokenSealer?: TokenSealer
  /** A client owned by the caller (not closed by `close()`): a Redis or a Cluster. Either this or `url`. */
  client?: Redis | Cluster
  /**
   * `redis://…` or `rediss://…` (TLS); the store then creates and owns its client. With `cluster`, one
   * or more seed nodes of a Redis Cluster, separated by commas (see ./redis-cluster.ts).
   */
  url?: string
  /** Connect to a Redis Cluster (ElastiCache cluster mode, ElastiCache Serverless, MemoryDB). Default false. */
  cluster?: boolean
  /** Key prefix (without braces); where each key lives: see sessionKey, indexKey and lockKey. Default `sess:`. */
  prefix?: string
  /**
   * The least TTL a person's index gets each time one of their sessions is written: at least the
   * longest a session can live (SESSION_MAX_AGE). Default 7 days.
   */
  indexTtlMs?: number
  /** TTL for sessions that carry no expiry of their own. Default 24 h. */
  defaultTtlMs?: number
  /** Receives connection state messages (never session contents). Default: silent. */
  logger?: StoreLogger
  /** How long `ping()` waits for an answer (including a connection in progress). Default 1 000 ms. */
  pingTimeoutMs?: number
  /** For an own client: TCP/TLS connect timeout. Default 2 000 ms. */
  connectTimeoutMs?: number
  /** For an own client: per-command timeout. Default 1 000 ms. */
  commandTimeoutMs?: number
  /** Clock used for session TTLs, injectable for tests. Default `Date.now`. */
  now?: () => number
  /**
   * Keeps the sessions read in a local cache that Redis keeps right (CLIENT TRACKING, see
   * tracking-cache.ts): a page view whose session has not changed sends nothing to Redis. Default on;
   * `false` reads every time. Where the server refuses tracking (or in cluster mode) every read goes to Redis.
   */
  readCache?: boolean | ReadCacheOptions
}

type Callback = (err?: unknown) => void
type CallbackSession = (err: unknown, result?: Session | null) => void

const DAY_MS = 24 * 60 * 60 * 1000

/** Deletes KEYS[1] only when it still holds ARGV[1]. */
const UNLOCK_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1])
else
  return 0
end`

/**
 * Where a session lives: `prefix + '{' + tag + '}' + rest` for an id with its owner's tag (the braces
 * make the tag Redis Cluster's hash tag: the session, its refresh lock and its person's index are in
 * one slot, and no command ever spans two), `prefix + id` for an id without one.
 */
export function sessionKey (prefix: string, sessionId: string): string {
  const tag = tagOf(sessionId)
  return tag === undefined ? prefix + sessionId : `${prefix}{${tag}}${sessionId.slice(TAG_LENGTH)}`
}

/** One person's index: a set of their session ids, at `prefix + '{' + tag + '}:index'`. */
export function indexKey (prefix: string, tag: string): string {
  return `${prefix}{${tag}}:index`
}

/**
 * A lock: `prefix + 'lock:' + key`; a lock named after a session (`name:<session id>`, as the
 * refresh lock is) takes that session's hash tag: `prefix + 'lock:name:{tag}rest'`.
 */
export function lockKey (prefix: string, key: string): string {
  const colon = key.lastIndexOf(':')
  const tail = key.slice(colon + 1)
  if (colon === -1 || tagOf(tail) === undefined) return prefix + 'lock:' + key
  return prefix + 'lock:' + key.slice(0, colon + 1) + sessionKey('', tail)
}

/** Reconnect delay: 200 ms, 400 ms, … capped at 2 s; never gives up. */
export function reconnectDelayMs (attempt: number): number {
  return Math.min(Math.max(1, attempt) * 200, 2000)
}

/** Strips the credentials from a Redis URL so it can be logged. */
function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return '(unparseable url)'
  }
}

/** The same for one URL or several (a cluster's seeds, separated by commas). */
function redactUrls (urls: string): string {
  return urls.split(/[\s,]+/).filter(Boolean).map(redactUrl).join(', ')
}

function isCluster (client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true
}

function unavailable (err: unknown): SessionStoreUnavailableError {
  if (err instanceof SessionStoreUnavailableError) return err
  const reason = err instanceof Error ? err.message : String(err)
  return new SessionStoreUnavailableError(`session store (redis) unavailable: ${reason}`, { cause: err })
}

/**
 * Session store on Redis: one JSON value per session (sessionKey), expiring with the session
 * (`SET … PX remainingMs`), and one small set per person listing their session ids (indexKey), written
 * in the same transaction as the session. An index expires when none of its sessions can still be
 * alive (its TTL is renewed to at least `indexTtlMs` with each write); entries of sessions that ended
 * are removed with them, those of expired sessions when the index is next read. Fails fast while
 * Redis is down and recovers by itself when it returns.
 */
export class RedisSessionStore implements AppSessionStore {
  readonly kind = 'redis' as const
  readonly client: Redis | Cluster
  readonly prefix: string

  readonly #ownsClient: boolean
  readonly #defaultTtlMs: number
  readonly #indexTtlMs: number
  readonly #sealer: TokenSealer | undefined
  readonly #pingTimeoutMs: number
  readonly #now: () => number
  readonly #logger: StoreLogger | undefined
  /**
   * The last text read for recent sessions and what it parsed to (deep-frozen, so it can be handed out
   * again): a page view whose entry has not changed since the last read skips the parse. Bounded;
   * the earliest read are forgotten first. The text in Redis is always read: this saves CPU, never a round trip.
   */
  readonly #parsed = new Map<string, { raw: string, session: Session }>()
  static readonly PARSED_MAX = 1000
  /** The sessions read while Redis tracks them for us (tracking-cache.ts); none when turned off. */
  readonly #cache: ReadCache<Session> | undefined
  readonly #tracker: InvalidationTracker | ClusterTracking | undefined
  /** On a cluster: told of every failed command, so that a timeout makes the client read the slot map again. */
  readonly #commandFailed: ((err: unknown) => void) | undefined
  #closing: Promise<void> | undefined

  constructor (options: RedisSessionStoreOptions) {
    const {
      client,
      url,
      prefix = 'sess:',
      defaultTtlMs = DAY_MS,
      indexTtlMs = 7 * DAY_MS,
      logger,
      pingTimeoutMs = 1000,
      connectTimeoutMs = 2000,
      commandTimeoutMs = 1000,
      now = Date.now
    } = options
    if (!(defaultTtlMs > 0)) throw new RangeError('defaultTtlMs must be positive')
    if (/[{}]/.test(prefix)) throw new TypeError('RedisSessionStore prefix must not contain { or } (the keys\' hash tags follow it)')
    if (!(indexTtlMs > 0)) throw new RangeError('indexTtlMs must be positive')
    this.prefix = prefix
    this.#defaultTtlMs = defaultTtlMs
    this.#indexTtlMs = indexTtlMs
    this.#sealer = options.tokenSealer
    this.#pingTimeoutMs = pingTimeoutMs
    this.#now = now
    this.#logger = logger

    if (client !== undefined) {
      this.client = client
      this.#ownsClient = false
    } else {
      if (url === undefined || url === '') throw new TypeError('RedisSessionStore needs a client or a url')
      if (!/^rediss?:\/\//i.test(url)) throw new TypeError('RedisSessionStore url must start with redis:// or rediss://')
      if (options.cluster === true) {
        this.client = createClusterClient(url, { connectTimeoutMs, commandTimeoutMs, retryDelayMs: reconnectDelayMs })
        this.#ownsClient = true
        this.#watchCluster(this.client, redactUrls(url))
      } else {
        this.client = new Redis(url, {
          // Fail fast instead of queueing while disconnected, so the app can answer 503.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: connectTimeoutMs,
          commandTimeout: commandTimeoutMs,
          retryStrategy: reconnectDelayMs,
          lazyConnect: false
        })
        this.#ownsClient = true
        this.#watchConnection(redactUrl(url))
      }
    }
    this.#commandFailed = isCluster(this.client) ? refreshAfterTimeouts(this.client) : undefined
    const readCache = options.readCache ?? true
    if (readCache !== false) {
      const cache = new ReadCache<Session>(readCache === true ? {} : readCache)
      const where = url === undefined ? undefined : redactUrls(url)
      if (isCluster(this.client)) {
        this.#tracker = new ClusterTracking(cache as ReadCache<unknown>, this.client, { logger, where })
      } else {
        const tracker = new InvalidationTracker(cache, this.client, { logger, where })
        cache.useFence((done) => { tracker.fence(done) })
        this.#tracker = tracker
      }
      this.#cache = cache
    }
  }

  /** The local cache's state and counters; undefined when it is turned off. */
  readCacheStats (): ReadCacheStats | undefined {
    return this.#cache?.stats()
  }

  #watchConnection (where: string): void {
    // Log the first error of an outage only; 'ready' re-arms it.
    let quiet = false
    this.client.on('error', (err: unknown) => {
      if (quiet) return
      quiet = true
      const reason = err instanceof Error ? err.message : String(err)
      this.#logger?.warn(`session store: redis at ${where} unavailable (${reason}); reconnecting`)
    })
    this.client.on('ready', () => {
      if (quiet) this.#logger?.info?.(`session store: redis at ${where} reachable again`)
      quiet = false
    })
  }

  /**
   * As #watchConnection, for a cluster: the first error of an outage is logged, whether the whole
   * cluster is gone ('error') or one node ('node error', e.g. a master that died). During an outage,
   * each time the client has read the slot map again, the masters it names are asked for a PING (one
   * check at a time): the cluster is reachable again when every slot's master answers.
   */
  #watchCluster (cluster: Cluster, where: string): void {
    let quiet = false
    let checking = false
    const failed = (err: unknown): void => {
      if (quiet) return
      quiet = true
      const reason = err instanceof Error ? err.message : String(err)
      this.#logger?.warn(`session store: redis cluster at ${where} unavailable (${reason}); reconnecting`)
    }
    const maybeBack = (): void => {
      if (!quiet || checking || this.#closing !== undefined) return
      checking = true
      clusterServes(cluster, this.#commandFailed).then((serves) => {
        checking = false
        if (!serves || !quiet) return
        quiet = false
        this.#logger?.info?.(`session store: redis cluster at ${where} reachable again`)
      }, () => { checking = false })
    }
    cluster.on('error', failed)
    cluster.on('node error', failed)
    cluster.on('ready', maybeBack)
    cluster.on('refresh', maybeBack)
  }

  /** A failed command's error, as the store's callers see it (on a cluster, a timeout also asks for the slot map). */
  #unavailable (err: unknown): SessionStoreUnavailableError {
    this.#commandFailed?.(err)
    return unavailable(err)
  }

  #key (sessionId: string): string {
    return sessionKey(this.prefix, sessionId)
  }

  #lockKey (key: string): string {
    return lockKey(this.prefix, key)
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    let json: string
    let ttl: number
    try {
      ttl = storeTtlMs(session, this.#now(), this.#defaultTtlMs)
      json = serializeSession(session, this.#sealer)
    } catch (err) {
      callback(err)
      return
    }
    const key = this.#key(sessionId)
    this.#cache?.invalidate(key)
    const tag = tagOf(sessionId)
    let op: Promise<unknown>
    if (tag === undefined) {
      op = ttl > 0 ? this.client.set(key, json, 'PX', ttl) : this.client.del(key)
    } else if (ttl <= 0) {
      op = this.#exec(this.client.multi().del(key).srem(indexKey(this.prefix, tag), sessionId))
    } else if (typeof session.owner === 'string') {
      // The index outlives every session it lists: renewed with each write to the longest lifetime.
      const absolute = typeof session.absoluteExpiresAt === 'number' ? session.absoluteExpiresAt - this.#now() : 0
      const index = indexKey(this.prefix, tag)
      op = this.#exec(this.client.multi().set(key, json, 'PX', ttl).sadd(index, sessionId).pexpire(index, Math.ceil(Math.max(this.#indexTtlMs, absolute))))
    } else {
      op = this.client.set(key, json, 'PX', ttl)
    }
    op.then(() => { callback() }, (err: unknown) => { callback(this.#unavailable(err)) })
  }

  /** Runs a MULTI … EXEC; rejects when it or any command in it failed. */
  async #exec (multi: ReturnType<Redis['multi']> | ReturnType<Cluster['multi']>): Promise<void> {
    const results = await multi.exec()
    if (results === null) throw new Error('transaction aborted')
    for (const [err] of results) if (err) throw err
  }

  get (sessionId: string, callback: CallbackSession): void {
    const key = this.#key(sessionId)
    if (this.#cache?.has(key) === true) {
      this.#cache.lookup(key, this.#now, (session) => { callback(null, session) }, () => { this.#read(key, callback) }, (err) => { callback(this.#unavailable(err)) })
    } else {
      this.#read(key, callback)
    }
  }

  /** Reads the session from Redis itself, past the local cache (for a refresh waiting on another instance). */
  getLatest (sessionId: string, callback: CallbackSession): void {
    this.#read(this.#key(sessionId), callback)
  }

  #read (key: string, callback: CallbackSession): void {
    const flight = this.#cache?.begin(key)
    this.client.get(key).then((raw) => {
      if (raw === null) {
        this.#cache?.settle(flight, undefined, 0, 0)
        callback(null, null)
        return
      }
      const known = this.#parsed.get(key)
      const session = known !== undefined && known.raw === raw ? known.session : parseSession(raw, this.#sealer)
      if (session === undefined) {
        // Unreadable entry: drop it and carry on as if there were no session.
        this.#cache?.settle(flight, undefined, 0, 0)
        this.#parsed.delete(key)
        this.client.del(key).catch(() => {})
        callback(null, null)
        return
      }
      if (session !== known?.session) this.#remember(key, raw, session)
      if (flight !== undefined) {
        const now = this.#now()
        this.#cache?.settle(flight, session, now + storeTtlMs(session, now, this.#defaultTtlMs), now)
      }
      callback(null, session)
    }, (err: unknown) => {
      this.#cache?.settle(flight, undefined, 0, 0)
      callback(this.#unavailable(err))
    })
  }

  #remember (key: string, raw: string, session: Session): void {
    this.#parsed.delete(key)
    this.#parsed.set(key, { raw, session })
    if (this.#parsed.size > RedisSessionStore.PARSED_MAX) {
      const oldest = this.#parsed.keys().next()
      if (oldest.done !== true) this.#parsed.delete(oldest.value)
    }
  }

  destroy (sessionId: string, callback: Callback): void {
    const key = this.#key(sessionId)
    this.#parsed.delete(key)
    this.#cache?.invalidate(key)
    const tag = tagOf(sessionId)
    const op = tag === undefined ? this.client.del(key) : this.#exec(this.client.multi().del(key).srem(indexKey(this.prefix, tag), sessionId))
    op.then(() => { callback() }, (err: unknown) => { callback(this.#unavailable(err)) })
  }

  async sessionsOf (owner: string, tags: readonly string[]): Promise<StoredSession[]> {
    const found: StoredSession[] = []
    try {
      for (const tag of tags) {
        const index = indexKey(this.prefix, tag)
        const ids = (await this.client.smembers(index)).filter((id) => tagOf(id) === tag)
        if (ids.length === 0) continue
        // One slot: the index and every key it names share the tag.
        const raws = await this.client.mget(ids.map((id) => this.#key(id)))
        const gone: string[] = []
        ids.forEach((id, i) => {
          const raw = raws[i]
          const session = raw === null || raw === undefined ? undefined : parseSession(raw, this.#sealer)
          if (session === undefined) gone.push(id)
          else if (session.owner === owner) found.push({ id, session })
          // else: someone else's session under the same tag; theirs to list.
        })
        if (gone.length > 0) await this.client.srem(index, ...gone)
      }
    } catch (err) {
      throw this.#unavailable(err)
    }
    return found
  }

  async setName (name: string, owner: string, ttlMs: number): Promise<void> {
    try {
      await this.client.set(`${this.prefix}name:${name}`, owner, 'PX', Math.ceil(ttlMs))
    } catch (err) {
      throw this.#unavailable(err)
    }
  }

  async ownerOfName (name: string): Promise<string | undefined> {
    try {
      return (await this.client.get(`${this.prefix}name:${name}`)) ?? undefined
    } catch (err) {
      throw this.#unavailable(err)
    }
  }

  async ping (): Promise<boolean> {
    const deadline = Date.now() + this.#pingTimeoutMs
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => { resolve(false) }, this.#pingTimeoutMs)
      timer.unref()
    })
    const attempt = (async (): Promise<boolean> => {
      if (this.#closing !== undefined) return false
      await this.#waitForReady(deadline)
      if (isCluster(this.client)) return await clusterServes(this.client, this.#commandFailed)
      return (await this.client.ping()) === 'PONG'
    })().catch(() => false)
    try {
      return await Promise.race([attempt, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** While a (re)connection is in progress, waits for it up to `deadline`; otherwise returns at once. */
  async #waitForReady (deadline: number): Promise<void> {
    const status = this.client.status
    if (status !== 'connecting' && status !== 'connect' && status !== 'reconnecting') return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.client.off('ready', done)
        this.client.off('end', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()))
      timer.unref()
      this.client.once('ready', done)
      this.client.once('end', done)
    })
  }

  async tryLock (key: string, ttlMs: number): Promise<string | null> {
    if (!(ttlMs > 0)) throw new RangeError('ttlMs must be positive')
    const token = randomUUID()
    let reply: string | null
    try {
      reply = await this.client.set(this.#lockKey(key), token, 'PX', Math.ceil(ttlMs), 'NX')
    } catch (err) {
      throw this.#unavailable(err)
    }
    return reply === 'OK' ? token : null
  }

  async unlock (key: string, token: string): Promise<void> {
    try {
      await this.client.eval(UNLOCK_SCRIPT, 1, this.#lockKey(key), token)
    } catch (err) {
      throw this.#unavailable(err)
    }
  }

  close (): Promise<void> {
    this.#closing ??= Promise.all([this.#tracker?.close(), this.#ownsClient ? this.#quit() : undefined]).then(() => {})
    return this.#closing
  }

  async #quit (): Promise<void> {
    const client = this.client
    if (client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          client.quit(),
          new Promise((resolve) => { timer = setTimeout(resolve, 1000) })
        ])
      } catch {
        // fall through to disconnect()
      } finally {
        clearTimeout(timer)
      }
    }
    if (client.status === 'end') return
    // Stops any reconnect timer and closes the socket if quit did not; wait (briefly) for 'end'.
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1000)
      function done (): void {
        clearTimeout(timer)
        client.off('end', done)
        resolve()
      }
      client.once('end', done)
    })
    client.disconnect(false)
    await ended
  }
}
