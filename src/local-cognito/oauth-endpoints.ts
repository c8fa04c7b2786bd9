/** /oauth2/token, /oauth2/userInfo and /oauth2/revoke. */
import { createHash, randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { authenticateClient } from './client-auth.js'
import { JSON_TYPE, isForm, note, sendJson, stringRecord } from './http-util.js'
import { decodeJwt, verifyRs256 } from './jwt.js'
import type { PoolState } from './state.js'
import {
  mintAccessToken,
  mintClientAccessToken,
  mintIdToken,
  newRefreshTokenString,
  userAttributes,
  type GrantContext,
} from './tokens.js'
import type { LocalCognitoClient } from './types.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const USERINFO_BAD_REQUEST = 'Bad OAuth2 request at UserInfo Endpoint'
const USERINFO_BAD_TOKEN = 'Access token is expired, disabled, or deleted, or the user has globally signed out.'

/**
 * An endpoint's switched-on fault: waits its delay, then answers its status and raw body. True when it
 * answered (a boolean, not the reply: a Fastify reply is thenable, and awaiting it waits for the send).
 */
async function answerFault(
  req: FastifyRequest,
  reply: FastifyReply,
  fault: { status?: number; body?: string; delayMs?: number } | undefined,
  headers: Record<string, string> = {},
): Promise<boolean> {
  if (fault?.delayMs) await sleep(fault.delayMs)
  if (!fault || (fault.status === undefined && fault.body === undefined)) return false
  note(req, { error: 'fault' })
  void reply
    .code(fault.status ?? 200)
    .header('content-type', JSON_TYPE)
    .header('cache-control', 'no-store')
    .headers(headers)
    .send(fault.body ?? '')
  return true
}

export function registerOAuthEndpoints(app: FastifyInstance, state: PoolState): void {
  function tokenError(req: FastifyRequest, reply: FastifyReply, error: string, description?: string, status = 400): FastifyReply {
    note(req, { error })
    return sendJson(reply, status, description === undefined ? { error } : { error, error_description: description })
  }

  async function tokenResponse(ctx: GrantContext, refreshToken: string | undefined): Promise<Record<string, unknown>> {
    const accessToken = mintAccessToken(state, ctx)
    const body: Record<string, unknown> = {}
    if (ctx.scopes.includes('openid')) body['id_token'] = await mintIdToken(state, ctx, accessToken)
    body['access_token'] = accessToken
    if (refreshToken !== undefined) body['refresh_token'] = refreshToken
    body['expires_in'] = state.settings.accessTokenTtlSeconds
    body['token_type'] = 'Bearer'
    return body
  }

  function storeRefreshToken(client: LocalCognitoClient, username: string, scopes: string[], authTime: number, originJti: string): string {
    const token = newRefreshTokenString()
    state.refreshTokens.set(token, {
      clientId: client.clientId,
      username,
      scopes,
      authTime,
      originJti,
      expiresAt: state.nowMs() + state.settings.refreshTokenTtlSeconds * 1000,
      revoked: false,
    })
    return token
  }

  app.get('/oauth2/token', async (_req, reply) => reply.code(405).send(''))
  app.get('/oauth2/revoke', async (_req, reply) => reply.code(405).send(''))

  app.post('/oauth2/token', async (req, reply) => {
    if (await answerFault(req, reply, state.faults.tokenEndpoint, { 'access-control-allow-origin': '*' })) return reply
    if (!isForm(req)) return tokenError(req, reply, 'invalid_request')
    const form = stringRecord(req.body)
    const grantType = form['grant_type']
    if (grantType !== undefined && /^[\w:.-]{1,80}$/.test(grantType)) note(req, { grantType })
    if (!grantType) return tokenError(req, reply, 'invalid_request')
    const auth = authenticateClient(state, req, form)
    if (auth.method) note(req, { clientAuth: auth.method })
    if (!auth.ok) return tokenError(req, reply, 'invalid_client')
    const client = auth.client

    switch (grantType) {
      case 'authorization_code': {
        const code = form['code']
        if (!code) return tokenError(req, reply, 'invalid_request')
        if (!client.allowedOAuthFlows.includes('code')) return tokenError(req, reply, 'unauthorized_client')
        const rec = state.codes.get(code)
        if (!rec) return tokenError(req, reply, 'invalid_grant')
        if (rec.used) {
          // Replay: per the OAuth security BCP, also revoke what the code already produced.
          if (rec.originJti) state.revokeOrigin(rec.originJti)
          return tokenError(req, reply, 'invalid_grant')
        }
        if (rec.clientId !== client.clientId) return tokenError(req, reply, 'invalid_grant')
        if (rec.expiresAt <= state.nowMs()) {
          state.codes.delete(code)
          return tokenError(req, reply, 'invalid_grant')
        }
        if (form['redirect_uri'] !== rec.redirectUri) return tokenError(req, reply, 'unauthorized_client', 'invalid_redirect')
        const verifier = form['code_verifier']
        if (rec.codeChallenge !== undefined) {
          if (!verifier) return tokenError(req, reply, 'invalid_grant')
          const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url')
          if (computed !== rec.codeChallenge) return tokenError(req, reply, 'invalid_grant')
        } else if (verifier !== undefined) {
          // PKCE downgrade: a verifier for a code issued without a challenge.
          return tokenError(req, reply, 'invalid_grant')
        }
        const user = state.user(rec.username)
        if (!user || !user.enabled) return tokenError(req, reply, 'invalid_grant')
        rec.used = true
        const originJti = randomUUID()
        rec.originJti = originJti
        const ctx: GrantContext = {
          client,
          user,
          scopes: rec.scopes,
          authTime: rec.authTime,
          originJti,
          eventId: randomUUID(),
          ...(rec.nonce !== undefined ? { nonce: rec.nonce } : {}),
        }
        const refreshToken = storeRefreshToken(client, user.username, rec.scopes, rec.authTime, originJti)
        const body = await tokenResponse(ctx, refreshToken)
        state.countGrant(grantType)
        return sendJson(reply, 200, body)
      }
      case 'refresh_token': {
        const token = form['refresh_token']
        if (!token) return tokenError(req, reply, 'invalid_request')
        if (!client.allowedOAuthFlows.includes('code')) return tokenError(req, reply, 'unauthorized_client')
        if (state.faults.refreshRefused) return tokenError(req, reply, 'invalid_grant', 'Invalid Refresh Token')
        const rec = state.refreshTokens.get(token)
        if (!rec || rec.clientId !== client.clientId || state.isRefreshTokenRevoked(token) || rec.expiresAt <= state.nowMs()) {
          return tokenError(req, reply, 'invalid_grant', 'Invalid Refresh Token')
        }
        const user = state.user(rec.username)
        if (!user || !user.enabled) return tokenError(req, reply, 'invalid_grant', 'User is disabled.')
        const ctx: GrantContext = { client, user, scopes: rec.scopes, authTime: rec.authTime, originJti: rec.originJti, eventId: randomUUID() }
        let rotated: string | undefined
        const rotation = client.refreshTokenRotation ?? state.settings.refreshTokenRotation
        if (rotation) {
          rotated = storeRefreshToken(client, user.username, rec.scopes, rec.authTime, rec.originJti)
          // The old token dies now, or after the grace period (a retry with it still gets tokens).
          const grace = typeof rotation === 'object' ? rotation.graceSeconds * 1000 : 0
          if (grace === 0) rec.revoked = true
          else if (rec.replacedAt === undefined) {
            rec.replacedAt = state.nowMs()
            rec.graceUntil = rec.replacedAt + grace
          }
        }
        const body = await tokenResponse(ctx, rotated)
        state.countGrant(grantType)
        return sendJson(reply, 200, body)
      }
      case 'client_credentials': {
        if (!client.allowedOAuthFlows.includes('client_credentials') || client.clientSecret === undefined) {
          return tokenError(req, reply, 'unauthorized_client')
        }
        const custom = client.allowedScopes.filter((s) => s.includes('/'))
        const requested = (form['scope'] ?? '').split(' ').filter((s) => s !== '')
        const scopes = requested.length === 0 ? custom : [...new Set(requested)]
        if (scopes.length === 0 || scopes.some((s) => !custom.includes(s))) return tokenError(req, reply, 'invalid_scope')
        const body = { access_token: mintClientAccessToken(state, client, scopes), expires_in: state.settings.accessTokenTtlSeconds, token_type: 'Bearer' }
        state.countGrant(grantType)
        return sendJson(reply, 200, body)
      }
      default:
        return tokenError(req, reply, 'unsupported_grant_type')
    }
  })

  const userInfo = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (await answerFault(req, reply, state.faults.userinfoEndpoint)) return reply
    const headers = {
      'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
      'x-amz-cognito-request-id': randomUUID(),
    }
    const fail = (status: number, error: string, description: string): FastifyReply => {
      note(req, { error })
      return sendJson(reply, status, { error, error_description: description }, {
        ...headers,
        'www-authenticate': `Bearer error="${error}", error_description="${description}"`,
      })
    }
    const auth = req.headers.authorization
    const m = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null
    if (!m?.[1]) return fail(400, 'invalid_request', USERINFO_BAD_REQUEST)
    const bad = (): FastifyReply => fail(401, 'invalid_token', USERINFO_BAD_TOKEN)
    const jwt = decodeJwt(m[1])
    if (!jwt) return bad()
    const key = state.findKey(jwt.header['kid'])
    if (!key || !verifyRs256(jwt, key.publicKey)) return bad()
    const p = jwt.payload
    if (p['token_use'] !== 'access' || p['iss'] !== state.issuer) return bad()
    if (typeof p['exp'] !== 'number' || p['exp'] <= state.nowSec()) return bad()
    if (state.isOriginRevoked(p['origin_jti'])) return bad()
    const scopes = typeof p['scope'] === 'string' ? p['scope'].split(' ') : []
    const user = state.user(typeof p['username'] === 'string' ? p['username'] : undefined)
    if (!user || !user.enabled || user.sub !== p['sub']) return bad()
    if (!scopes.includes('openid')) return bad()
    const { verified, values } = userAttributes(user, scopes, true)
    const body: Record<string, unknown> = { sub: state.faults.userinfoSub ?? user.sub }
    // Like Cognito, userInfo gives the identities attribute as a JSON string (the ID token has the array).
    if (user.identities) body['identities'] = JSON.stringify(user.identities)
    Object.assign(body, verified, values, { username: user.username })
    return sendJson(reply, 200, body, headers)
  }
  for (const path of ['/oauth2/userInfo', '/oauth2/userinfo']) {
    app.get(path, userInfo)
    app.post(path, userInfo)
  }

  app.post('/oauth2/revoke', async (req, reply) => {
    const cors = { 'access-control-allow-origin': '*' }
    if (!isForm(req)) return tokenError(req, reply, 'invalid_request')
    const form = stringRecord(req.body)
    const auth = authenticateClient(state, req, form)
    if (auth.method) note(req, { clientAuth: auth.method })
    if (!auth.ok) return tokenError(req, reply, 'invalid_client', undefined, 401)
    const token = form['token']
    if (!token) return tokenError(req, reply, 'invalid_request')
    if (decodeJwt(token)) return tokenError(req, reply, 'unsupported_token_type')
    const rec = state.refreshTokens.get(token)
    // Unknown, already revoked, or another client's token: 200 and nothing happens.
    if (rec && rec.clientId === auth.client.clientId) state.revokeOrigin(rec.originJti)
    return reply.code(200).headers(cors).send('')
  })
}
