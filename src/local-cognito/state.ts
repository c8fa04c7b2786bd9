/** In-memory state of one emulated user pool. */
import { randomUUID } from 'node:crypto'
import type { KeySet, SigningKey } from './keys.js'
import type { FederatedIdentity, Faults, LocalCognitoClient, LocalCognitoUser, MailboxEntry, SeenRequest, UserSnapshot } from './types.js'

export interface UserRecord {
  username: string
  password: string
  sub: string
  email?: string
  emailVerified: boolean
  name?: string
  phoneNumber?: string
  groups: string[]
  attributes: Record<string, string>
  enabled: boolean
  /** false = UNCONFIRMED (signed up, code not yet entered) */
  confirmed: boolean
  /** base32 TOTP secret when the user has software-token MFA */
  totpSecret?: string
  /** the last TOTP time step accepted, so a code is not accepted twice */
  lastTotpStep?: number
  /** set for federated users (then password sign-in is refused) */
  identities?: FederatedIdentity[]
}

/** A code emailed for a sign-up confirmation or a password reset. */
export interface EmailedCode {
  code: string
  /** ms */
  expiresAt: number
  /** wrong codes entered so far */
  failures: number
}

/** A password sign-in waiting for its TOTP code (Cognito's challenge session). */
export interface MfaSessionRecord {
  username: string
  /** ms */
  expiresAt: number
  failures: number
}

/** A browser that just signed up: confirming the account there signs it in, as managed login does. */
export interface SignupSessionRecord {
  username: string
  /** ms */
  expiresAt: number
}

export interface CodeRecord {
  clientId: string
  redirectUri: string
  scopes: string[]
  nonce?: string
  codeChallenge?: string
  username: string
  authTime: number
  expiresAt: number
  used: boolean
  /** origin_jti of the tokens minted from this code (set once redeemed) */
  originJti?: string
}

export interface RefreshRecord {
  clientId: string
  username: string
  scopes: string[]
  authTime: number
  originJti: string
  expiresAt: number
  revoked: boolean
  /** ms: with rotation, when this token was replaced; it works until `graceUntil`, then dies */
  replacedAt?: number
  graceUntil?: number
}

export interface SessionRecord {
  username: string
  /** seconds: time of the interactive sign-in */
  authTime: number
  /** ms */
  expiresAt: number
}

/** A federated sign-in in progress: the original /oauth2/authorize query, kept server-side. */
export interface FederatedStateRecord {
  provider: string
  query: Record<string, string>
  /** ms */
  expiresAt: number
}

/** A code issued by a simulated IdP to /oauth2/idpresponse. */
export interface IdpCodeRecord {
  stateId: string
  provider: string
  /** ms */
  expiresAt: number
}

export interface PoolSettings {
  region: string
  userPoolId: string
  accessTokenTtlSeconds: number
  idTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  now: () => number
  federatedProviders: string[]
  appName: string
  allowSignUp: boolean
  signInWith: 'username' | 'email'
  hostedUi: 'managed' | 'classic'
  refreshTokenRotation: { graceSeconds: number } | undefined
  logger: (line: string) => void
  /** users listed by the demo hint: sign-in name, password, description */
  demoUsers: Array<{ login: string; password: string; description?: string }>
}

export const CODE_TTL_MS = 5 * 60 * 1000
export const SESSION_TTL_MS = 60 * 60 * 1000
export const FEDERATED_STATE_TTL_MS = 5 * 60 * 1000
/** Sign-up confirmation codes are valid 24 hours, password reset codes 1 hour (Cognito's documented lifetimes). */
export const CONFIRMATION_CODE_TTL_MS = 24 * 60 * 60 * 1000
export const RESET_CODE_TTL_MS = 60 * 60 * 1000
/** Cognito's authentication session (between the password and the MFA code) lasts 3 minutes. */
export const MFA_SESSION_TTL_MS = 3 * 60 * 1000
export const SIGNUP_SESSION_TTL_MS = 24 * 60 * 60 * 1000
/** Wrong codes allowed before a code (or an MFA session) is thrown away. */
export const CODE_ATTEMPTS = 5

/** A UUID whose third group starts with 70, like the subs of new Cognito pools. */
export function cognitoStyleSub(): string {
  const u = randomUUID()
  return `${u.slice(0, 14)}70${u.slice(16)}`
}

