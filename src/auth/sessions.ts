/**
 * Ending a person's sessions from another of their sessions (the devices page) or to keep them within
 * the per-person cap: each session's refresh token is revoked at Cognito (a failure is logged and does
 * not stop the rest) and its record deleted, so the browser holding it is anonymous from its next
 * request, on every instance. Log lines name sessions by a short hash of their id, never by the id.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { OwnedSession } from '../session/plugin.js'
import type { OidcProvider } from './discovery.js'
import { revokeRefreshToken } from './flow.js'
import { globalSignOut, type GlobalSignOutOutcome } from './global-sign-out.js'

/** What "sign out everywhere" did. */
export interface SignedOutEverywhere {
  /** Cognito's GlobalSignOut: the person's other apps of the pool signed out, or why not. */
  readonly cognito: GlobalSignOutOutcome
  /** How many other sessions of the person were ended here. */
  readonly ended: number
}

export interface SessionEnder {
  /**
   * Ends one other session of the request's person, named by its handle. False (and nothing done)
   * when the handle names none of their other sessions: ended already, the request's own, or someone
   * else's.
   */
  endOther(request: FastifyRequest, handle: string): Promise<boolean>
  /** Ends every other session of the request's person; resolves to how many were ended. */
  endOthers(request: FastifyRequest): Promise<number>
  /** Revokes the refresh tokens of sessions the session plugin has already ended (over the per-person cap), and logs each. */
  revokeEnded(request: FastifyRequest, sub: string, ended: readonly OwnedSession[]): Promise<void>
  /** Ends the request's own session (its refresh token revoked at Cognito first, unless `revokeToken` is false). */
  endCurrent(request: FastifyRequest, reply: FastifyReply, revokeToken?: boolean): Promise<void>
  /**
   * Signs the request's person out everywhere: Cognito's GlobalSignOut first (while this session's
   * access token is still good), then every other session here, then this one.
   */
  endEverywhere(request: FastifyRequest, reply: FastifyReply): Promise<SignedOutEverywhere>
  /** An administrator's kill switch: ends every session of `owner` (a `sub`); resolves to how many. */
  endAllOf(request: FastifyRequest, owner: string): Promise<number>
}

async function revoke(provider: OidcProvider, log: FastifyBaseLogger, refreshToken: string | undefined, ref: string | undefined): Promise<void> {
  if (!refreshToken) return
  try {
    await revokeRefreshToken(provider, refreshToken)
  } catch (error) {
    log.warn({ session: ref, error: { message: (error as Error).message } }, 'refresh token revocation failed; the session is ended anyway')
  }
}

export function sessionEnder(app: FastifyInstance, provider: OidcProvider): SessionEnder {
  async function end(request: FastifyRequest, owned: OwnedSession, from: string | undefined, revokeToken = true): Promise<void> {
    if (revokeToken) await revoke(provider, request.log, owned.session.tokens?.refreshToken, owned.ref)
    await app.personSessions.end(owned)
    request.log.info({ sub: request.session.user?.sub, session: owned.ref, from }, 'session ended from another device')
  }

  async function endCurrent(request: FastifyRequest, reply: FastifyReply, revokeToken = true): Promise<void> {
    if (revokeToken) await revoke(provider, request.log, request.session?.tokens?.refreshToken, undefined)
    await app.endSession(request, reply)
  }

  return {
    async endOther(request, handle) {
      const sessions = await app.personSessions.list(request)
      const current = sessions.find((owned) => owned.current)
      const target = sessions.find((owned) => !owned.current && owned.handle === handle)
      if (target === undefined) {
        request.log.info({ sub: request.session.user?.sub, from: current?.ref }, 'session not ended: the handle names none of this person\'s other sessions')
        return false
      }
      await end(request, target, current?.ref)
      return true
    },
    async endOthers(request) {
      const sessions = await app.personSessions.list(request)
      const current = sessions.find((owned) => owned.current)
      const others = sessions.filter((owned) => !owned.current)
      await Promise.all(others.map((owned) => end(request, owned, current?.ref)))
      request.log.info({ sub: request.session.user?.sub, from: current?.ref, count: others.length }, 'other sessions ended')
      return others.length
    },
    endCurrent,
    async endEverywhere(request, reply) {
      const sub = request.session.user?.sub
      const cognito = await globalSignOut(provider.settings.issuer, request.session.tokens, provider.settings.timeoutMs)
      // After a GlobalSignOut every refresh token of the person is refused already: no revocation calls.
      const revokeTokens = cognito.kind !== 'signed-out'
      const sessions = await app.personSessions.list(request)
      const current = sessions.find((owned) => owned.current)
      const others = sessions.filter((owned) => !owned.current)
      await Promise.all(others.map((owned) => end(request, owned, current?.ref, revokeTokens)))
      await endCurrent(request, reply, revokeTokens)
      const event = { sub, session: current?.ref, ended: others.length, cognito: cognito.kind, ...(cognito.kind === 'failed' ? { reason: cognito.reason } : {}) }
      if (cognito.kind === 'failed') request.log.warn(event, 'signed out everywhere here; Cognito\'s global sign-out failed')
      else request.log.info(event, 'signed out everywhere')
      return { cognito, ended: others.length }
    },
    async endAllOf(request, owner) {
      const sessions = await app.personSessions.listOf(owner, request)
      await Promise.all(
        sessions.map(async (owned) => {
          await revoke(provider, request.log, owned.session.tokens?.refreshToken, owned.ref)
          await app.personSessions.end(owned)
        }),
      )
      request.log.warn(
        { sub: request.session.user?.sub, person: owner, ended: sessions.length, sessions: sessions.map((owned) => owned.ref) },
        'an administrator ended every session of a person',
      )
      return sessions.length
    },
    async revokeEnded(request, sub, ended) {
      await Promise.all(
        ended.map(async (owned) => {
          await revoke(provider, request.log, owned.session.tokens?.refreshToken, owned.ref)
          request.log.info({ sub, session: owned.ref }, 'session ended: over the per-person session cap (least recently used)')
        }),
      )
    },
  }
}
