/** The sign-in component's options, and what it derives from them (paths, URLs, defaults). */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { systemClock, type Clock } from '../lib/clock.js'
import { isLoopbackHost } from '../lib/hosts.js'
import { secretList, type Secrets } from '../lib/secrets.js'
import type { PoolSettings } from './types.js'
import type { User } from './user.js'

/** Where the component's routes live, and the host's pages it sends people to. */
export interface AuthPaths {
  /** GET: starts sign-in (`?returnTo=/path`, `?provider=Google`). Default `<prefix>/login`. */
  readonly login: string
  /** GET: starts sign-up on Cognito's sign-up page. Default `<prefix>/signup`. */
  readonly signup: string
  /** GET: Cognito's redirect back with the code; register `<baseUrl><callback>` as a callback URL. Default `<prefix>/auth/callback`. */
  readonly callback: string
  /** POST (CSRF token in `_csrf`): signs out here and at Cognito. Default `<prefix>/logout`. */
  readonly logout: string
  /** POST (CSRF): "sign in as someone else". Default `<prefix>/switch-account`. */
  readonly switchAccount: string
  /** POST (CSRF, `returnTo`): "confirm it's you", through Cognito's sign-in form again. Default `<prefix>/reauthenticate`. */
  readonly reauthenticate: string
  /** The host's page Cognito's /logout returns to; register `<baseUrl><signedOut>` as a sign-out URL. Default `<prefix>/` . */
  readonly signedOut: string
  /** Where a sign-in without a (valid) returnTo lands. Default `<prefix>/`. */
  readonly afterSignIn: string
}

/** What the host is given to render "confirm it's you" for a sign-in older than requireRecentSignIn allows. */
export interface ReauthenticateContext {
  readonly user: User
  /** Where the person comes back to once signed in again (a path on this site). */
  readonly returnTo: string
  /** How recent the sign-in must be, in ms. */
  readonly maxAgeMs: number
  /** A CSRF token for the form that starts it (POST paths.reauthenticate with `returnTo`). */
  readonly csrfToken: string
}

/** What the host is given to render a 403 for a signed-in person without a required group. */
export interface ForbiddenContext {
  readonly user: User
  /** The groups the route asks for (any one of them would do). */
  readonly groups: readonly string[]
  /** A CSRF token for the "sign in as someone else" form (POST paths.switchAccount with `returnTo`). */
  readonly csrfToken: string
}

export interface CognitoAuthOptions {
  /** The pool's issuer, `https://cognito-idp.<region>.amazonaws.com/<user pool id>`. */
  readonly issuer: string
  /** The app client (confidential: it has a secret). */
  readonly clientId: string
  readonly clientSecret: string
  /** The app's public origin, e.g. `https://app.example.com` (no path). */
  readonly baseUrl: string
  /**
   * Seals the sign-in transaction cookie: at least 32 random characters (the session secret will do),
   * or several, newest first, during a rotation (the first seals, every one opens).
   */
  readonly secret: Secrets
  /** The pool's domain, for the logout URL when discovery names no end_session_endpoint. */
  readonly domain?: string | undefined
  /** Default `openid email profile`. */
  readonly scopes?: readonly string[]
  /** Federated providers `?provider=` may name (e.g. `Google`); others are refused. Default none. */
  readonly identityProviders?: readonly string[]
  /** Offer sign-up (`paths.signup`); false leaves that route out (404). Default true. */
  readonly signUp?: boolean
  /** Bound on every call to Cognito. Default 10 s. */
  readonly timeoutMs?: number
  /** Plain-http issuer allowed (a local Cognito on loopback). Default: true only for http on loopback. */
  readonly allowInsecureRequests?: boolean
  /** Refresh the access token when it expires within this. Default 60 s. */
  readonly refreshMarginMs?: number
  /** Per-IP limit on the sign-in routes (@fastify/rate-limit), or false. Default 30 a minute. */
  readonly rateLimit?: { readonly max: number; readonly timeWindow: string } | false
  /** Prefix for every route of the component (and the default signedOut/afterSignIn). Default none. */
  readonly prefix?: string
  /** Any path to set one by one (over the prefix's defaults). */
  readonly paths?: Partial<AuthPaths>
  /** Bearer access tokens (`app.cognito.verifyBearer`): other app clients accepted, a required scope, the JWKS refetch cooldown. */
  readonly bearer?: {
    readonly allowedClientIds?: readonly string[]
    readonly requiredScope?: string | undefined
    readonly jwksCooldownMs?: number
  }
  /** How recent a sign-in `requireRecentSignIn()` asks for by default. Default 10 minutes. */
  readonly recentSignInMaxAgeMs?: number
  /** The time; tests move it. Default the system clock. */
  readonly clock?: Clock
  /**
   * Sends the answer to a signed-in person who lacks a required group (the status is already 403).
   * Default: a plain-text 403.
   * A page, not a redirect: sending a signed-in person to sign in again would loop.
   */
  readonly onForbidden?: (request: FastifyRequest, reply: FastifyReply, context: ForbiddenContext) => unknown
  /**
   * Sends "confirm it's you" to a person whose sign-in is older than a requireRecentSignIn route
   * allows (the status is already set: 200 for a GET, 403 for a form). It should offer a button that
   * posts `returnTo` (and the CSRF token) to paths.reauthenticate. Default: a plain-text page.
   */
  readonly onReauthenticate?: (request: FastifyRequest, reply: FastifyReply, context: ReauthenticateContext) => unknown
}