export class PoolState {
  origin = ''
  readonly clients = new Map<string, LocalCognitoClient>()
  private readonly users = new Map<string, UserRecord>()
  readonly codes = new Map<string, CodeRecord>()
  readonly refreshTokens = new Map<string, RefreshRecord>()
  readonly revokedOriginJtis = new Set<string>()
  readonly sessions = new Map<string, SessionRecord>()
  readonly federatedStates = new Map<string, FederatedStateRecord>()
  readonly idpCodes = new Map<string, IdpCodeRecord>()
  readonly grantCounts = new Map<string, number>()
  readonly requests: SeenRequest[] = []
  /** keyed by lower-cased username */
  readonly confirmationCodes = new Map<string, EmailedCode>()
  readonly resetCodes = new Map<string, EmailedCode>()
  readonly mfaSessions = new Map<string, MfaSessionRecord>()
  readonly signupSessions = new Map<string, SignupSessionRecord>()
  readonly mailbox: MailboxEntry[] = []
  faults: Faults = {}
  /** every key ever used, so tokens signed before a rotation still verify internally */
  readonly allKeys: SigningKey[] = []

  constructor(readonly settings: PoolSettings, public keys: KeySet) {
    this.allKeys.push(keys.id, keys.access)
  }

  /** The issuer's origin when it has one of its own (`issuerPort`), else '' (the pages' origin serves it). */
  issuerOrigin = ''

  get issuer(): string {
    return `${this.issuerOrigin || this.origin}/${this.settings.userPoolId}`
  }

  nowMs(): number {
    return this.settings.now()
  }

  nowSec(): number {
    return Math.floor(this.settings.now() / 1000)
  }

  setKeys(keys: KeySet): void {
    this.keys = keys
    this.allKeys.push(keys.id, keys.access)
  }

  findKey(kid: unknown): SigningKey | undefined {
    return typeof kid === 'string' ? this.allKeys.find((k) => k.kid === kid) : undefined
  }

  addClient(c: LocalCognitoClient): void {
    this.clients.set(c.clientId, {
      ...c,
      callbackUrls: [...c.callbackUrls],
      logoutUrls: [...c.logoutUrls],
      allowedScopes: [...c.allowedScopes],
      allowedOAuthFlows: [...c.allowedOAuthFlows],
    })
  }

  /** CSP sources for the app clients' callback URLs (origins, or the scheme of a custom-scheme URL). */
  callbackOrigins(): string[] {
    const out = new Set<string>()
    for (const c of this.clients.values()) {
      for (const url of c.callbackUrls) {
        try {
          const u = new URL(url)
          out.add(u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : u.protocol)
        } catch {
          // not a URL: nothing to allow
        }
      }
    }
    return [...out]
  }

  client(clientId: string | undefined): LocalCognitoClient | undefined {
    return clientId === undefined ? undefined : this.clients.get(clientId)
  }

  addUser(u: LocalCognitoUser): UserRecord {
    const record: UserRecord = {
      username: u.username,
      password: u.password,
      sub: u.sub ?? cognitoStyleSub(),
      emailVerified: u.emailVerified ?? false,
      groups: [...(u.groups ?? [])],
      attributes: { ...(u.attributes ?? {}) },
      enabled: u.enabled ?? true,
      confirmed: u.confirmed ?? true,
    }
    if (u.totpSecret !== undefined) record.totpSecret = u.totpSecret.replace(/[\s=]/g, '').toUpperCase()
    if (u.email !== undefined) record.email = u.email
    if (u.name !== undefined) record.name = u.name
    if (u.phoneNumber !== undefined) record.phoneNumber = u.phoneNumber
    this.users.set(u.username.toLowerCase(), record)
    return record
  }

  /** Usernames are case-insensitive, as in new Cognito pools. */
  user(username: string | undefined): UserRecord | undefined {
    return username === undefined ? undefined : this.users.get(username.toLowerCase())
  }

  allUsers(): UserRecord[] {
    return [...this.users.values()]
  }

