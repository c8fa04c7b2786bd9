/** Discovery document and JWKS under the issuer path. */
import type { FastifyInstance } from 'fastify'
import { sendJson } from './http-util.js'
import type { PoolState } from './state.js'

/** Discovery shape 1a (current, pool with a domain), keys in alphabetical order. */
export function discoveryDocument(state: PoolState): Record<string, unknown> {
  const d = state.origin
  return {
    authorization_endpoint: `${d}/oauth2/authorize`,
    end_session_endpoint: `${d}/logout`,
    id_token_signing_alg_values_supported: ['RS256'],
    issuer: state.issuer,
    jwks_uri: `${state.issuer}/.well-known/jwks.json`,
    response_types_supported: ['code', 'token'],
    revocation_endpoint: `${d}/oauth2/revoke`,
    scopes_supported: ['openid', 'email', 'phone', 'profile'],
    subject_types_supported: ['public'],
    token_endpoint: `${d}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    userinfo_endpoint: `${d}/oauth2/userInfo`,
  }
}

export function registerWellKnown(app: FastifyInstance, state: PoolState): void {
  const base = `/${state.settings.userPoolId}/.well-known`
  app.get(`${base}/openid-configuration`, async (_req, reply) => {
    let document = discoveryDocument(state)
    const changes = state.faults.discovery
    if (changes) {
      document = { ...document }
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) delete document[k]
        else document[k] = v
      }
    }
    return sendJson(reply, 200, document, { 'cache-control': 'max-age=3600' })
  })
  app.get(`${base}/jwks.json`, async (_req, reply) => {
    const only = state.faults.jwks
    let keys: object[] = [state.keys.id.jwk, state.keys.access.jwk]
    if (only === 'id-key-only') keys = [state.keys.id.jwk]
    if (only === 'id-key-only-without-kid') {
      const { kid: _kid, ...withoutKid } = state.keys.id.jwk
      keys = [withoutKid]
    }
    return sendJson(reply, 200, { keys }, { 'cache-control': 'max-age=3600' })
  })
}
