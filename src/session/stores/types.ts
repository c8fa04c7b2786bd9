import type { SessionStore as FastifySessionStore } from '@fastify/session'
import type { Session } from 'fastify'

/** A stored session and its id, as a list of one person's sessions gives them. */
export interface StoredSession {
  readonly id: string
  /** The record as stored (deep-frozen). */
  readonly session: Session
}

/**
 * A session store usable as `@fastify/session`'s `store` option (callback API:
 * `set(id, session, cb)`, `get(id, cb)`, `destroy(id, cb)`), plus what the app
 * needs around it: readiness, a small lock primitive and shutdown.
 */
export interface AppSessionStore extends FastifySessionStore {
  readonly kind: 'memory' | 'redis'
  /** Reads a session from the store itself, past any local copy (where `get` may answer from one). */
  getLatest?(sessionId: string, callback: (err: unknown, result?: Session | null) => void): void
  /** true when the store answers (readiness probe); never rejects. */
  ping(): Promise<boolean>
  /** Takes a lock for `ttlMs`; resolves to a token, or null when someone else holds it. */
  tryLock(key: string, ttlMs: number): Promise<string | null>
  /** Releases the lock only if `token` still owns it; otherwise does nothing. */
  unlock(key: string, token: string): Promise<void>
  /**
   * The live sessions of one person: those whose record's `owner` is `owner`, found through the
   * person's index (`tags`: the tags their session ids may carry, see ../session-id.ts). Index entries
   * of sessions that are gone (ended, expired, evicted) are removed on the way.
   */
  sessionsOf(owner: string, tags: readonly string[]): Promise<StoredSession[]>
  /**
   * Remembers that a person is also known by `name` (an HMAC of a username or email, made by the
   * session plugin: no personal data in the store's keys) for `ttlMs`, so an administrator can find
   * their sessions by it. The newest owner of a name wins.
   */
  setName(name: string, owner: string, ttlMs: number): Promise<void>
  /** The owner last remembered under `name`, or undefined (never set, or expired). */
  ownerOfName(name: string): Promise<string | undefined>
  /** Stops timers / disconnects a client the store created itself. Idempotent. */
  close(): Promise<void>
}

/** Minimal logger shape (a pino / Fastify logger fits). Never given session contents. */
export interface StoreLogger {
  warn(msg: string): void
  info?(msg: string): void
}

/**
 * Error passed to `@fastify/session` callbacks (and thrown by the promise methods)
 * when the backing store cannot be reached. Carries `statusCode: 503` so Fastify's
 * default error handler answers 503 Service Unavailable.
 */
export class SessionStoreUnavailableError extends Error {
  readonly code = 'SESSION_STORE_UNAVAILABLE'
  readonly statusCode = 503
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SessionStoreUnavailableError'
  }
}
