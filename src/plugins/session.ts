/**
 * Server-side sessions: @fastify/cookie + @fastify/session over a bounded memory store or Redis.
 * The browser holds only the signed session id. Idle timeout slides with activity (the store is
 * written at most once per touch interval, not on every page view); the absolute lifetime is fixed
 * at sign-in. A store that stops answering never breaks public pages: the session reads as
 * "unavailable" and only signed-in pages answer 503.
 */
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import type { FastifyInstance, FastifyRequest, Session } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import type { TokenSet } from '../oidc.js'
import { installFingerprint } from '../session-fingerprint.js'
import { SessionIdSigner } from '../session-id-signer.js'
import { MemorySessionStore } from '../session-stores/memory.js'
import { RedisSessionStore } from '../session-stores/redis.js'
import { SessionStoreUnavailableError, type AppSessionStore } from '../session-stores/types.js'
import type { User } from '../user.js'

declare module 'fastify' {
  interface Session {
    user?: User
    tokens?: TokenSet
    /** Epoch ms of sign-in at this app. */
    signedInAt?: number
    /** Epoch ms after which the session ends whatever the activity (SESSION_MAX_AGE). */
    absoluteExpiresAt?: number
    /** Epoch ms of the last time the idle window was slid forward. */
    lastSeenAt?: number
    /** Set on a session that could not be read because the store is down. Never saved. */
    storeUnavailable?: boolean
    _csrf?: string
    /** The CSRF token for this session's forms, made once (at sign-in) rather than on every page view. */
    csrfToken?: string
  }
  interface FastifyInstance {
    sessionStore: ResilientStore
  }
}

type Callback = (err?: unknown) => void

function unavailable(cause?: unknown): SessionStoreUnavailableError {
  return cause instanceof SessionStoreUnavailableError
    ? cause
    : new SessionStoreUnavailableError('session store unavailable', { cause })
}
type GetCallback = (err: unknown, session?: Session | null) => void

/**
 * Wraps the real store: a failed read yields a marker session (so public pages render as anonymous
 * and the cookie is kept for when the store is back); failed writes become SessionStoreUnavailableError.
 */
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
    if (!ok && this.#healthy) {
      this.log.warn({ err: { message: (error as Error)?.message } }, 'session store unavailable')
    }
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

  /** Reads a session straight from the store (used by refresh waiters); rejects when unavailable. */
  read(sessionId: string): Promise<Session | null> {
    return new Promise((resolve, reject) => {
      this.inner.get(sessionId, (error, session) => {
        this.#mark(!error, error)
        if (error) reject(unavailable(error))
        else resolve(session ?? null)
      })
    })
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

export function createSessionStore(config: Config, log: { warn(msg: string): void }): AppSessionStore {
  const { session } = config
  if (session.store === 'redis') {
    return new RedisSessionStore({
      url: session.redisUrl as string,
      prefix: session.redisPrefix,
      defaultTtlMs: session.idleTimeoutMs,
      logger: log,
    })
  }
  return new MemorySessionStore({ maxSessions: session.memoryMax, defaultTtlMs: session.idleTimeoutMs })
}

/** How often an active session's idle window is slid forward (and the session written). */
export function touchIntervalMs(idleTimeoutMs: number): number {
  return Math.min(60_000, Math.floor(idleTimeoutMs / 10))
}

/** Ends the session in the store and in the browser. */
export async function endSession(
  request: FastifyRequest,
  reply: { clearCookie(name: string, opts: object): unknown },
  config: Config,
): Promise<void> {
  // Same attributes as when set: browsers ignore a `__Host-` cookie update without Secure.
  reply.clearCookie(config.session.cookieName, { path: '/', httpOnly: true, sameSite: 'lax', secure: config.secureCookies })
  if (request.session && typeof request.session.destroy === 'function' && request.session.sessionId) {
    await request.session.destroy()
  }
}

/** The session's CSRF token for forms: made once per session, so page views do no token crypto. */
export function sessionCsrfToken(request: FastifyRequest, reply: { generateCsrf(): string }): string {
  const session = request.session
  session.csrfToken ??= reply.generateCsrf()
  return session.csrfToken
}

export interface SessionPluginOptions {
  config: Config
  store: AppSessionStore
}

async function sessionPlugin(app: FastifyInstance, { config, store }: SessionPluginOptions): Promise<void> {
  const resilient = new ResilientStore(store, app.log)
  app.decorate('sessionStore', resilient)

  if (!installFingerprint()) {
    app.log.warn('@fastify/session changed shape: its own (slower) session change check is used')
  }
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: new SessionIdSigner(config.session.secret),
    cookieName: config.session.cookieName,
    store: resilient,
    saveUninitialized: false,
    // Rolling would write the store on every page view; the idle window is slid below instead.
    rolling: false,
    cookie: {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: config.secureCookies,
      maxAge: config.session.idleTimeoutMs,
    },
  })

  const touchEvery = touchIntervalMs(config.session.idleTimeoutMs)
  // A callback hook, not an async one: on a page view it does no I/O, so it allocates no promise.
  app.addHook('onRequest', (request, reply, done) => {
    const session = request.session
    if (!session?.user) return done()
    const now = Date.now()
    if (session.absoluteExpiresAt !== undefined && session.absoluteExpiresAt <= now) {
      request.log.info('session reached its maximum lifetime')
      endSession(request, reply, config).then(() => done(), done)
      return
    }
    if (now - (session.lastSeenAt ?? 0) >= touchEvery) {
      session.lastSeenAt = now
      session.touch()
    }
    done()
  })
}

export default fp(sessionPlugin, { name: 'session' })
