/**
 * Verifies a Cognito access token offered as `Authorization: Bearer …`, offline: the signature against
 * the pool's JWKS (jose's remote key set: cached, refetched on an unknown `kid` at most once per
 * cooldown), RS256 only, `iss`, `exp`, `token_use: "access"`, `client_id` in an allow-list and an
 * optional required scope. Offline means a revoked token or a disabled user still passes until the
 * token expires (Cognito access tokens live 5 minutes to 1 day).
 *
 * Errors never carry the token. This module does not use openid-client.
 */
import { fetchBounded } from './bounded-fetch.js'
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'

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
  /** Where the keys are: the discovered `jwks_uri` (asked on each verification, so it can change once discovery runs). */
  readonly jwksUri: () => string
  /** Bound on a JWKS request. */
  readonly timeoutMs: number
  /** Least time between two JWKS fetches caused by an unknown `kid` (default 30 s). */
  readonly cooldownMs?: number
  /** How long fetched keys are used before they are fetched again (default 10 minutes). */
  readonly cacheMaxAgeMs?: number
  /** Allowed clock difference with Cognito, in seconds (default 5). */
  readonly clockToleranceSeconds?: number
}

/** Longest token accepted before any parsing; Cognito access tokens are about 1 KB. */
export const MAX_TOKEN_LENGTH = 8 * 1024
/** Cap on the JWKS response; Cognito's has two RSA keys (about 1 KB). */
const MAX_JWKS_BYTES = 64 * 1024
/** RFC 6750 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** Raised inside key resolution when the JWKS cannot be fetched; becomes a 503. */
class JwksUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the signing keys could not be fetched', { cause })
    this.name = 'JwksUnavailableError'
  }
}

/** An oversized JWKS answer is refused rather than read. */
const boundedFetch = (url: string, init: RequestInit): Promise<Response> => fetchBounded(url, init, MAX_JWKS_BYTES)

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
  if (error instanceof JwksUnavailableError) {
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
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('The access token is signed with a key the user pool does not publish')
  return invalid('The access token is malformed')
}

export class BearerVerifier {
  readonly #options: BearerVerifierOptions
  readonly #allowed: ReadonlySet<string>
  #keySet: { uri: string; get: ReturnType<typeof createRemoteJWKSet> } | undefined

  constructor(options: BearerVerifierOptions) {
    this.#options = options
    this.#allowed = new Set(options.allowedClientIds)
  }

  /** The remote key set for the current JWKS URI (one set, replaced if the URI changes). */
  #remote(): ReturnType<typeof createRemoteJWKSet> {
    const uri = this.#options.jwksUri()
    if (this.#keySet?.uri !== uri) {
      this.#keySet = {
        uri,
        get: createRemoteJWKSet(new URL(uri), {
          timeoutDuration: this.#options.timeoutMs,
          cooldownDuration: this.#options.cooldownMs ?? 30_000,
          cacheMaxAge: this.#options.cacheMaxAgeMs ?? 600_000,
          [customFetch]: boundedFetch,
        }),
      }
    }
    return this.#keySet.get
  }

  readonly #getKey: JWTVerifyGetKey = async (header, token) => {
    if (typeof header.kid !== 'string' || header.kid === '') {
      throw new BearerError('invalid_token', 401, 'The access token has no key id')
    }
    try {
      return await this.#remote()(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error
      throw new JwksUnavailableError(error)
    }
  }

  /** Verifies the token; resolves to its principal or rejects with a BearerError. */
  async verify(token: string): Promise<BearerPrincipal> {
    if (token.length > MAX_TOKEN_LENGTH) throw new BearerError('invalid_token', 401, 'The access token is malformed')
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, this.#getKey, {
        issuer: this.#options.issuer,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.#options.clockToleranceSeconds ?? 5,
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
