/** Public types of the local Cognito user-pool emulator. */

export interface LocalCognitoClient {
  clientId: string
  /** undefined = public client */
  clientSecret?: string
  /** exact-match redirect_uri list */
  callbackUrls: string[]
  /** exact-match logout_uri list */
  logoutUrls: string[]
  /** e.g. ['openid','email','profile','phone','aws.cognito.signin.user.admin','api/read'] */
  allowedScopes: string[]
  allowedOAuthFlows: Array<'code' | 'client_credentials'>
  /** default false: the refresh grant returns no refresh_token */
  refreshTokenRotation?: boolean
}

export interface LocalCognitoUser {
  username: string
  password: string
  /** generated UUID-like if absent */
  sub?: string
  email?: string
  emailVerified?: boolean
  name?: string
  phoneNumber?: string
  /** absent/empty → no cognito:groups claim */
  groups?: string[]
  /** custom:* etc. */
  attributes?: Record<string, string>
  /** default true */
  enabled?: boolean
}

export interface LocalCognitoOptions {
  host?: string
  port?: number
  region?: string
  userPoolId?: string
  clients?: LocalCognitoClient[]
  users?: LocalCognitoUser[]
  accessTokenTtlSeconds?: number
  idTokenTtlSeconds?: number
  refreshTokenTtlSeconds?: number
  /** Clock in milliseconds since the epoch (default Date.now); lets tests expire codes, sessions and tokens. */
  now?: () => number
}

export interface SeenRequest {
  method: string
  path: string
  query: Record<string, string>
  grantType?: string
  clientAuth?: 'basic' | 'post' | 'none' | 'both'
  status: number
  error?: string
}

export interface Faults {
  idTokenSigning?: 'unknown-key' | 'none' | 'hs256-client-secret'
  /** merged over the real ID token claims; an `undefined` value removes the claim */
  idTokenClaims?: Record<string, unknown | undefined>
  /** ID token header without kid */
  omitKid?: boolean
  /** userInfo answers with this sub */
  userinfoSub?: string
  /** POST /oauth2/token answers with this status / raw body, or after a delay */
  tokenEndpoint?: { status?: number; body?: string; delayMs?: number }
  /** every endpoint answers 503 */
  unavailable?: boolean
}

export interface LocalCognito {
  readonly origin: string
  readonly issuer: string
  readonly userPoolId: string
  readonly requests: SeenRequest[]
  addClient(c: LocalCognitoClient): void
  addUser(u: LocalCognitoUser): void
  setUserEnabled(username: string, enabled: boolean): void
  isRefreshTokenRevoked(refreshToken: string): boolean
  countGrants(grantType: string): number
  resetRequests(): void
  faults: Faults
  rotateKeys(): Promise<void>
  close(): Promise<void>
}
