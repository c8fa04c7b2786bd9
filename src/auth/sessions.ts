/**
 * Ending a person's sessions from another of their sessions (the devices page) or to keep them within
 * the per-person cap: each session's refresh token is revoked at Cognito (a failure is logged and does
 * not stop the rest) and its record deleted, so the browser holding it is anonymous from its next
 * request, on every instance. Log lines name sessions by a short hash of their id, never by the id.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import type { OwnedSession } from '../session/plugin.js'
import type { OidcProvider } from './discovery.js'
import { revokeRefreshToken } from './flow.js'

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
}

async function revoke(provider: OidcProvider, log: FastifyBaseLogger, owned: OwnedSession): Promise<void> {
  try {
    const refreshToken = owned.session.tokens?.refreshToken
    if (refreshToken) await revokeRefreshToken(provider, refreshToken)
  } catch (error) {
    log.warn({ session: owned.ref, error: { message: (error as Error).message } }, 'refresh token revocation failed; the session is ended anyway')
  }
}

export function sessionEnder(app: FastifyInstance, provider: OidcProvider): SessionEnder {
  async function end(request: FastifyRequest, owned: OwnedSession, from: string | undefined): Promise<void> {
    await revoke(provider, request.log, owned)
    await app.personSessions.end(owned)
    request.log.info({ sub: request.session.user?.sub, session: owned.ref, from }, 'session ended from another device')
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
    async revokeEnded(request, sub, ended) {
      await Promise.all(
        ended.map(async (owned) => {
          await revoke(provider, request.log, owned)
          request.log.info({ sub, session: owned.ref }, 'session ended: over the per-person session cap (least recently used)')
        }),
      )
    },
  }
}
