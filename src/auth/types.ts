/** The shapes the sign-in component works with. None of them is ever rendered, logged or sent to the browser whole. */
import type { User } from './user.js'

/** Tokens as kept in the server-side session. Never rendered, logged or sent to the browser. */
export interface TokenSet {
  readonly idToken: string
  readonly accessToken: string
  readonly refreshToken: string | undefined
  /** Epoch ms at which the access token expires. */
  readonly accessExpiresAt: number
}

/** What the login route remembers, in an encrypted cookie, until the callback. */
export interface LoginTransaction {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly returnTo: string
  /**
   * Set on a re-authentication (requireRecentSignIn): whose sign-in is confirmed, and since when (epoch
   * ms): the ID token that comes back must be for that `sub` to keep going, and its `auth_time` later.
   */
  readonly reauth?: { readonly sub: string; readonly since: number }
}

export interface SignedIn {
  readonly user: User
  readonly tokens: TokenSet
}

/** The pool and how to talk to it: what the flow functions need. */
export interface PoolSettings {
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** Plain http allowed (only ever for a local Cognito on loopback). */
  readonly allowInsecureRequests: boolean
  /** The pool's domain as an origin, for the logout URL when discovery names no end_session_endpoint. */
  readonly domain: string | undefined
  readonly scopes: readonly string[]
  /** Bound on every HTTP call to Cognito, in ms. */
  readonly timeoutMs: number
  /** Where Cognito sends the browser back with the code (the callback route's absolute URL). */
  readonly redirectUri: string
  /** Where Cognito's /logout sends the browser afterwards (must be a registered sign-out URL). */
  readonly postLogoutRedirectUri: string
}

export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
}
