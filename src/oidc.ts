/**
 * The only module that talks to openid-client: discovery, the authorization code flow, refresh,
 * revocation and Cognito's logout URL. Small functions over one `Configuration`.
 */
import { timingSafeEqual } from 'node:crypto'
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose'
import * as client from 'openid-client'
import { fetchBounded, ResponseTooLargeError } from './bounded-fetch.js'
import type { CognitoSettings } from './config.js'
import { CognitoError, SignInError } from './errors.js'
import { toUser, type User } from './user.js'

export interface OidcSettings extends CognitoSettings {
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
}

/** Tokens as kept in the server-side session. Never rendered, logged or sent to the browser. */
export interface TokenSet {
  readonly idToken: string
  readonly accessToken: string
  readonly refreshToken: string | undefined
  /** Epoch ms at which the access token expires. */
  readonly accessExpiresAt: number
}

/** What /login remembers, in an encrypted cookie, until the callback. */
export interface LoginTransaction {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly returnTo: string
}

export interface SignedIn {
  readonly user: User
  readonly tokens: TokenSet
}

interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}

/** Cap on any response body from Cognito; its documents are a few kilobytes. */
export const MAX_RESPONSE_BYTES = 256 * 1024

async function fetchFromCognito(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchBounded(url, init, MAX_RESPONSE_BYTES)
  } catch (error) {
    if (error instanceof ResponseTooLargeError) throw new CognitoError('too-large', error.message)
    throw error
  }
}

const boundedFetch: client.CustomFetch = (url, options) => fetchFromCognito(url, options as RequestInit)

/** Accepted clock difference for the ID token's `iat` (openid-client checks exp, not a future iat). */
export const MAX_CLOCK_SKEW_SECONDS = 120
/** How long the JWKS is trusted before it is fetched again. */
const JWKS_MAX_AGE_MS = 10 * 60_000
/** After a refetch still lacks a kid, that kid does not trigger another refetch for this long. */
const JWKS_MISS_COOLDOWN_MS = 60_000

/**
 * The pool's signing keys, cached. An unknown `kid` (Cognito rotated its keys) triggers one refetch;
 * a kid still unknown after that is remembered for a minute, so a run of bad tokens cannot make the
 * app hammer the JWKS endpoint. (openid-client's own cache refuses to refetch within 60 s of the
 * previous download, which turns a key rotation into a minute of failed sign-ins.)
 */
class JwksCache {
  #keys: JWK[] | undefined
  #fetchedAt = 0
  #pending: Promise<JWK[]> | undefined
  readonly #missing = new Map<string, number>()

  constructor(private readonly download: () => Promise<JWK[]>) {}

