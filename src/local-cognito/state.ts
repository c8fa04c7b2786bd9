/** In-memory state of one emulated user pool. */
import { randomUUID } from 'node:crypto'
import type { KeySet, SigningKey } from './keys.js'
import type { FederatedIdentity, Faults, LocalCognitoClient, LocalCognitoUser, SeenRequest } from './types.js'

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
  /** set for federated users (then password sign-in is refused) */
  identities?: FederatedIdentity[]
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
}

export const CODE_TTL_MS = 5 * 60 * 1000
export const SESSION_TTL_MS = 60 * 60 * 1000
export const FEDERATED_STATE_TTL_MS = 5 * 60 * 1000

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
  faults: Faults = {}
  /** every key ever used, so tokens signed before a rotation still verify internally */
  readonly allKeys: SigningKey[] = []

  constructor(readonly settings: PoolSettings, public keys: KeySet) {
    this.allKeys.push(keys.id, keys.access)
  }

  get issuer(): string {
    return `${this.origin}/${this.settings.userPoolId}`
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
    }
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
    return r !== undefined && (r.revoked || this.revokedOriginJtis.has(r.originJti))
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
