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
 * A signed-in session belongs to its `owner` (the person's stable id, given to startSession): its
 * id carries the owner's tag (session-id.ts), the stores keep an index of each person's sessions,
 * `app.personSessions` lists and ends them, and startSession keeps each person within
 * `maxPerOwner` sessions by ending their least recently used ones.
 *
 * The idle timeout slides with activity (the store is written at most once per touch interval, not on
 * every page view); the absolute lifetime is fixed at sign-in. Both are read from the injected clock.
 */
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import fastifySession from '@fastify/session'
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify'
import fp from 'fastify-plugin'
import { systemClock, type Clock } from '../lib/clock.js'
import type { Secrets } from '../lib/secrets.js'
import { installFingerprint } from './fingerprint.js'
import { SessionIdSigner } from './id-signer.js'
import { ResilientStore } from './resilient-store.js'
import { sessionRef, SessionNames, randomSessionId } from './session-id.js'
import type { AppSessionStore } from './stores/types.js'

/** One of a person's sessions as `app.personSessions` lists it: named by its handle, never by its id. */
export interface OwnedSession {
  /** Names the session on pages and in forms (an HMAC of its id). */
  readonly handle: string
  /** A short hash of its id, for log lines. */
  readonly ref: string
  /** The session of the request that asked. */
  readonly current: boolean
  /** The record as stored (deep-frozen), tokens included: for the server's own use, never for a page. */
  readonly session: Session
}

/** A person's sessions, seen from one of them. */
export interface PersonSessions {
  /**
   * The live sessions of the request's person: the request's own first (`current`), then the others,
   * most recently active first; none when the request's session has no owner.
   */
  list(request: FastifyRequest): Promise<OwnedSession[]>
  /** The live sessions of `owner` (most recently active first); `request`'s own, if among them, is `current`. */
  listOf(owner: string, request?: FastifyRequest): Promise<OwnedSession[]>
  /** Deletes a listed session from the store: the browser holding it is anonymous from its next request, on every instance. */
  end(session: OwnedSession): Promise<void>
  /**
   * Remembers the person's other names (username, email) for as long as a session can live, so that
   * `ownerOf` finds them. The store keeps only an HMAC of each name.
   */
  rememberNames(owner: string, names: readonly (string | undefined)[]): Promise<void>
  /** The owner last remembered under `name` (case and surrounding spaces ignored), or undefined. */
  ownerOf(name: string): Promise<string | undefined>
}

/** The longest User-Agent kept in a session record. */
export const USER_AGENT_MAX = 256

declare module 'fastify' {
  interface Session {
    /** The person this session belongs to (the sign-in component gives the Cognito `sub`): the key of the per-person index. */
    owner?: string
    /** The browser's User-Agent at sign-in, at most USER_AGENT_MAX characters (for the list of a person's devices). */
    userAgent?: string
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
     * Starts a signed-in session: a new session id (no fixation; with `values.owner`, one that carries
     * the owner's tag), `values` set, the browser's User-Agent, the sign-in time, the idle window and
     * the absolute lifetime from now, and the session's CSRF token. With an owner, their least recently
     * used sessions beyond `maxPerOwner - 1` are ended first, and returned (so that the caller can revoke
     * what they held and say so).
     */
    startSession(request: FastifyRequest, reply: FastifyReply, values: Partial<Session>): Promise<OwnedSession[]>
    /** The sessions of the request's person: listed, and ended one by one. */
    personSessions: PersonSessions
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
  /** How many sessions one owner may hold; a sign-in beyond it ends their least recently used one. Default 20. */
  readonly maxPerOwner?: number
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
  const maxPerOwner = options.maxPerOwner ?? 20
  if (!Number.isInteger(maxPerOwner) || maxPerOwner < 1) throw new RangeError('maxPerOwner must be a positive integer')
  const names = new SessionNames(options.secret)
  /** The tag of the session a request's startSession is about to make (read by the id generator). */
  const tagFor = new WeakMap<FastifyRequest, string>()
  /** The ids behind listed sessions: a listed session carries its handle, not its id. */
  const idOf = new WeakMap<OwnedSession, string>()
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
    // Ids carry their owner's tag when startSession makes them; any other id is random only.
    idGenerator: (request?: FastifyRequest) => {
      const tag = request === undefined ? undefined : tagFor.get(request)
      return tag === undefined ? randomSessionId() : tag + randomSessionId()
    },
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
  async function sessionsOf(owner: string, currentId: string | undefined): Promise<OwnedSession[]> {
    const stored = await resilient.sessionsOf(owner, names.tags(owner))
    const listed = stored.map(({ id, session }) => {
      const owned: OwnedSession = Object.freeze({ handle: names.handle(id), ref: sessionRef(id), current: id === currentId, session })
      idOf.set(owned, id)
      return owned
    })
    return listed.sort((a, b) => Number(b.current) - Number(a.current) || lastActive(b.session) - lastActive(a.session))
  }

  const personSessions: PersonSessions = {
    async list(request) {
      const owner = request.session?.owner
      return typeof owner === 'string' ? sessionsOf(owner, request.session.sessionId) : []
    },
    listOf(owner, request) {
      return sessionsOf(owner, request?.session?.sessionId)
    },
    async end(owned) {
      const id = idOf.get(owned)
      if (id === undefined) throw new TypeError('not a session listed by personSessions')
      await resilient.remove(id)
    },
    async rememberNames(owner, given) {
      const stored = new Set<string>()
      for (const name of given) {
        if (name === undefined || name.trim() === '') continue
        const [newest] = names.personNames(name)
        if (newest !== undefined) stored.add(newest)
      }
      for (const name of stored) await resilient.setName(name, owner, options.maxAgeMs)
    },
    async ownerOf(name) {
      if (name.trim() === '') return undefined
      for (const candidate of names.personNames(name)) {
        const owner = await resilient.ownerOfName(candidate)
        if (owner !== undefined) return owner
      }
      return undefined
    },
  }
  app.decorate('personSessions', personSessions)

  app.decorate('startSession', async function startSession(request: FastifyRequest, reply: FastifyReply, values: Partial<FastifyRequest['session']>) {
    const owner = values.owner
    if (owner !== undefined) tagFor.set(request, names.tag(owner))
    try {
      await request.session.regenerate()
    } finally {
      tagFor.delete(request)
    }
    const now = clock.now()
    const userAgent = request.headers['user-agent']?.slice(0, USER_AGENT_MAX)
    Object.assign(request.session, { userAgent }, values, { signedInAt: now, lastSeenAt: now, absoluteExpiresAt: now + options.maxAgeMs })
    sessionCsrfToken(request, reply)
    if (owner === undefined) return []
    // Room for this one: the owner's least recently used sessions beyond the cap end now.
    const others = (await sessionsOf(owner, request.session.sessionId)).filter((owned) => !owned.current)
    const ended = others.slice(Math.max(0, maxPerOwner - 1))
    for (const owned of ended) await personSessions.end(owned)
    return ended
  })

  const touchEvery = touchIntervalMs(options.idleTimeoutMs)
  // Page views of one session that arrive together when its slide falls due all read the same record:
  // only the first slides (and writes) it; the others, on this instance, leave it to that one.
  const slides = new RecentSlides(touchEvery)
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
    const resign = request.cookies[cookieName] !== session.encryptedSessionId
    if (resign || (now - (session.lastSeenAt ?? 0) >= touchEvery && !slides.claim(session.sessionId, now))) {
      session.lastSeenAt = now
      session.touch()
    }
    done()
  })
}

/**
 * The sessions this instance slid within the last touch interval (bounded: the oldest are forgotten
 * first, and entries older than the interval go as new ones come).
 */
export class RecentSlides {
  static readonly MAX = 10_000
  readonly #at = new Map<string, number>()

  constructor(private readonly intervalMs: number) {}

  /** False (and remembered) for the first slide of `sessionId` in an interval; true when one is already under way. */
  claim(sessionId: string, now: number): boolean {
    const at = this.#at.get(sessionId)
    if (at !== undefined && now - at < this.intervalMs) return true
    this.#at.delete(sessionId)
    this.#at.set(sessionId, now)
    for (const [id, when] of this.#at) {
      if (this.#at.size <= RecentSlides.MAX && now - when < this.intervalMs) break
      this.#at.delete(id)
    }
    return false
  }

  get size(): number {
    return this.#at.size
  }
}

/** When a session was last active: the idle window's last slide (or its sign-in). */
function lastActive(session: Session): number {
  return session.lastSeenAt ?? session.signedInAt ?? 0
}

export default fp(sessionPlugin, { name: 'cognito-session', fastify: '5.x' })
