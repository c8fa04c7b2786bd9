/** Validation of /oauth2/authorize parameters, shared by /login and /signup (which re-validate). */
import type { PoolState } from './state.js'
import type { LocalCognitoClient } from './types.js'
import { withParams } from './http-util.js'

export const STANDARD_SCOPES = ['openid', 'email', 'phone', 'profile', 'aws.cognito.signin.user.admin'] as const
const SCOPE_SYNTAX = /^[\x21\x23-\x5b\x5d-\x7e]+$/

export interface AuthorizeRequest {
  client: LocalCognitoClient
  redirectUri: string
  scopes: string[]
  state?: string
  nonce?: string
  codeChallenge?: string
  /** a simulated federated provider named by identity_provider (absent for COGNITO or none) */
  identityProvider?: string
}

export type AuthorizeCheck =
  | { kind: 'ok'; request: AuthorizeRequest }
  /** show the domain error page with this status */
  | { kind: 'page'; status: number; error: string; detail: string }
  /** 302 somewhere (the domain error page, or the client's redirect_uri with an error) */
  | { kind: 'redirect'; location: string; error: string }

/** True when the scope is standard or a custom scope declared by some app client (a resource server scope). */
function knownScope(state: PoolState, scope: string): boolean {
  if ((STANDARD_SCOPES as readonly string[]).includes(scope)) return true
  if (!scope.includes('/')) return false
  for (const c of state.clients.values()) if (c.allowedScopes.includes(scope)) return true
  return false
}

export type ScopeResult = { ok: true; scopes: string[] } | { ok: false }

/**
 * Requested scopes → granted scopes. Unknown or malformed → invalid; scopes the client doesn't allow are
 * ignored; omitted → all the client allows. email/phone/profile need openid, so they are dropped without it.
 */
export function grantScopes(state: PoolState, client: LocalCognitoClient, requested: string | undefined): ScopeResult {
  const allowed = client.allowedScopes
  let scopes: string[]
  if (requested === undefined || requested.trim() === '') {
    scopes = [...allowed]
  } else {
    const parts = requested.split(' ').filter((s) => s !== '')
    for (const s of parts) if (!SCOPE_SYNTAX.test(s) || !knownScope(state, s)) return { ok: false }
    scopes = [...new Set(parts)].filter((s) => allowed.includes(s))
  }
  if (!scopes.includes('openid')) scopes = scopes.filter((s) => s !== 'email' && s !== 'phone' && s !== 'profile')
  return { ok: true, scopes }
}

export function checkAuthorize(state: PoolState, q: Record<string, string>): AuthorizeCheck {
  const client = state.client(q['client_id'])
  if (!client) return { kind: 'page', status: 400, error: 'invalid_client', detail: 'Invalid client_id.' }
  const redirectUri = q['redirect_uri']
  if (client.callbackUrls.length === 0) {
    return { kind: 'redirect', location: `${state.origin}/error?error=Required+parameters+missing`, error: 'Required parameters missing' }
  }
  if (redirectUri === undefined || !client.callbackUrls.includes(redirectUri)) {
    const location = `${state.origin}/error?error=redirect_mismatch&client_id=${encodeURIComponent(client.clientId)}`
    return { kind: 'redirect', location, error: 'redirect_mismatch' }
  }
  const fail = (error: string, description?: string): AuthorizeCheck => ({
    kind: 'redirect',
    error,
    location: withParams(redirectUri, { error, error_description: description, state: q['state'] }),
  })
  const responseType = q['response_type']
  if (responseType === undefined || responseType === '') return fail('invalid_request')
  if (responseType !== 'code' && responseType !== 'token') return fail('unsupported_response_type')
  // Implicit (token) is not emulated; a client without the code flow is not allowed either.
  if (responseType !== 'code' || !client.allowedOAuthFlows.includes('code')) return fail('unauthorized_client')
  const method = q['code_challenge_method']
  const challenge = q['code_challenge']
  if (method !== undefined || challenge !== undefined) {
    if (method !== 'S256' || challenge === undefined || !/^[A-Za-z0-9._~-]{43,128}$/.test(challenge)) return fail('invalid_request')
  }
  const scope = grantScopes(state, client, q['scope'])
  if (!scope.ok) return fail('invalid_scope')
  const idp = q['identity_provider']
  const federated = idp !== undefined && state.settings.federatedProviders.includes(idp)
  if (idp !== undefined && idp !== 'COGNITO' && !federated) {
    return fail('invalid_request', `Identity provider ${idp} does not exist for this client.`)
  }
  if (q['idp_identifier'] !== undefined) return fail('invalid_request', 'Identity provider identifier is not configured.')
  const request: AuthorizeRequest = { client, redirectUri, scopes: scope.scopes }
  if (q['state'] !== undefined) request.state = q['state']
  if (q['nonce'] !== undefined) request.nonce = q['nonce']
  if (challenge !== undefined) request.codeChallenge = challenge
  if (federated && idp !== undefined) request.identityProvider = idp
  return { kind: 'ok', request }
}
