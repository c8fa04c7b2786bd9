/**
 * The pool's signing keys: one cache, one refetch policy, for ID tokens (at sign-in and refresh) and
 * for Bearer access tokens alike. jose does the cryptography (importJWK, then compactVerify/jwtVerify
 * with this cache as the key resolver); the cache decides when Cognito is asked:
 *
 * - the key set is kept for `maxAgeMs` (10 minutes), then fetched again on the next use;
 * - a token names its key (`kid`; Cognito always does) and that key must be an RSA signing key; a
 *   token without `kid` is verified only when the set holds exactly one key (a provider with a single
 *   key, OIDC conformance rp-id_token-kid-absent-single-jwks), never by trying several;
 * - a `kid` not in the set (Cognito rotated its keys) causes one refetch, unless the set was fetched
 *   less than `cooldownMs` ago (API_JWKS_REFETCH_COOLDOWN, 30 s): a run of tokens naming unknown
 *   keys cannot make the app hammer the JWKS endpoint, and a rotation is seen at once unless the set
 *   was fetched in the last few seconds;
 * - one download at a time (concurrent callers share it), its answer capped at 256 KiB;
 * - while the key set cannot be fetched (Cognito down, a 5xx), the keys already known keep verifying,
 *   past their 10 minutes, and the download is tried again at most once per cooldown; a token naming an
 *   unknown key still fails, and with no key set yet every use tries again.
 */
import { importJWK, type JWK, type JWSHeaderParameters } from 'jose'
import type { Clock } from '../lib/clock.js'
import { fetchFromCognito } from './cognito-fetch.js'
import { CognitoError, networkError } from './errors.js'

/** No key in the pool's set matches the token's header (after a refetch, when the cooldown allowed one). */
export class KeyNotFoundError extends Error {
  constructor(
    readonly reason: 'no-kid' | 'unknown-kid' | 'not-rs256',
    message: string,
  ) {
    super(message)
    this.name = 'KeyNotFoundError'
  }
}

export interface JwksCacheOptions {
  /** Where the keys are (the discovered jwks_uri); asked on each download. */
  readonly jwksUri: () => string | Promise<string>
  readonly timeoutMs: number
  /** Plain http allowed (the local Cognito only). */
  readonly allowInsecureRequests: boolean
  readonly clock: Clock
  /** Least time between the last download and one caused by an unknown kid. Default 30 s. */
  readonly cooldownMs?: number
  /** How long a downloaded set is used. Default 10 minutes. */
  readonly maxAgeMs?: number
}

type VerifyKey = Awaited<ReturnType<typeof importJWK>>

export class JwksCache {
  readonly #options: JwksCacheOptions
  #keys = new Map<string, JWK>()
  readonly #imported = new Map<string, VerifyKey>()
  #fetchedAt = Number.NEGATIVE_INFINITY
  /** When a download was last started, whatever came of it. */
  #attemptedAt = Number.NEGATIVE_INFINITY
  #pending: Promise<void> | undefined

  constructor(options: JwksCacheOptions) {
    this.#options = options
  }

  /** How many times the set was downloaded (for diagnostics). */
  downloads = 0

  /** The key for a JWS header; rejects with KeyNotFoundError, or a CognitoError when the set cannot be fetched. */
  readonly getKey = async (header: JWSHeaderParameters): Promise<VerifyKey> => {
    const named = typeof header.kid === 'string' && header.kid !== ''
    const now = this.#options.clock.now()
    const cold = this.#fetchedAt === Number.NEGATIVE_INFINITY
    const stale = now - this.#fetchedAt >= (this.#options.maxAgeMs ?? 600_000)
    // Without a kid there is no key to look for by fetching again.
    const known = !named || this.#keys.has(header.kid as string)
    if (cold || ((stale || !known) && now - this.#attemptedAt >= (this.#options.cooldownMs ?? 30_000))) {
      try {
        await this.#download()
      } catch (error) {
        // An outage: a key already known goes on verifying (its set is only old, not wrong).
        if (cold || !known) throw error
      }
    }
    let kid = header.kid as string
    if (!named) {
      const only = this.#keys.size === 1 ? [...this.#keys.keys()][0] : undefined
      if (only === undefined) throw new KeyNotFoundError('no-kid', 'the token names no signing key (kid) and the JWKS does not hold exactly one')
      kid = only
    }
    const jwk = this.#keys.get(kid)
    if (!jwk) throw new KeyNotFoundError('unknown-kid', 'the token is signed by a key that is not in the JWKS')
    if (header.alg !== 'RS256') throw new KeyNotFoundError('not-rs256', 'the token is not signed with RS256')
    let key = this.#imported.get(kid)
    if (!key) {
      key = await importJWK(jwk, 'RS256')
      this.#imported.set(kid, key)
    }
    return key
  }

  #download(): Promise<void> {
    if (!this.#pending) this.#attemptedAt = this.#options.clock.now()
    this.#pending ??= this.#fetchKeys()
      .then((keys) => {
        this.#keys = keys
        this.#imported.clear()
        this.#fetchedAt = this.#options.clock.now()
        this.downloads++
      })
      .finally(() => {
        this.#pending = undefined
      })
    return this.#pending
  }

  async #fetchKeys(): Promise<Map<string, JWK>> {
    const url = new URL(await this.#options.jwksUri())
    if (url.protocol !== 'https:' && !this.#options.allowInsecureRequests) {
      throw new CognitoError('bad-response', 'the jwks_uri is not https')
    }
    let body: unknown
    try {
      const response = await fetchFromCognito(url.href, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      })
      if (response.status !== 200) throw new CognitoError('bad-response', `the JWKS answered HTTP ${response.status}`)
      body = await response.json()
    } catch (error) {
      if (error instanceof SyntaxError) throw new CognitoError('bad-response', 'the JWKS is not JSON')
      throw networkError(error)
    }
    const keys = (body as { keys?: unknown })?.keys
    if (!Array.isArray(keys)) throw new CognitoError('bad-response', 'the JWKS has no keys')
    const byKid = new Map<string, JWK>()
    for (const jwk of keys as JWK[]) {
      if (typeof jwk !== 'object' || jwk === null || (jwk.kid !== undefined && typeof jwk.kid !== 'string')) continue
      if (jwk.kty !== 'RSA' || (jwk.use !== undefined && jwk.use !== 'sig') || (jwk.alg !== undefined && jwk.alg !== 'RS256')) continue
      // A key without kid is kept under '' (usable only by a token without kid, when it is the only key);
      // two keys under one kid: neither can be trusted to be the one meant.
      const kid = jwk.kid ?? ''
      if (byKid.has(kid)) byKid.set(kid, { kty: 'invalid' })
      else byKid.set(kid, jwk)
    }
    for (const [kid, jwk] of byKid) if (jwk.kty === 'invalid') byKid.delete(kid)
    return byKid
  }
}
