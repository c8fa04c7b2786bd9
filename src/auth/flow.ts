/**
 * The only module that talks to openid-client: discovery, the authorization code flow, refresh,
 * revocation and Cognito's logout URL. Small functions over one discovered `Configuration`.
 */
import { timingSafeEqual } from 'node:crypto'
import { compactVerify, decodeProtectedHeader } from 'jose'
import * as client from 'openid-client'
import { fetchFromCognito } from './cognito-fetch.js'
import type { OidcProvider } from './discovery.js'
import { causeChain, CognitoError, cognitoErrorInChain, networkError, SignInError } from './errors.js'
import { KeyNotFoundError } from './jwks.js'
import type { LoginTransaction, PoolSettings, SignedIn, TokenSet } from './types.js'
import { toUser, type User } from './user.js'

const boundedFetch: client.CustomFetch = (url, options) => fetchFromCognito(url, options as RequestInit)

/** Accepted clock difference for the ID token's `iat` (openid-client checks exp, not a future iat). */
const MAX_CLOCK_SKEW_SECONDS = 120
/** Accepted clock difference for the ID token's `exp`, here and in openid-client (its `clockTolerance`). */
const EXP_TOLERANCE_SECONDS = 30

/** Fetches the pool's discovery document: one attempt, bounded by the pool's timeout. */
export async function discover(settings: PoolSettings): Promise<client.Configuration> {
  // The ID token's signature is verified against the one JWKS cache (jwks.ts), not by openid-client.
  const execute: Array<(config: client.Configuration) => void> = []
  if (settings.allowInsecureRequests) execute.push(client.allowInsecureRequests)
  try {
    const configuration = await client.discovery(
      new URL(settings.issuer),
      settings.clientId,
      // Set, not left to the library's default: the same tolerance as the check on the app's clock.
      { [client.clockTolerance]: EXP_TOLERANCE_SECONDS },
      clientAuthentication(settings.clientSecret),
      { execute, timeout: Math.max(1, Math.ceil(settings.timeoutMs / 1000)), [client.customFetch]: boundedFetch },
    )
    configuration.timeout = settings.timeoutMs / 1000
    return configuration
  } catch (error) {
    throw toCognitoError(error)
  }
}

/** How the app authenticates at the token endpoint: Cognito documents client_secret_basic; openid-client would otherwise pick post. */
function clientAuthentication(clientSecret: string): client.ClientAuth {
  return client.ClientSecretBasic(clientSecret)
}

/**
 * The Authorization header of the app's token requests, as openid-client builds it (client_secret_basic:
 * client id and secret form-urlencoded, joined by a colon, base64). For `npm run doctor`'s probe.
 */
export function clientAuthorizationHeader(clientId: string, clientSecret: string): string {
  const headers = new Headers()
  clientAuthentication(clientSecret)({ issuer: '' }, { client_id: clientId }, new URLSearchParams(), headers)
  const value = headers.get('authorization')
  if (value === null) throw new Error('openid-client set no Authorization header')
  return value
}

/** The discovered jwks_uri, or Cognito's fixed location before discovery. */
export function jwksUriOf(configuration: client.Configuration | undefined, issuer: string): string {
  return configuration?.serverMetadata().jwks_uri ?? `${issuer}/.well-known/jwks.json`
}

/** The PKCE challenge (S256) for a verifier. */
export function pkceChallenge(verifier: string): Promise<string> {
  return client.calculatePKCECodeChallenge(verifier)
}

