/**
 * Server-side sessions: @fastify/cookie + @fastify/session over a bounded memory store or Redis, and
 * session-bound CSRF tokens (@fastify/csrf-protection). The browser holds only the signed session id.
 *
 * THE RULE the speed-ups below rest on: a session's values are replaced, never changed in place.
 * Sign-in, refresh and the idle slide assign new values; whatever a store reads back is deep-frozen,
 * so a change in place throws instead of being lost. That lets @fastify/session's change check
 * compare fields by identity (fingerprint.ts), the Redis store hand out the record it parsed last
 * (stores/redis.ts) and the memory store hand out its stored copy (stores/memory.ts).
 * test/session/rule.test.ts holds every store to it.
 *
 * The idle timeout slides with activity (the store is written at most once per touch interval, not on
 * every page view); the absolute lifetime is fixed at sign-in. Both are read from the injected clock.
 */
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import fastifySession from '@fastify/session'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { systemClock, type Clock } from '../lib/clock.js'
import type { Secrets } from '../lib/secrets.js'
import { installFingerprint } from './fingerprint.js'
import { SessionIdSigner } from './id-signer.js'
import { ResilientStore } from './resilient-store.js'
import type { AppSessionStore } from './stores/types.js'

declare module 'fastify' {
  interface Session {
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
    /** The session's idle window and absolute lifetime, in ms. */
    sessionLifetime: { readonly idleTimeoutMs: number; readonly maxAgeMs: number }
    /**
     * Starts a signed-in session: a new session id (no fixation), `values` set, the sign-in time, the
     * idle window and the absolute lifetime from now, and the session's CSRF token.
     */
    startSession(request: FastifyRequest, reply: FastifyReply, values: Partial<Session>): Promise<void>
    /** Ends the session in the store and in the browser. */
    endSession(request: FastifyRequest, reply: FastifyReply): Promise<void>
    /** The session's CSRF token for forms: made once per session, so page views do no token crypto. */
    sessionCsrfToken(request: FastifyRequest, reply: FastifyReply): string
  }
}

export interface SessionPluginOptions {
  /**
   * Signs the session cookie: at least 32 random characters, or several, newest first (a rotation):
   * the first signs, every one verifies, and a cookie signed with an older one is signed again.
   */
  readonly secret: Secrets
  /** https site: the cookie gets Secure and the `__Host-` prefix. */
  readonly secureCookies: boolean
  /** Default `__Host-sid` on https, `sid` otherwise. */
  readonly cookieName?: string
  readonly idleTimeoutMs: number
  readonly maxAgeMs: number
  readonly store: AppSessionStore
  readonly clock?: Clock
}

/** How often an active session's idle window is slid forward (and the session written). */
export function touchIntervalMs(idleTimeoutMs: number): number {
  return Math.min(60_000, Math.floor(idleTimeoutMs / 10))
}

async function sessionPlugin(app: FastifyInstance, options: SessionPluginOptions): Promise<void> {
  const clock = options.clock ?? systemClock
  const cookieName = options.cookieName ?? (options.secureCookies ? '__Host-sid' : 'sid')
  // Same attributes when set and when cleared: browsers ignore a `__Host-` cookie update without Secure.
  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: options.secureCookies }
  const resilient = new ResilientStore(options.store, app.log)
  app.decorate('sessionStore', resilient)
  app.decorate('sessionLifetime', { idleTimeoutMs: options.idleTimeoutMs, maxAgeMs: options.maxAgeMs })

  if (!installFingerprint()) {
    app.log.warn('@fastify/session changed shape: its own (slower) session change check is used')
  }
  // Every cookie set or cleared gets these attributes unless it says otherwise: @fastify/session clears
  // a stale session cookie with only its path, and a browser ignores a `__Host-` cookie cleared
  // without Secure (the stale cookie would then come back on every request).
  await app.register(fastifyCookie, { parseOptions: cookieOptions })
  await app.register(fastifySession, {
    secret: new SessionIdSigner(options.secret),
    cookieName,
    store: resilient,
    saveUninitialized: false,
    // Rolling would write the store on every page view; the idle window is slid below instead.
    rolling: false,
    cookie: { ...cookieOptions, maxAge: options.idleTimeoutMs },
  })
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session' })

  async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.clearCookie(cookieName, cookieOptions)
    if (request.session && typeof request.session.destroy === 'function' && request.session.sessionId) {
      await request.session.destroy()
    }
  }
  function sessionCsrfToken(request: FastifyRequest, reply: FastifyReply): string {
    const session = request.session
    session.csrfToken ??= reply.generateCsrf()
    return session.csrfToken
  }
  app.decorate('endSession', endSession)
  app.decorate('sessionCsrfToken', sessionCsrfToken)
  app.decorate('startSession', async function startSession(request: FastifyRequest, reply: FastifyReply, values: Partial<FastifyRequest['session']>) {
    await request.session.regenerate()
    const now = clock.now()
    Object.assign(request.session, values, { signedInAt: now, lastSeenAt: now, absoluteExpiresAt: now + options.maxAgeMs })
    sessionCsrfToken(request, reply)
  })

  const touchEvery = touchIntervalMs(options.idleTimeoutMs)
  // A callback hook, not an async one: on a page view it does no I/O, so it allocates no promise.
  app.addHook('onRequest', (request, reply, done) => {
    const session = request.session
    if (!session || session.signedInAt === undefined) {
      // A session cookie that names no live session (never issued, forged, ended) is not adopted: a new
      // id stands in its place (and the cookie is cleared). Noted, without the value.
      const sent = request.cookies[cookieName]
      if (sent !== undefined && session?.sessionId !== undefined && sent !== session.encryptedSessionId) {
        request.log.info('session cookie names no live session; ignored')
      }
      return done()
    }
    const now = clock.now()
    const absoluteEnded = session.absoluteExpiresAt !== undefined && session.absoluteExpiresAt <= now
    const idleEnded = session.lastSeenAt !== undefined && session.lastSeenAt + options.idleTimeoutMs <= now
    if (absoluteEnded || idleEnded) {
      request.log.info(absoluteEnded ? 'session reached its maximum lifetime' : 'session ended after its idle timeout')
      endSession(request, reply).then(() => done(), done)
      return
    }
    // A cookie signed with an older secret (a rotation is under way): writing the session sends the
    // cookie again, signed with the newest, so the session outlives the old secret's removal.
    if (now - (session.lastSeenAt ?? 0) >= touchEvery || request.cookies[cookieName] !== session.encryptedSessionId) {
      session.lastSeenAt = now
      session.touch()
    }
    done()
  })
}

export default fp(sessionPlugin, { name: 'cognito-session', fastify: '5.x' })