  async #refresh(): Promise<JWK[]> {
    this.#pending ??= this.download()
      .then((keys) => {
        this.#keys = keys
        this.#fetchedAt = Date.now()
        return keys
      })
      .finally(() => {
        this.#pending = undefined
      })
    return this.#pending
  }

  /** The one key that may have signed a token with this header; throws when there is none or several. */
  async keyFor(header: { alg?: string; kid?: string }): Promise<JWK> {
    let keys = this.#keys
    let fresh = false
    if (!keys || Date.now() - this.#fetchedAt >= JWKS_MAX_AGE_MS) {
      keys = await this.#refresh()
      fresh = true
    }
    let candidates = selectKeys(keys, header)
    const { kid } = header
    if (candidates.length === 0 && kid !== undefined && !fresh) {
      const missedAt = this.#missing.get(kid)
      if (missedAt === undefined || Date.now() - missedAt >= JWKS_MISS_COOLDOWN_MS) {
        candidates = selectKeys(await this.#refresh(), header)
      }
    }
    if (candidates.length === 0 && kid !== undefined) {
      if (this.#missing.size >= 100) this.#missing.clear()
      this.#missing.set(kid, Date.now())
    }
    if (candidates.length !== 1) {
      throw new CognitoError(
        'invalid-response',
        candidates.length === 0
          ? 'the ID token is signed by a key that is not in the JWKS'
          : 'the ID token names no kid and the JWKS holds several keys',
      )
    }
    return candidates[0] as JWK
  }
}

function selectKeys(keys: readonly JWK[], header: { alg?: string; kid?: string }): JWK[] {
  return keys.filter(
    (jwk) =>
      jwk.kty === 'RSA' &&
      (header.kid === undefined || jwk.kid === header.kid) &&
      (jwk.alg === undefined || jwk.alg === header.alg) &&
      (jwk.use === undefined || jwk.use === 'sig'),
  )
}

/**
 * Holds the discovered Configuration. Discovery runs once (single-flight); while Cognito cannot be
 * reached it is retried in the background with backoff, so the app starts and serves public pages.
 */
export class OidcProvider {
  #configuration: client.Configuration | undefined
  #pending: Promise<client.Configuration> | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #closed = false
  #lastError: unknown
  #jwks: JwksCache | undefined

  constructor(
    readonly settings: OidcSettings,
    private readonly log: Logger,
  ) {}

  get configuration(): client.Configuration | undefined {
    return this.#configuration
  }

  get isReady(): boolean {
    return this.#configuration !== undefined
  }

  /** Returns the Configuration, discovering it first if needed. Throws CognitoError when unreachable. */
  async getConfiguration(): Promise<client.Configuration> {
    if (this.#configuration) return this.#configuration
    this.#pending ??= this.#discover().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  /** Starts discovery now and keeps retrying with capped exponential backoff until it succeeds. */
  startDiscovery(initialDelayMs = 500, maxDelayMs = 30_000): void {
    const attempt = (delay: number): void => {
      if (this.#closed || this.#configuration) return
      this.getConfiguration().catch(() => {
        if (this.#closed) return
        this.log.warn(
          { retryInMs: delay, reason: describe(this.#lastError) },
          'Cognito discovery failed; retrying',
        )
        this.#retryTimer = setTimeout(() => attempt(Math.min(delay * 2, maxDelayMs)), delay)
        this.#retryTimer.unref()
      })
    }
    attempt(initialDelayMs)
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#retryTimer)
  }

  /**
   * Verifies the ID token's RS256 signature against the pool's JWKS (Cognito signs ID tokens with
   * RS256 only). openid-client has already checked the claims; this proves who issued them.
   */
  async verifyIdTokenSignature(configuration: client.Configuration, idToken: string): Promise<void> {
    let header: { alg?: string; kid?: string }
    try {
      header = decodeProtectedHeader(idToken)
    } catch {
      throw new CognitoError('invalid-response', 'the ID token is not a JWS')
    }
    if (header.alg !== 'RS256') throw new CognitoError('invalid-response', 'the ID token is not signed with RS256')
    this.#jwks ??= new JwksCache(() => this.#downloadJwks(configuration))
    const jwk = await this.#jwks.keyFor(header)
    try {
      await compactVerify(idToken, await importJWK(jwk, 'RS256'), { algorithms: ['RS256'] })
    } catch {
      throw new CognitoError('invalid-response', 'the ID token signature does not verify')
    }
  }

  async #downloadJwks(configuration: client.Configuration): Promise<JWK[]> {
    const uri = configuration.serverMetadata().jwks_uri
    if (!uri) throw new CognitoError('bad-response', 'discovery names no jwks_uri')
    const url = new URL(uri)
    if (url.protocol !== 'https:' && !this.settings.allowInsecureRequests) {
      throw new CognitoError('bad-response', 'the jwks_uri is not https')
    }
    let body: unknown
    try {
      const response = await fetchFromCognito(url.href, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      })
      if (response.status !== 200) throw new CognitoError('bad-response', `the JWKS answered HTTP ${response.status}`)
      body = await response.json()
    } catch (error) {
      throw toCognitoError(error)
    }
    const keys = (body as { keys?: unknown })?.keys
    if (!Array.isArray(keys)) throw new CognitoError('bad-response', 'the JWKS has no keys')
    return keys.filter((k): k is JWK => typeof k === 'object' && k !== null)
  }

  async #discover(): Promise<client.Configuration> {
    const { settings } = this
    // The ID token's signature is verified in verifyIdTokenSignature (rotation-friendly JWKS cache),
    // not by openid-client's enableNonRepudiationChecks.
    const execute: Array<(config: client.Configuration) => void> = []
    if (settings.allowInsecureRequests) execute.push(client.allowInsecureRequests)
    try {
      const configuration = await client.discovery(
        new URL(settings.issuer),
        settings.clientId,
        undefined,
        // Cognito documents client_secret_basic; openid-client would otherwise pick post.
        client.ClientSecretBasic(settings.clientSecret),
        { execute, timeout: Math.max(1, Math.ceil(settings.timeoutMs / 1000)), [client.customFetch]: boundedFetch },
      )
      configuration.timeout = settings.timeoutMs / 1000
      this.#configuration = configuration
      this.#lastError = undefined
      this.log.info({ issuer: settings.issuer }, 'Cognito discovery loaded')
      return configuration
    } catch (error) {
      this.#lastError = error
      throw toCognitoError(error)
    }
  }
}

/** Builds the authorization URL with fresh PKCE (S256), state and nonce. */
export async function startLogin(
  provider: OidcProvider,
  options: { returnTo: string; signUp?: boolean; identityProvider?: string },
): Promise<{ url: URL; transaction: LoginTransaction }> {
  const configuration = await provider.getConfiguration()
  const codeVerifier = client.randomPKCECodeVerifier()
  const transaction: LoginTransaction = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier,
    returnTo: options.returnTo,
  }
  const parameters: Record<string, string> = {
    redirect_uri: provider.settings.redirectUri,
    scope: provider.settings.scopes.join(' '),
    // Cognito supports S256 but does not advertise it in discovery: always send it.
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state: transaction.state,
    nonce: transaction.nonce,
  }
  if (options.identityProvider) parameters.identity_provider = options.identityProvider
  let url = client.buildAuthorizationUrl(configuration, parameters)
  if (options.signUp) {
    // The hosted UI's sign-up page takes the same parameters as /oauth2/authorize, on the same domain.
    const signUp = new URL('/signup', url)
    signUp.search = url.search
    url = signUp
  }
  return { url, transaction }
}

/** Refuses an ID token issued in the future (beyond a small clock skew). */
function checkIssuedAt(claims: client.IDToken): void {
  if (typeof claims.iat !== 'number' || claims.iat > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
    throw new CognitoError('invalid-response', 'the ID token was issued in the future')
  }
}

/** Compares two strings in constant time (for the OAuth state). */
export function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

/**
 * Completes the sign-in: checks state (constant time), exchanges the code with the client secret and
 * the PKCE verifier, lets openid-client verify the ID token (signature, iss, aud, exp, iat, nonce),
 * then fetches userInfo for the freshest attributes.
 */
export async function finishLogin(
  provider: OidcProvider,
  query: string,
  transaction: LoginTransaction,
): Promise<SignedIn> {
  const params = new URLSearchParams(query)
  const state = params.get('state')
  if (state === null || !sameString(state, transaction.state)) {
    throw new SignInError('state-mismatch')
  }
  const configuration = await provider.getConfiguration()
  // The callback URL is rebuilt from the configured redirect URI, never from the Host header.
  const currentUrl = new URL(provider.settings.redirectUri)
  currentUrl.search = params.toString()
  try {
    const response = await client.authorizationCodeGrant(configuration, currentUrl, {
      // Empty only for the account switch, where Cognito's /logout does not carry a PKCE challenge.
      pkceCodeVerifier: transaction.codeVerifier || undefined,
      expectedState: transaction.state,
      expectedNonce: transaction.nonce,
      idTokenExpected: true,
    })
    const claims = response.claims()
    if (!claims || !response.id_token || claims.token_use !== undefined && claims.token_use !== 'id') {
      throw new CognitoError('invalid-response', 'the ID token is missing or is not an ID token')
    }
    await provider.verifyIdTokenSignature(configuration, response.id_token)
    checkIssuedAt(claims)
    const userinfo = await client.fetchUserInfo(configuration, response.access_token, claims.sub)
    return { user: toUser(claims, userinfo), tokens: toTokenSet(response, undefined) }
  } catch (error) {
    throw toCognitoError(error)
  }
}

/**
 * Runs the refresh grant. Cognito returns no new refresh token unless rotation is on: keep the old one.
 * The user is rebuilt from the new ID token's claims (groups and attributes may have changed).
 */
export async function refreshTokens(
  provider: OidcProvider,
  tokens: TokenSet,
  previous: User,
): Promise<SignedIn> {
  if (!tokens.refreshToken) throw new CognitoError('invalid-grant', 'no refresh token in the session')
  const configuration = await provider.getConfiguration()
  try {
    const response = await client.refreshTokenGrant(configuration, tokens.refreshToken)
    const claims = response.claims()
    if (claims && response.id_token) {
      await provider.verifyIdTokenSignature(configuration, response.id_token)
      checkIssuedAt(claims)
    }
    if (claims && claims.sub !== previous.sub) {
      throw new CognitoError('invalid-response', 'refreshed ID token is for another subject')
    }
    const user = claims
      ? toUser(claims, {
          // Attributes that are only in userInfo (fetched at sign-in) survive a refresh.
          email: previous.email,
          name: previous.name,
          email_verified: previous.emailVerified === undefined ? undefined : String(previous.emailVerified),
        })
      : previous
    return { user, tokens: toTokenSet(response, tokens) }
  } catch (error) {
    throw toCognitoError(error)
  }
}

/** Revokes the refresh token (and, at Cognito, every token derived from it). */
export async function revokeRefreshToken(provider: OidcProvider, refreshToken: string): Promise<void> {
  const configuration = await provider.getConfiguration()
  try {
    await client.tokenRevocation(configuration, refreshToken, { token_type_hint: 'refresh_token' })
  } catch (error) {
    throw toCognitoError(error)
  }
}

/**
 * Cognito's logout URL: `https://<domain>/logout?client_id=…&logout_uri=…` (not OIDC's
 * post_logout_redirect_uri). The domain comes from discovery's end_session_endpoint, else
 * COGNITO_DOMAIN, else the authorization endpoint's origin.
 */
export function buildLogoutUrl(provider: OidcProvider): URL | undefined {
  const metadata = provider.configuration?.serverMetadata()
  let endpoint: URL | undefined
  if (metadata?.end_session_endpoint) endpoint = new URL(metadata.end_session_endpoint)
  else if (provider.settings.domain) endpoint = new URL('/logout', provider.settings.domain)
  else if (metadata?.authorization_endpoint) endpoint = new URL('/logout', metadata.authorization_endpoint)
  if (!endpoint) return undefined
  endpoint.search = new URLSearchParams({
    client_id: provider.settings.clientId,
    logout_uri: provider.settings.postLogoutRedirectUri,
  }).toString()
  return endpoint
}

/**
 * "Sign in as someone else": Cognito's /logout in its redirect form
 * (`client_id`, `redirect_uri` = our callback, `response_type=code`, `scope`, `state`, `nonce`) signs
 * the person out at Cognito and shows its sign-in page again, in one hop. Cognito forwards no PKCE
 * challenge there, so this attempt relies on state and nonce (and the client secret).
 */
export async function startAccountSwitch(
  provider: OidcProvider,
  returnTo: string,
): Promise<{ url: URL; transaction: LoginTransaction }> {
  await provider.getConfiguration() // buildLogoutUrl reads the discovered end_session_endpoint
  const endpoint = buildLogoutUrl(provider)
  if (!endpoint) throw new CognitoError('bad-response', 'no logout endpoint for this pool')
  const transaction: LoginTransaction = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: '',
    returnTo,
  }
  endpoint.search = new URLSearchParams({
    client_id: provider.settings.clientId,
    redirect_uri: provider.settings.redirectUri,
    response_type: 'code',
    scope: provider.settings.scopes.join(' '),
    state: transaction.state,
    nonce: transaction.nonce,
  }).toString()
  return { url: endpoint, transaction }
}

/**
 * Origins the browser is sent to for Cognito (for the CSP's form-action). The same list (the same
 * object) is returned until discovery completes, then another one: callers may compare by identity.
 */
export function cognitoOrigins(provider: OidcProvider): readonly string[] {
  // Before discovery only COGNITO_DOMAIN is known; after it, the discovered endpoints too.
  const key: object = provider.configuration ?? provider
  const cached = originsByDiscovery.get(key)
  if (cached) return cached
  // serverMetadata() copies the whole document: computed once per discovery, not per page view.
  const metadata = provider.configuration?.serverMetadata()
  const origins = new Set<string>()
  for (const value of [metadata?.authorization_endpoint, metadata?.end_session_endpoint, provider.settings.domain]) {
    if (value) origins.add(new URL(value).origin)
  }
  const list = Object.freeze([...origins])
  originsByDiscovery.set(key, list)
  return list
}

const originsByDiscovery = new WeakMap<object, readonly string[]>()

function toTokenSet(
  response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  previous: TokenSet | undefined,
): TokenSet {
  const idToken = response.id_token ?? previous?.idToken
  if (!idToken) throw new CognitoError('invalid-response', 'the token response has no ID token')
  const expiresIn = response.expiresIn() ?? 3600
  return {
    idToken,
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    accessExpiresAt: Date.now() + expiresIn * 1000,
  }
}

function describe(error: unknown): string {
  if (error instanceof CognitoError) return error.kind
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return 'unknown error'
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = []
  let current = error
  while (current && chain.length < 8) {
    chain.push(current)
    current = (current as { cause?: unknown }).cause
  }
  return chain
}

/** Classifies anything openid-client or fetch throws into a CognitoError the app can explain. */
export function toCognitoError(error: unknown): Error {
  if (error instanceof CognitoError || error instanceof SignInError) return error
  if (error instanceof client.AuthorizationResponseError) {
    return new SignInError('refused', error.error, error.error_description)
  }
  if (error instanceof client.ResponseBodyError) {
    if (error.error === 'invalid_grant') return new CognitoError('invalid-grant', 'Cognito refused the grant')
    if (error.error === 'invalid_client' || error.error === 'unauthorized_client') {
      return new CognitoError('client-rejected', `Cognito answered ${error.error}`)
    }
    return new CognitoError('error-response', `Cognito answered ${error.error} (HTTP ${error.status})`)
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    return new CognitoError('invalid-grant', 'Cognito refused the access token')
  }
  for (const link of causeChain(error)) {
    if (link instanceof CognitoError) return link
    const name = (link as { name?: string }).name
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new CognitoError('timeout', 'Cognito did not answer in time')
    }
  }
  if (error instanceof TypeError) return new CognitoError('unreachable', 'Cognito could not be reached')
  if (error instanceof client.ClientError) {
    const code = error.code ?? ''
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_PARSE_ERROR') {
      return new CognitoError('bad-response', `Cognito's answer was not usable (${code})`)
    }
    return new CognitoError('invalid-response', `Cognito's answer failed verification (${code || error.message})`)
  }
  return new CognitoError('unreachable', describe(error))
}