/** Builds the authorization URL with fresh PKCE (S256), state and nonce. */
export async function startLogin(
  provider: OidcProvider,
  options: { returnTo: string; signUp?: boolean; identityProvider?: string; reauth?: LoginTransaction['reauth'] },
): Promise<{ url: URL; transaction: LoginTransaction }> {
  const configuration = await provider.getConfiguration()
  const codeVerifier = client.randomPKCECodeVerifier()
  const transaction: LoginTransaction = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier,
    returnTo: options.returnTo,
    ...(options.reauth === undefined ? {} : { reauth: options.reauth }),
  }
  const parameters: Record<string, string> = {
    redirect_uri: provider.settings.redirectUri,
    scope: provider.settings.scopes.join(' '),
    // Cognito supports S256 but does not advertise it in discovery: always send it.
    code_challenge: await pkceChallenge(codeVerifier),
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

/** Compares two strings in constant time (for the OAuth state). */
export function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

/**
 * Proves who issued an ID token: its RS256 signature against the pool's keys (the one JWKS cache),
 * an `iat` that is not in the future and an `exp` that has not passed, on the app's clock.
 * openid-client has already checked iss, aud, exp (on the system clock) and nonce.
 */
async function verifyIdToken(provider: OidcProvider, idToken: string, claims: client.IDToken): Promise<void> {
  try {
    if (decodeProtectedHeader(idToken).alg !== 'RS256') throw new CognitoError('invalid-response', 'the ID token is not signed with RS256')
  } catch (error) {
    if (error instanceof CognitoError) throw error
    throw new CognitoError('invalid-response', 'the ID token is not a JWS')
  }
  try {
    await compactVerify(idToken, provider.jwks.getKey, { algorithms: ['RS256'] })
  } catch (error) {
    if (error instanceof CognitoError) throw error
    if (error instanceof KeyNotFoundError) throw new CognitoError('invalid-response', `the ID token: ${error.message}`)
    throw new CognitoError('invalid-response', 'the ID token signature does not verify')
  }
  const now = provider.clock.now() / 1000
  if (typeof claims.iat !== 'number' || claims.iat > now + MAX_CLOCK_SKEW_SECONDS) {
    throw new CognitoError('invalid-response', 'the ID token was issued in the future')
  }
  // openid-client checks exp on the system clock; the app's clock (the one tests move) decides too.
  if (typeof claims.exp !== 'number' || claims.exp <= now - EXP_TOLERANCE_SECONDS) {
    throw new CognitoError('invalid-response', 'the ID token has expired')
  }
}

/**
 * Completes the sign-in: checks state (constant time), exchanges the code with the client secret and
 * the PKCE verifier, lets openid-client verify the ID token's claims (iss, aud, exp, nonce), verifies
 * its signature and iat, then fetches userInfo for the freshest attributes.
 */
export async function finishLogin(provider: OidcProvider, query: string, transaction: LoginTransaction): Promise<SignedIn> {
  const params = new URLSearchParams(query)
  const state = params.get('state')
  if (state === null || !sameString(state, transaction.state)) throw new SignInError('state-mismatch')
  // Every code exchange carries PKCE: a transaction without a verifier is not one this app started.
  if (transaction.codeVerifier === '') throw new SignInError('missing-transaction')
  const configuration = await provider.getConfiguration()
  // The callback URL is rebuilt from the configured redirect URI, never from the Host header.
  const currentUrl = new URL(provider.settings.redirectUri)
  currentUrl.search = params.toString()
  try {
    const response = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: transaction.codeVerifier,
      expectedState: transaction.state,
      expectedNonce: transaction.nonce,
      idTokenExpected: true,
    })
    const claims = response.claims()
    if (!claims || !response.id_token || (claims.token_use !== undefined && claims.token_use !== 'id')) {
      throw new CognitoError('invalid-response', 'the ID token is missing or is not an ID token')
    }
    await verifyIdToken(provider, response.id_token, claims)
    const userinfo = await client.fetchUserInfo(configuration, response.access_token, claims.sub)
    return { user: toUser(claims, userinfo), tokens: toTokenSet(response, undefined, provider.clock.now()) }
  } catch (error) {
    throw toCognitoError(error)
  }
}

/**
 * Runs the refresh grant. Cognito returns no new refresh token unless rotation is on: keep the old one.
 * The user is rebuilt from the new ID token's claims (groups and attributes may have changed).
 */
