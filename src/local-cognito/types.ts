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
  /**
   * default false (or the pool's `refreshTokenRotation`): the refresh grant returns no refresh_token.
   * With rotation each refresh returns a new one, and the old one keeps working for `graceSeconds`
   * (Cognito's RetryGracePeriodSeconds, 0–60) and then dies.
   */
  refreshTokenRotation?: boolean | { graceSeconds: number }
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
  /**
   * default true (CONFIRMED). false = UNCONFIRMED, as after a self sign-up: password sign-in answers "User is not
   * confirmed." until the account is confirmed with the emailed code.
   */
  confirmed?: boolean
  /** Base32 TOTP secret: the user has software-token MFA, and sign-in asks for a 6-digit code (RFC 6238, SHA-1, 30 s). */
  totpSecret?: string
}

/** A message the pool would have emailed (sign-up confirmation or password reset), as the mailbox page lists it. */
export interface MailboxEntry {
  /** ms since the epoch, on the pool's clock */
  at: number
  kind: 'confirmation' | 'password-reset'
  username: string
  to: string
  code: string
}

/** What the pool holds about a user (a copy; the password is left out). */
export interface UserSnapshot {
  username: string
  sub: string
  status: 'CONFIRMED' | 'UNCONFIRMED'
  enabled: boolean
  email?: string
  emailVerified: boolean
  groups: string[]
  attributes: Record<string, string>
  mfa: boolean
}

export interface LocalCognitoOptions {
  host?: string
  port?: number
  /**
   * Serve the issuer (discovery, keys, the user pool API) on an origin of its own, as Cognito does
   * (`cognito-idp.<region>.amazonaws.com` beside the pool's domain): this port (0 for a free one).
   * The OAuth endpoints and the sign-in pages stay on `port`; each origin answers only its own paths,
   * so code that builds Cognito URLs from the issuer fails here as it would in production.
   * Default: one origin for everything.
   */
  issuerPort?: number
  region?: string
  userPoolId?: string
  clients?: LocalCognitoClient[]
  users?: LocalCognitoUser[]
  accessTokenTtlSeconds?: number
  idTokenTtlSeconds?: number
  refreshTokenTtlSeconds?: number
  /** Clock in milliseconds since the epoch (default Date.now); lets tests expire codes, sessions and tokens. */
  now?: () => number
  /**
   * Names of the simulated federated identity providers (default `['Google']`; `[]` = none). Case-sensitive, as in
   * Cognito; `COGNITO` is reserved and two names may not differ only in case. Every app client may use every one.
   *
   * `GET /oauth2/authorize?…&identity_provider=<Name>` skips the login page and 302s to the simulated IdP page
   * `GET /federated/<Name>/authorize?state=<id>`, where `<id>` is a random server-side handle on the original
   * authorize request (valid 5 minutes, single use). The page ("Sign in with <Name> (simulated)") offers one fixed
   * user, `FEDERATED_TEST_USER` (email `federated.user@example.com`, name `Fed User`, IdP user id
   * `102600000000000000001`), in one form POSTed to the same URL: hidden `_csrf` (checked like /login) and two submit
   * buttons `name="action"`: `value="continue"` (id `federatedContinueButton`, "Continue") and `value="cancel"` (id
   * `federatedCancelButton`, "Cancel"). Either answers 302 to `/oauth2/idpresponse?…&state=<id>`, as a real IdP
   * would; that endpoint answers 302 to the client's `redirect_uri` with `?code=…&state=<original state>` (Continue)
   * or `?error=access_denied&state=<original state>` (Cancel; Cognito's behaviour here is UNCONFIRMED).
   *
   * The federated user is created on the first Continue and reused afterwards (same `sub`): username
   * `<Name lower-cased>_<userId>` (e.g. `google_102600000000000000001`), verified email, name, an `identities`
   * attribute ({@link FederatedIdentity}) and the automatic group `<userPoolId>_<Name>`. A user added beforehand under
   * that username (addUser) is reused and linked, so tests can give it groups, a sub or attributes; setUserGroups
   * works too (the automatic group is put back at each federated sign-in). Federated users cannot sign in on /login.
   * A successful federated sign-in starts a hosted-UI session, as Cognito does.
   *
   * Tokens: the ID token carries `identities` (an array, after `aud`) and `cognito:groups` with the automatic group;
   * the access token's `cognito:groups` too. userInfo returns `identities` as a JSON string, as Cognito does.
   */
  federatedProviders?: string[]
  /** The app's name at the top of every hosted-UI page (default "Cognito Sign-in"). */
  appName?: string
  /** Self sign-up allowed (default true; false is Cognito's AllowAdminCreateUserOnly: no /signup, no link to it). */
  allowSignUp?: boolean
  /**
   * `username` (default): people sign in with a username. `email`: a pool whose sign-in attribute is the email
   * (UsernameAttributes email): every username is a UUID equal to the user's `sub` (`cognito:username` = `sub`),
   * people type their email on the forms, and sign-up asks for no username.
   */
  signInWith?: 'username' | 'email'
  /**
   * `managed` (default): managed login, where `prompt` works. `classic`: the classic hosted UI, which
   * ignores `prompt` (login, none) as Cognito's does.
   */
  hostedUi?: 'managed' | 'classic'
  /** Refresh-token rotation for the app clients that do not say (see LocalCognitoClient). Default off. */
  refreshTokenRotation?: { graceSeconds: number }
  /**
   * Where the terminal lines go (codes sent for sign-up and forgotten passwords), one line a call, no newline.
   * Default: standard output.
   */
  logger?: (line: string) => void
  /**
   * JSON file of users added to the seed (LOCAL_COGNITO_USERS): `{"users":[…]}` or `[…]`, each a
   * {@link LocalCognitoUser} plus an optional `description`; a user named like a seed user replaces it.
   */
  usersFile?: string
  /** The demo-users hint on the sign-in page (default true). It lists the users the pool started with. */
  demoHint?: boolean
}

