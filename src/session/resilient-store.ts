/**
 * Wraps the real store so that a store that stops answering never breaks public pages: a failed read
 * yields a marker session (public pages render as anonymous and the cookie is kept for when the store
 * is back); failed writes become SessionStoreUnavailableError (503 for signed-in pages).
 */
import type { Session } from 'fastify'
import { SessionStoreUnavailableError, type AppSessionStore, type StoredSession } from './stores/types.js'

type Callback = (err?: unknown) => void
type GetCallback = (err: unknown, session?: Session | null) => void

function unavailable(cause?: unknown): SessionStoreUnavailableError {
  return cause instanceof SessionStoreUnavailableError ? cause : new SessionStoreUnavailableError('session store unavailable', { cause })
}

export class ResilientStore {
  #healthy = true

  constructor(
    readonly inner: AppSessionStore,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {}

  get healthy(): boolean {
    return this.#healthy
  }

  #mark(ok: boolean, error?: unknown): void {
    if (!ok && this.#healthy) this.log.warn({ error: { message: (error as Error)?.message } }, 'session store unavailable')
    this.#healthy = ok
  }

  get(sessionId: string, callback: GetCallback): void {
    this.inner.get(sessionId, (error, session) => {
      if (error) {
        this.#mark(false, error)
        callback(null, { storeUnavailable: true } as unknown as Session)
        return
      }
      this.#mark(true)
      callback(null, session ?? null)
    })
  }

  set(sessionId: string, session: Session, callback: Callback): void {
    if (session.storeUnavailable) {
      callback(unavailable())
      return
    }
    this.inner.set(sessionId, session, (error) => {
      this.#mark(!error, error)
      callback(error ? unavailable(error) : undefined)
    })
  }

  destroy(sessionId: string, callback: Callback): void {
    this.inner.destroy(sessionId, (error) => {
      this.#mark(!error, error)
      callback(error ? unavailable(error) : undefined)
    })
  }

  /** Reads a session straight from the store, past any local copy (used by refresh waiters); rejects when unavailable. */
  read(sessionId: string): Promise<Session | null> {
    return new Promise((resolve, reject) => {
      const get = this.inner.getLatest ?? this.inner.get
      get.call(this.inner, sessionId, (error, session) => {
        this.#mark(!error, error)
        if (error) reject(unavailable(error))
        else resolve(session ?? null)
      })
    })
  }

  /** Deletes a session (promise form of destroy); rejects when the store is unavailable. */
  remove(sessionId: string): Promise<void> {
    return new Promise((resolve, reject) => this.destroy(sessionId, (error) => (error ? reject(error) : resolve())))
  }

  /** One person's live sessions (see AppSessionStore.sessionsOf); rejects when the store is unavailable. */
  async sessionsOf(owner: string, tags: readonly string[]): Promise<StoredSession[]> {
    try {
      const found = await this.inner.sessionsOf(owner, tags)
      this.#mark(true)
      return found
    } catch (error) {
      this.#mark(false, error)
      throw unavailable(error)
    }
  }

  /** See AppSessionStore.setName; rejects when the store is unavailable. */
  async setName(name: string, owner: string, ttlMs: number): Promise<void> {
    try {
      await this.inner.setName(name, owner, ttlMs)
    } catch (error) {
      this.#mark(false, error)
      throw unavailable(error)
    }
  }

  /** See AppSessionStore.ownerOfName; rejects when the store is unavailable. */
  async ownerOfName(name: string): Promise<string | undefined> {
    try {
      return await this.inner.ownerOfName(name)
    } catch (error) {
      this.#mark(false, error)
      throw unavailable(error)
    }
  }

  async ping(): Promise<boolean> {
    const ok = await this.inner.ping()
    this.#healthy = ok
    return ok
  }

  tryLock(key: string, ttlMs: number): Promise<string | null> {
    return this.inner.tryLock(key, ttlMs)
  }

  unlock(key: string, token: string): Promise<void> {
    return this.inner.unlock(key, token)
  }
}