export async function refreshTokens(provider: OidcProvider, tokens: TokenSet, previous: User): Promise<SignedIn> {
  if (!tokens.refreshToken) throw new CognitoError('invalid-grant', 'no refresh token in the session')
  const configuration = await provider.getConfiguration()
  try {
    const response = await client.refreshTokenGrant(configuration, tokens.refreshToken)
    const claims = response.claims()
    if (claims && response.id_token) await verifyIdToken(provider, response.id_token, claims)
    if (claims && claims.sub !== previous.sub) {
      throw new CognitoError('identity-changed', 'the refreshed ID token is for another subject')
    }
    const user = claims
      ? toUser(claims, {
          // Attributes that are only in userInfo (fetched at sign-in) survive a refresh.
          email: previous.email,
          name: previous.name,
          email_verified: previous.emailVerified === undefined ? undefined : String(previous.emailVerified),
        })
      : previous
    return { user, tokens: toTokenSet(response, tokens, provider.clock.now()) }
  } catch (error) {
    // openid-client refuses an ID token from another issuer; after a refresh that means the session's
    // identity is no longer the one signed in (OIDC-21), not that Cognito is unavailable.
    if (error instanceof client.ClientError && causeChain(error).some((link) => (link as { claim?: unknown }).claim === 'iss')) {
      throw new CognitoError('identity-changed', 'the refreshed ID token is from another issuer')
    }
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
 * Where Cognito's /logout lives: discovery's end_session_endpoint, else the configured domain, else
 * the authorization endpoint's origin. `metadata` is the discovery document (or part of it).
 */
export function logoutEndpoint(
  metadata: { end_session_endpoint?: string | undefined; authorization_endpoint?: string | undefined } | undefined,
  domain: string | undefined,
): URL | undefined {
  if (metadata?.end_session_endpoint) return new URL(metadata.end_session_endpoint)
  if (domain) return new URL('/logout', domain)
  if (metadata?.authorization_endpoint) return new URL('/logout', metadata.authorization_endpoint)
  return undefined
}

/**
 * Cognito's logout URL: `https://<domain>/logout?client_id=…&logout_uri=…` (not OIDC's
 * post_logout_redirect_uri; logout_uri must be a registered sign-out URL, exactly).
 */
export function logoutUrlFor(
  endpoint: URL,
  settings: Pick<PoolSettings, 'clientId' | 'postLogoutRedirectUri'>,
): URL {
  const url = new URL(endpoint)
  url.search = new URLSearchParams({ client_id: settings.clientId, logout_uri: settings.postLogoutRedirectUri }).toString()
  return url
}

/** The logout URL for the discovered pool; undefined before discovery when no domain is configured. */
export function buildLogoutUrl(provider: OidcProvider): URL | undefined {
  const endpoint = logoutEndpoint(provider.configuration?.serverMetadata(), provider.settings.domain)
  return endpoint && logoutUrlFor(endpoint, provider.settings)
}

/**
 * Origins the browser is sent to for Cognito (for the CSP's form-action). The same list (the same
 * object) is returned until discovery completes, then another one: callers may compare by identity.
 */
export function cognitoOrigins(provider: OidcProvider): readonly string[] {
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
  now: number,
): TokenSet {
  const idToken = response.id_token ?? previous?.idToken
  if (!idToken) throw new CognitoError('invalid-response', 'the token response has no ID token')
  const expiresIn = response.expiresIn() ?? 3600
  return {
    idToken,
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    accessExpiresAt: now + expiresIn * 1000,
  }
}

/** Classifies anything openid-client or fetch throws into a CognitoError (or SignInError) the app can explain. */
function toCognitoError(error: unknown): Error {
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
  if (error instanceof client.ClientError && !cognitoErrorInChain(error)) {
    const code = error.code ?? ''
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_PARSE_ERROR') {
      return new CognitoError('bad-response', `Cognito's answer was not usable (${code})`)
    }
    return new CognitoError('invalid-response', `Cognito's answer failed verification (${code || error.message})`)
  }
  return networkError(error)
}