  /**
   * The user a person means by what they typed on a form: the username, or in an email sign-in pool the email
   * (case-insensitive; the username, a UUID, works too).
   */
  signInUser(typed: string | undefined): UserRecord | undefined {
    if (typed === undefined || typed === '') return undefined
    const byName = this.user(typed)
    if (byName || this.settings.signInWith !== 'email') return byName
    const wanted = typed.toLowerCase()
    for (const u of this.users.values()) if (u.email !== undefined && u.email.toLowerCase() === wanted && !u.identities) return u
    return undefined
  }

  /** The name people type for this user: the email in an email sign-in pool, else the username. */
  loginName(u: UserRecord): string {
    return this.settings.signInWith === 'email' && u.email !== undefined ? u.email : u.username
  }

  snapshot(u: UserRecord): UserSnapshot {
    const s: UserSnapshot = {
      username: u.username,
      sub: u.sub,
      status: u.confirmed ? 'CONFIRMED' : 'UNCONFIRMED',
      enabled: u.enabled,
      emailVerified: u.emailVerified,
      groups: [...u.groups],
      attributes: { ...u.attributes },
      mfa: u.totpSecret !== undefined,
    }
    if (u.email !== undefined) s.email = u.email
    return s
  }

  /** Record an emailed code: the mailbox page lists it and the terminal gets a line. */
  sendCode(kind: MailboxEntry['kind'], u: UserRecord, code: string): void {
    const to = u.email ?? '(no email)'
    this.mailbox.push({ at: this.nowMs(), kind, username: u.username, to, code })
    const what = kind === 'confirmation' ? 'confirmation code' : 'password reset code'
    this.settings.logger(`Local Cognito: ${what} for ${u.username} (${to}): ${code}`)
  }

  setUserEnabled(username: string, enabled: boolean): void {
    const u = this.user(username)
    if (!u) throw new Error(`local-cognito: no user named ${username}`)
    u.enabled = enabled
  }

  setUserGroups(username: string, groups: string[]): void {
    const u = this.user(username)
    if (!u) throw new Error(`local-cognito: no user named ${username}`)
    u.groups = [...groups]
  }

  /** Drop expired federated states and IdP codes (called when new ones are stored). */
  sweepFederated(): void {
    const now = this.nowMs()
    for (const [k, v] of this.federatedStates) if (v.expiresAt <= now) this.federatedStates.delete(k)
    for (const [k, v] of this.idpCodes) if (v.expiresAt <= now) this.idpCodes.delete(k)
  }

  isOriginRevoked(originJti: unknown): boolean {
    return typeof originJti === 'string' && this.revokedOriginJtis.has(originJti)
  }

  isRefreshTokenRevoked(token: string): boolean {
    const r = this.refreshTokens.get(token)
    if (r === undefined) return false
    const pastGrace = r.graceUntil !== undefined && this.nowMs() > r.graceUntil
    return r.revoked || pastGrace || this.revokedOriginJtis.has(r.originJti)
  }

  /** When each user was signed out everywhere (GlobalSignOut), in seconds: tokens issued before are revoked. */
  readonly globalSignOuts = new Map<string, number>()

  /** GlobalSignOut: every refresh token of this user, for every app client, refused from now on. */
  signOutGlobally(username: string): void {
    this.globalSignOuts.set(username, this.nowSec())
    for (const r of this.refreshTokens.values()) if (r.username === username) r.revoked = true
  }

  /** True when a token of this user issued at `iat` (seconds) was revoked by a GlobalSignOut. */
  isSignedOutGlobally(username: string, iat: unknown): boolean {
    const at = this.globalSignOuts.get(username)
    return at !== undefined && typeof iat === 'number' && iat <= at
  }

  /** Revoke a whole token family (the refresh token and every token carrying its origin_jti). */
  revokeOrigin(originJti: string): void {
    this.revokedOriginJtis.add(originJti)
    for (const r of this.refreshTokens.values()) if (r.originJti === originJti) r.revoked = true
  }

  countGrant(grantType: string): void {
    this.grantCounts.set(grantType, (this.grantCounts.get(grantType) ?? 0) + 1)
  }

  /** A live hosted-UI session for this cookie value, if any. */
  session(cookie: string | undefined): SessionRecord | undefined {
    if (!cookie) return undefined
    const s = this.sessions.get(cookie)
    if (!s) return undefined
    const u = this.user(s.username)
    if (s.expiresAt <= this.nowMs() || !u || !u.enabled) {
      this.sessions.delete(cookie)
      return undefined
    }
    return s
  }
}
