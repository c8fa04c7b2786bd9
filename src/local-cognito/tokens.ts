/** Minting of Cognito-shaped ID, access and refresh tokens. */
import { randomBytes, randomUUID } from 'node:crypto'
import { createSigningKey, type SigningKey } from './keys.js'
import { atHash, b64url, encodeSegment, signHs256, signRs256, unsigned } from './jwt.js'
import type { PoolState, UserRecord } from './state.js'
import type { LocalCognitoClient } from './types.js'

export interface GrantContext {
  client: LocalCognitoClient
  user: UserRecord
  scopes: string[]
  authTime: number
  originJti: string
  eventId: string
  nonce?: string
}

interface ScopeGroups {
  email: boolean
  profile: boolean
  phone: boolean
}

/** `openid` alone releases every readable attribute; otherwise only the groups asked for. */
export function scopeGroups(scopes: string[]): ScopeGroups {
  const email = scopes.includes('email')
  const profile = scopes.includes('profile')
  const phone = scopes.includes('phone')
  const all = !email && !profile && !phone
  return { email: all || email, profile: all || profile, phone: all || phone }
}

/** User attributes for the scopes; `stringBooleans` for userInfo, which returns "true"/"false". */
export function userAttributes(user: UserRecord, scopes: string[], stringBooleans: boolean): {
  verified: Record<string, unknown>
  values: Record<string, unknown>
} {
  const g = scopeGroups(scopes)
  const bool = (b: boolean): boolean | string => (stringBooleans ? String(b) : b)
  const verified: Record<string, unknown> = {}
  const values: Record<string, unknown> = {}
  const { phone_number_verified: phoneVerified, ...extra } = user.attributes
  if (g.email && user.email !== undefined) {
    verified['email_verified'] = bool(user.emailVerified)
    values['email'] = user.email
  }
  if (g.profile && user.name !== undefined) values['name'] = user.name
  if (g.phone && user.phoneNumber !== undefined) {
    values['phone_number'] = user.phoneNumber
    values['phone_number_verified'] = bool(phoneVerified === 'true')
  }
  if (g.profile) for (const [k, v] of Object.entries(extra)) values[k] = v
  return { verified, values }
}

export function mintAccessToken(state: PoolState, ctx: GrantContext): string {
  const iat = state.nowSec()
  const payload: Record<string, unknown> = { sub: ctx.user.sub }
  if (ctx.user.groups.length > 0) payload['cognito:groups'] = [...ctx.user.groups]
  Object.assign(payload, {
    iss: state.issuer,
    version: 2,
    client_id: ctx.client.clientId,
    origin_jti: ctx.originJti,
    event_id: ctx.eventId,
    token_use: 'access',
    scope: ctx.scopes.join(' '),
    auth_time: ctx.authTime,
    exp: iat + state.settings.accessTokenTtlSeconds,
    iat,
    jti: randomUUID(),
    username: ctx.user.username,
  })
  return signRs256({ kid: state.keys.access.kid, alg: 'RS256' }, payload, state.keys.access.privateKey)
}

/** client_credentials: no user; sub = client_id. */
export function mintClientAccessToken(state: PoolState, client: LocalCognitoClient, scopes: string[]): string {
  const iat = state.nowSec()
  const payload = {
    sub: client.clientId,
    token_use: 'access',
    scope: scopes.join(' '),
    auth_time: iat,
    iss: state.issuer,
    exp: iat + state.settings.accessTokenTtlSeconds,
    iat,
    version: 2,
    jti: randomUUID(),
    client_id: client.clientId,
  }
  return signRs256({ kid: state.keys.access.kid, alg: 'RS256' }, payload, state.keys.access.privateKey)
}

let unknownKey: Promise<SigningKey> | undefined

export async function mintIdToken(state: PoolState, ctx: GrantContext, accessToken: string): Promise<string> {
  const iat = state.nowSec()
  const { verified, values } = userAttributes(ctx.user, ctx.scopes, false)
  let payload: Record<string, unknown> = { at_hash: atHash(accessToken), sub: ctx.user.sub }
  if (ctx.user.groups.length > 0) payload['cognito:groups'] = [...ctx.user.groups]
  Object.assign(payload, verified, { iss: state.issuer, 'cognito:username': ctx.user.username })
  if (ctx.nonce !== undefined) payload['nonce'] = ctx.nonce
  Object.assign(payload, {
    origin_jti: ctx.originJti,
    aud: ctx.client.clientId,
    ...(ctx.user.identities ? { identities: ctx.user.identities.map((i) => ({ ...i })) } : {}),
    event_id: ctx.eventId,
    token_use: 'id',
    auth_time: ctx.authTime,
    exp: iat + state.settings.idTokenTtlSeconds,
    iat,
    jti: randomUUID(),
  }, values)

  const faults = state.faults
  if (faults.idTokenClaims) {
    payload = { ...payload }
    for (const [k, v] of Object.entries(faults.idTokenClaims)) {
      if (v === undefined) delete payload[k]
      else payload[k] = v
    }
  }
  const key = state.keys.id
  switch (faults.idTokenSigning) {
    case 'none':
      return unsigned(payload)
    case 'hs256-client-secret':
      return signHs256(headerFor(key.kid, 'HS256', faults.omitKid), payload, ctx.client.clientSecret ?? '')
    case 'unknown-key': {
      unknownKey ??= createSigningKey()
      const k = await unknownKey
      return signRs256(headerFor(k.kid, 'RS256', faults.omitKid), payload, k.privateKey)
    }
    case 'bad-signature': {
      // A real signature over other claims: valid base64url, the right length, and it does not verify.
      const signed = signRs256(headerFor(key.kid, 'RS256', faults.omitKid), payload, key.privateKey)
      const other = signRs256({ kid: key.kid, alg: 'RS256' }, { ...payload, jti: randomUUID() }, key.privateKey)
      return `${signed.slice(0, signed.lastIndexOf('.'))}${other.slice(other.lastIndexOf('.'))}`
    }
    default:
      return signRs256(headerFor(key.kid, 'RS256', faults.omitKid), payload, key.privateKey)
  }
}

function headerFor(kid: string, alg: string, omitKid: boolean | undefined): Record<string, unknown> {
  return omitKid ? { alg } : { kid, alg }
}

const REFRESH_HEADER = encodeSegment({ cty: 'JWT', enc: 'A256GCM', alg: 'RSA-OAEP' })

/** An opaque refresh token shaped like Cognito's JWE (five base64url parts). Only its lookup key matters. */
export function newRefreshTokenString(): string {
  return [REFRESH_HEADER, b64url(randomBytes(256)), b64url(randomBytes(12)), b64url(randomBytes(1200)), b64url(randomBytes(16))].join('.')
}