/** The options with every default filled in. */
export interface ResolvedAuthOptions {
  readonly pool: PoolSettings
  readonly paths: AuthPaths
  readonly baseUrl: string
  readonly secureCookies: boolean
  readonly secrets: readonly string[]
  readonly identityProviders: readonly string[]
  readonly signUp: boolean
  readonly refreshMarginMs: number
  readonly rateLimit: { readonly max: number; readonly timeWindow: string } | false
  readonly allowedClientIds: readonly string[]
  readonly requiredScope: string | undefined
  readonly jwksCooldownMs: number | undefined
  readonly recentSignInMaxAgeMs: number
  readonly clock: Clock
  readonly onForbidden: NonNullable<CognitoAuthOptions['onForbidden']> | undefined
  readonly onReauthenticate: NonNullable<CognitoAuthOptions['onReauthenticate']> | undefined
}

/** The component's paths for a prefix, with any given one over them. */
export function authPaths(prefix = '', given: Partial<AuthPaths> = {}): AuthPaths {
  const base = prefix.replace(/\/+$/, '')
  return {
    login: `${base}/login`,
    signup: `${base}/signup`,
    callback: `${base}/auth/callback`,
    logout: `${base}/logout`,
    switchAccount: `${base}/switch-account`,
    reauthenticate: `${base}/reauthenticate`,
    signedOut: `${base}/`,
    afterSignIn: `${base}/`,
    ...given,
  }
}

/** The callback and sign-out URLs to register on the app client, for a base URL and paths. */
export function registeredUrls(baseUrl: string, paths: Pick<AuthPaths, 'callback' | 'signedOut'>): { redirectUri: string; postLogoutRedirectUri: string } {
  const origin = new URL(baseUrl).origin
  return { redirectUri: `${origin}${paths.callback}`, postLogoutRedirectUri: `${origin}${paths.signedOut}` }
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new TypeError(`cognito-auth: "${name}" must be a positive number of ms`)
  return value
}

export function resolveAuthOptions(options: CognitoAuthOptions): ResolvedAuthOptions {
  for (const name of ['issuer', 'clientId', 'clientSecret', 'baseUrl'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`cognito-auth: the option "${name}" is required`)
  }
  if (options.secret === undefined || options.secret === '') throw new TypeError('cognito-auth: the option "secret" is required')
  const secrets = secretList(options.secret)
  if (secrets.length === 0 || secrets.some((secret) => secret.length < 32)) {
    throw new TypeError('cognito-auth: "secret" must be at least 32 characters (each of them, when several)')
  }
  const paths = authPaths(options.prefix, options.paths)
  const issuer = new URL(options.issuer)
  const base = new URL(options.baseUrl)
  return {
    pool: {
      issuer: options.issuer.replace(/\/+$/, ''),
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      allowInsecureRequests: options.allowInsecureRequests ?? (issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname)),
      domain: options.domain,
      scopes: options.scopes ?? ['openid', 'email', 'profile'],
      timeoutMs: options.timeoutMs ?? 10_000,
      ...registeredUrls(base.origin, paths),
    },
    paths,
    baseUrl: base.origin,
    secureCookies: base.protocol === 'https:',
    secrets,
    identityProviders: options.identityProviders ?? [],
    signUp: options.signUp ?? true,
    refreshMarginMs: options.refreshMarginMs ?? 60_000,
    rateLimit: options.rateLimit ?? { max: 30, timeWindow: '1 minute' },
    allowedClientIds: [...new Set([options.clientId, ...(options.bearer?.allowedClientIds ?? [])])],
    requiredScope: options.bearer?.requiredScope,
    jwksCooldownMs: options.bearer?.jwksCooldownMs,
    recentSignInMaxAgeMs: positive(options.recentSignInMaxAgeMs, 'recentSignInMaxAgeMs') ?? 10 * 60_000,
    clock: options.clock ?? systemClock,
    onForbidden: options.onForbidden,
    onReauthenticate: options.onReauthenticate,
  }
}
