/**
 * Verifies a Cognito access token offered as `Authorization: Bearer …`, offline: the signature against
 * the pool's keys (the one JWKS cache, jwks.ts), RS256 only, `iss`, `exp`, `token_use: "access"`,
 * `client_id` in an allow-list and an optional required scope. Offline means a revoked token or a
 * disabled user still passes until the token expires (Cognito access tokens live 5 minutes to 1 day).
 *
 * Errors never carry the token. This module does not use openid-client.
 */
import { errors, jwtVerify, type JWTPayload } from 'jose'
import type { Clock } from '../lib/clock.js'
import { CognitoError } from './errors.js'
import { KeyNotFoundError, type JwksCache } from './jwks.js'

export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable'

/** Why a Bearer token was refused, as RFC 6750 names it, with the HTTP status to answer. */
export class BearerError extends Error {
  constructor(
    readonly code: BearerErrorCode,
    readonly status: 400 | 401 | 403 | 503,
    readonly description: string,
    /** The scope that was missing (insufficient_scope only). */
    readonly scope?: string,
  ) {
    super(`${code}: ${description}`)
    this.name = 'BearerError'
  }
}

/** Who a valid access token speaks for. */
export interface BearerPrincipal {
  readonly sub: string
  /** The Cognito username; null for a client-credentials token (no user: `sub` is the client id). */
  readonly username: string | null
  readonly clientId: string
  readonly scopes: readonly string[]
  readonly groups: readonly string[]
}

export interface BearerVerifierOptions {
  /** The pool's issuer; `iss` must equal it. */
  readonly issuer: string
  /** `client_id` values whose tokens are accepted. */
  readonly allowedClientIds: readonly string[]
  /** A scope every token must carry; undefined = none. */
  readonly requiredScope?: string | undefined
  /** The pool's keys. */
  readonly jwks: JwksCache
  readonly clock: Clock
  /** Allowed clock difference with Cognito, in seconds (default 5). */
  readonly clockToleranceSeconds?: number
}

/** Longest token accepted before any parsing; Cognito access tokens are about 1 KB. */
export const MAX_TOKEN_LENGTH = 8 * 1024
/** RFC 6750 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * Extracts the token from an Authorization header. Returns undefined when there is no Bearer
 * credential at all (no header, or another scheme); throws invalid_request when it is malformed.
 */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^(\S+)(?:\s+(.*))?$/s.exec(header.trim())
  if (!match || match[1]?.toLowerCase() !== 'bearer') return undefined
  const token = (match[2] ?? '').trim()
  if (token === '' || !B64TOKEN.test(token)) {
    throw new BearerError('invalid_request', 400, 'The Authorization header must be "Bearer" followed by one access token')
  }
  return token
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  return []
}

/** Maps jose's verification errors to what the caller is told (never the token itself). */
function toBearerError(error: unknown): BearerError {
  if (error instanceof BearerError) return error
  if (error instanceof CognitoError) {
    return new BearerError('temporarily_unavailable', 503, 'The signing keys of the user pool cannot be fetched right now')
  }
  const invalid = (description: string): BearerError => new BearerError('invalid_token', 401, description)
  if (error instanceof errors.JWTExpired) return invalid('The access token has expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return invalid('The access token was not issued by this user pool')
    return invalid(`The access token's "${error.claim}" claim is not acceptable`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid('The access token is not signed with RS256')
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('The access token signature is not valid')
  if (error instanceof KeyNotFoundError) {
    if (error.reason === 'no-kid') return invalid('The access token has no key id')
    if (error.reason === 'not-rs256') return invalid('The access token is not signed with RS256')
    return invalid('The access token is signed with a key the user pool does not publish')
  }
  return invalid('The access token is malformed')
}

export class BearerVerifier {
  readonly #options: BearerVerifierOptions
  readonly #allowed: ReadonlySet<string>

  constructor(options: BearerVerifierOptions) {
    this.#options = options
    this.#allowed = new Set(options.allowedClientIds)
  }

  /** Verifies the token; resolves to its principal or rejects with a BearerError. */
  async verify(token: string): Promise<BearerPrincipal> {
    if (token.length > MAX_TOKEN_LENGTH) throw new BearerError('invalid_token', 401, 'The access token is malformed')
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, this.#options.jwks.getKey, {
        issuer: this.#options.issuer,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.#options.clockToleranceSeconds ?? 5,
        currentDate: new Date(this.#options.clock.now()),
      }))
    } catch (error) {
      throw toBearerError(error)
    }
    if (payload.token_use !== 'access') {
      throw new BearerError('invalid_token', 401, 'Only access tokens are accepted (this is not one)')
    }
    const clientId = payload.client_id
    if (typeof clientId !== 'string' || !this.#allowed.has(clientId)) {
      throw new BearerError('invalid_token', 401, 'The access token was issued to an app client this API does not accept')
    }
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : []
    const required = this.#options.requiredScope
    if (required !== undefined && !scopes.includes(required)) {
      throw new BearerError('insufficient_scope', 403, `The access token lacks the scope "${required}"`, required)
    }
    const sub = payload.sub as string
    const username = typeof payload.username === 'string' && payload.username !== '' ? payload.username : null
    return { sub, username, clientId, scopes, groups: stringList(payload['cognito:groups']) }
  }
}

/** The WWW-Authenticate value for a refusal (RFC 6750 §3); a bare challenge when no token was offered. */
export function bearerChallenge(error?: BearerError): string {
  if (!error) return 'Bearer'
  const quote = (value: string): string => value.replace(/[\\"]/g, '')
  let challenge = `Bearer error="${error.code}", error_description="${quote(error.description)}"`
  if (error.scope !== undefined) challenge += `, scope="${quote(error.scope)}"`
  return challenge
}