/**
 * One entry of a federated user's `identities` attribute, shaped as Cognito puts it in the ID token: `primary` and
 * `dateCreated` (ms since the epoch) are strings. `providerType` is the name for Google, Facebook, LoginWithAmazon
 * and SignInWithApple and `OIDC` for any other name; `issuer` is always null here.
 */
export interface FederatedIdentity {
  userId: string
  providerName: string
  providerType: string
  issuer: string | null
  primary: string
  dateCreated: string
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
  /** `bad-signature`: RS256 with the pool's ID key and its kid, but the signature does not verify */
  idTokenSigning?: 'unknown-key' | 'none' | 'hs256-client-secret' | 'bad-signature'
  /** merged over the real ID token claims; an `undefined` value removes the claim */
  idTokenClaims?: Record<string, unknown | undefined>
  /** ID token header without kid */
  omitKid?: boolean
  /** the JWKS serves only the ID token's key (with its kid, or without one), as a provider with one key does */
  jwks?: 'id-key-only' | 'id-key-only-without-kid'
  /** userInfo answers with this sub */
  userinfoSub?: string
  /** POST /oauth2/token answers with this status / raw body, or after a delay */
  tokenEndpoint?: { status?: number; body?: string; delayMs?: number }
  /** GET/POST /oauth2/userInfo answers with this status / raw body, or after a delay (the token endpoint unaffected) */
  userinfoEndpoint?: { status?: number; body?: string; delayMs?: number }
  /** every endpoint answers 503 (the local pages /_local/*, /mailbox and the stylesheet excepted) */
  unavailable?: boolean
  /** the refresh grant answers 400 invalid_grant, as for a revoked refresh token */
  refreshRefused?: boolean
  /**
   * merged over the discovery document (which Cognito serves without these: another `issuer`, another
   * `jwks_uri`, `authorization_response_iss_parameter_supported: true`…); an `undefined` value removes the field
   */
  discovery?: Record<string, unknown | undefined>
}

export interface LocalCognito {
  /** The pool's domain: OAuth endpoints and sign-in pages (and the issuer too, without `issuerPort`). */
  readonly origin: string
  readonly issuer: string
  /** Where the issuer, its keys and the user pool API answer: its own origin with `issuerPort`, else `origin`. */
  readonly issuerOrigin: string
  readonly userPoolId: string
  readonly requests: SeenRequest[]
  addClient(c: LocalCognitoClient): void
  addUser(u: LocalCognitoUser): void
  setUserEnabled(username: string, enabled: boolean): void
  /** Replace a user's groups (absent user: throws). Works for federated users once they exist. */
  setUserGroups(username: string, groups: string[]): void
  isRefreshTokenRevoked(refreshToken: string): boolean
  countGrants(grantType: string): number
  resetRequests(): void
  faults: Faults
  rotateKeys(): Promise<void>
  /** What the pool holds about a user (by username, or by email in an email sign-in pool). */
  user(username: string): UserSnapshot | undefined
  /** Every message the pool "emailed", oldest first (also on GET /mailbox). */
  readonly mailbox: readonly MailboxEntry[]
  /**
   * Close the listening port (connections are refused) and open it again after `ms` (real time: nothing can ask
   * a closed port to reopen). Resolves once the port is closed.
   */
  refuseConnections(ms: number): Promise<void>
  close(): Promise<void>
}
