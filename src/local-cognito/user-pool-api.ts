/**
 * The user pool service API on the issuer's origin (`POST /`, `X-Amz-Target: AWSCognitoIdentityProviderService.<op>`,
 * `Content-Type: application/x-amz-json-1.1`): GlobalSignOut, authorized by the person's own access token.
 *
 * As Cognito: the token must verify, be an access token of this pool, unexpired and not revoked, and carry
 * the scope `aws.cognito.signin.user.admin`; then every refresh token of that user, for every app client, is
 * refused from now on, and the user pool API refuses access tokens issued before ("Access Token has been
 * revoked"). The access and ID tokens stay valid for anyone who checks them locally, until they expire.
 * Cognito's own sign-in session (the managed-login cookie) is not touched: that takes `/logout`.
 * Whether /oauth2/userInfo refuses such access tokens afterwards is UNCONFIRMED; here it keeps answering,
 * the tolerant reading for a client (the app asks userInfo only at sign-in).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { note } from './http-util.js'
import { decodeJwt, verifyRs256 } from './jwt.js'
import type { PoolState } from './state.js'

const TARGET_PREFIX = 'AWSCognitoIdentityProviderService.'
const AMZ_JSON = 'application/x-amz-json-1.1'
const ADMIN_SCOPE = 'aws.cognito.signin.user.admin'

/** A Cognito API error: HTTP 400 with `{"__type", "message"}`, as the service answers. */
function apiError(req: FastifyRequest, reply: FastifyReply, type: string, message: string): FastifyReply {
  note(req, { error: type })
  return reply
    .code(400)
    .header('content-type', AMZ_JSON)
    .header('x-amzn-errortype', `${type}:`)
    // A Buffer, so that no `; charset=utf-8` is added: the service answers the bare type.
    .send(Buffer.from(JSON.stringify({ __type: type, message })))
}

export function registerUserPoolApi(app: FastifyInstance, state: PoolState): void {
  app.post('/', async (req, reply) => {
    const target = req.headers['x-amz-target']
    const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined
    if (operation !== 'GlobalSignOut') return apiError(req, reply, 'UnknownOperationException', '')
    if (!String(req.headers['content-type'] ?? '').startsWith(AMZ_JSON)) {
      return apiError(req, reply, 'SerializationException', `Content-Type must be ${AMZ_JSON}`)
    }
    let body: unknown
    try {
      body = JSON.parse(typeof req.body === 'string' ? req.body : '')
    } catch {
      return apiError(req, reply, 'SerializationException', 'Body is not valid JSON')
    }
    const accessToken = (body as { AccessToken?: unknown } | null)?.AccessToken
    if (typeof accessToken !== 'string' || accessToken === '') {
      return apiError(req, reply, 'InvalidParameterException', "1 validation error detected: Value null at 'accessToken' failed to satisfy constraint: Member must not be null")
    }
    const jwt = decodeJwt(accessToken)
    const key = jwt ? state.findKey(jwt.header['kid']) : undefined
    if (!jwt || !key || !verifyRs256(jwt, key.publicKey)) return apiError(req, reply, 'NotAuthorizedException', 'Invalid Access Token')
    const claims = jwt.payload
    if (claims['token_use'] !== 'access' || claims['iss'] !== state.issuer) return apiError(req, reply, 'NotAuthorizedException', 'Invalid Access Token')
    if (typeof claims['exp'] !== 'number' || claims['exp'] <= state.nowSec()) return apiError(req, reply, 'NotAuthorizedException', 'Access Token has expired')
    const user = state.user(typeof claims['username'] === 'string' ? claims['username'] : undefined)
    if (!user || user.sub !== claims['sub']) return apiError(req, reply, 'UserNotFoundException', 'User does not exist.')
    if (state.isOriginRevoked(claims['origin_jti']) || state.isSignedOutGlobally(user.username, claims['iat'])) {
      return apiError(req, reply, 'NotAuthorizedException', 'Access Token has been revoked')
    }
    if (!user.enabled) return apiError(req, reply, 'NotAuthorizedException', 'User is disabled.')
    const scopes = typeof claims['scope'] === 'string' ? claims['scope'].split(' ') : []
    if (!scopes.includes(ADMIN_SCOPE)) return apiError(req, reply, 'NotAuthorizedException', 'Access Token does not have required scopes')
    state.signOutGlobally(user.username)
    // A Buffer, so that no `; charset=utf-8` is added: the service answers the bare type.
    return reply.code(200).header('content-type', AMZ_JSON).header('cache-control', 'no-store').send(Buffer.from('{}'))
  })
}
