/**
 * The JSON API for scripts and other services, under /api. A caller is authorized either by the
 * session (same origin, a signed-in person) or by `Authorization: Bearer <Cognito access token>`,
 * verified offline by the sign-in component (app.cognito.verifyBearer). Every answer is JSON and `Cache-Control: no-store`: never an HTML
 * page, never a redirect to sign in, never the token echoed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BearerError, bearerChallenge, bearerTokenOf, SessionEndedError, SessionRenewalError, type User } from '../../auth/index.js'
import { SessionStoreUnavailableError } from '../../session/index.js'

/** What GET /api/me answers. Access tokens carry no profile attributes: email and name are null for Bearer callers. */
export interface Me {
  sub: string
  username: string | null
  email: string | null
  emailVerified: boolean | null
  name: string | null
  groups: readonly string[]
  authenticatedBy: 'session' | 'bearer'
  clientId?: string
  scopes?: readonly string[]
  /** Session callers only: when this session ends (ISO 8601 times). */
  session?: SessionTimes
}

/** When a session ends: after the idle window without activity, or at its absolute end, whichever is first. */
export interface SessionTimes {
  signedInAt: string | null
  /** The end of the idle window as it stands (it slides forward with activity, about once a minute). */
  idleExpiresAt: string | null
  /** The end of the session's fixed lifetime (SESSION_MAX_AGE from sign-in). */
  absoluteExpiresAt: string | null
  /** The earlier of the two. */
  expiresAt: string | null
}

function iso(at: number | undefined): string | null {
  return at === undefined || !Number.isFinite(at) ? null : new Date(at).toISOString()
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body)
}

/** 401/403 with the RFC 6750 challenge; no `error` when no credentials were offered at all. */
function refuse(reply: FastifyReply, error?: BearerError): FastifyReply {
  reply.header('www-authenticate', bearerChallenge(error))
  if (!error) {
    return sendJson(reply, 401, { error: 'unauthorized', error_description: 'Sign in, or send Authorization: Bearer <access token>' })
  }
  return sendJson(reply, error.status, { error: error.code, error_description: error.description })
}

function unavailable(reply: FastifyReply, description: string): FastifyReply {
  return sendJson(reply, 503, { error: 'temporarily_unavailable', error_description: description })
}

/**
 * The session counts only for same-origin requests: a browser that says the request comes from
 * another site (Sec-Fetch-Site) is not allowed to ride on the cookie. Scripts send no such header.
 */
function sessionAllowed(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site']
  return site === undefined || site === 'same-origin' || site === 'none'
}

export default async function apiRoutes(app: FastifyInstance): Promise<void> {
  async function viaBearer(request: FastifyRequest, reply: FastifyReply, token: string): Promise<FastifyReply> {
    try {
      const principal = await app.cognito.verifyBearer(token)
      const me: Me = {
        sub: principal.sub,
        username: principal.username,
        email: null,
        emailVerified: null,
        name: null,
        groups: principal.groups,
        authenticatedBy: 'bearer',
        clientId: principal.clientId,
        scopes: principal.scopes,
      }
      return sendJson(reply, 200, me)
    } catch (error) {
      if (!(error instanceof BearerError)) throw error
      if (error.status === 503) {
        request.log.warn({ reason: error.description }, 'Bearer token not verifiable: JWKS unavailable')
        return unavailable(reply, error.description)
      }
      request.log.info({ reason: error.code, detail: error.description }, 'Bearer token refused')
      return refuse(reply, error)
    }
  }

  async function viaSession(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!sessionAllowed(request)) return refuse(reply)
    try {
      if (!(await app.resumeSession(request, reply))) return refuse(reply)
    } catch (error) {
      if (error instanceof SessionEndedError) return refuse(reply)
      if (error instanceof SessionRenewalError) {
        return unavailable(reply, 'The session needs renewing and Cognito cannot be reached right now')
      }
      throw error
    }
    const user = request.session.user as User
    const { signedInAt, lastSeenAt, absoluteExpiresAt } = request.session
    const idleExpiresAt = lastSeenAt === undefined ? undefined : lastSeenAt + app.sessionLifetime.idleTimeoutMs
    const ends = [idleExpiresAt, absoluteExpiresAt].filter((at): at is number => at !== undefined)
    const me: Me = {
      sub: user.sub,
      username: user.username,
      email: user.email ?? null,
      emailVerified: user.emailVerified ?? null,
      name: user.name ?? null,
      groups: user.groups,
      authenticatedBy: 'session',
      session: {
        signedInAt: iso(signedInAt),
        idleExpiresAt: iso(idleExpiresAt),
        absoluteExpiresAt: iso(absoluteExpiresAt),
        expiresAt: iso(ends.length === 0 ? undefined : Math.min(...ends)),
      },
    }
    return sendJson(reply, 200, me)
  }

  await app.register(
    async function api(scope) {
      // JSON for every error and every unknown path under /api: never the site's HTML pages.
      scope.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
        if (error instanceof SessionStoreUnavailableError) {
          return unavailable(reply, 'The session cannot be read right now')
        }
        const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
        if (status >= 500) request.log.error({ error: { type: error.name, message: error.message } }, 'API request failed')
        return sendJson(reply, status, {
          error: status >= 500 ? 'server_error' : 'invalid_request',
          error_description: status >= 500 ? 'Something went wrong on our side' : 'The request could not be understood',
        })
      })
      scope.setNotFoundHandler(async (_request, reply) =>
        sendJson(reply, 404, { error: 'not_found', error_description: 'There is no API endpoint at this address' }),
      )

      scope.get('/me', async (request, reply) => {
        let token: string | undefined
        try {
          token = bearerTokenOf(request.headers.authorization)
        } catch (error) {
          if (error instanceof BearerError) return refuse(reply, error)
          throw error
        }
        if (token !== undefined) return viaBearer(request, reply, token)
        if (request.headers.authorization !== undefined) {
          // Another scheme (Basic, …): no Bearer credentials were offered, and the session is not used.
          return refuse(reply)
        }
        return viaSession(request, reply)
      })
    },
    { prefix: '/api' },
  )
}
