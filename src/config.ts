import { randomBytes } from 'node:crypto'
import { deepFreeze } from './deep-freeze.js'
import { formatDuration, parseDuration } from './duration.js'

/** The environment as a plain map; `process.env` plus a `.env` file in practice, anything in tests. */
export type Env = Readonly<Record<string, string | undefined>>

export interface CognitoSettings {
  /** Issuer identifier: `https://cognito-idp.<region>.amazonaws.com/<pool id>` or a full URL. */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
  /** The pool's domain as an origin (`https://…`), used for the logout URL when discovery has none. */
  readonly domain: string | undefined
  readonly scopes: readonly string[]
  /** Federated identity providers offered as "Continue with …" buttons (COGNITO_IDENTITY_PROVIDERS). */
  readonly identityProviders: readonly string[]
  /** Plain-http issuer on a loopback address (the local Cognito); never true otherwise. */
  readonly allowInsecureRequests: boolean
  /** Bound on every HTTP call to Cognito. */
  readonly timeoutMs: number
}

export interface SessionSettings {
  readonly secret: string
  /** True when no SESSION_SECRET was given and a random one was made (development only). */
  readonly secretGenerated: boolean
  readonly cookieName: string
  readonly idleTimeoutMs: number
  readonly maxAgeMs: number
  readonly store: 'memory' | 'redis'
  readonly memoryMax: number
  readonly redisUrl: string | undefined
  readonly redisPrefix: string
  /** Refresh the access token when it expires within this margin. */
  readonly refreshMarginMs: number
}

/** Who may call the JSON API with a Bearer access token (GET /api/me). */
export interface ApiSettings {
  /** client_id values whose access tokens are accepted: the app's own client plus API_ALLOWED_CLIENT_IDS. */
  readonly allowedClientIds: readonly string[]
  /** A scope every Bearer access token must carry (API_REQUIRED_SCOPE); undefined = none. */
  readonly requiredScope: string | undefined
  /** Least time between two JWKS fetches caused by an unknown key id (API_JWKS_REFETCH_COOLDOWN). */
  readonly jwksCooldownMs: number
}

export interface Config {
  readonly nodeEnv: string
  readonly isProduction: boolean
  readonly host: string
  readonly port: number
  /** Origin of the app, no trailing slash, e.g. `http://localhost:3000`. */
  readonly appBaseUrl: string
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
  /** Cookies get `Secure` (and the `__Host-` prefix) when the base URL is https. */
  readonly secureCookies: boolean
  /** Undefined when no pool or issuer is configured: development then uses the local Cognito. */
  readonly cognito: CognitoSettings | undefined
  readonly session: SessionSettings
  readonly api: ApiSettings
  readonly trustProxy: boolean | number | string
  /** Requests per minute and client IP to /login, /signup and /auth/callback (RATE_LIMIT_SIGNIN). */
  readonly rateLimitSignIn: number
  readonly logLevel: string
  /**
   * Which requests get an access-log line (ACCESS_LOG): `all`, `errors` (answered with 400 or more, or
   * failed) or `off`. Default `errors` with NODE_ENV=production, `all` otherwise. Security events
   * (sign-in, sign-out, refusals, error pages) are logged whatever this says.
   */
  readonly accessLog: AccessLogMode
  /**
   * Compiled templates kept in memory (VIEW_CACHE, default true). false re-reads and recompiles
   * every template on every render, so that edits show without a restart: for working on the views,
   * at about four times the cost of a page view.
   */
  readonly viewCache: boolean
  readonly localCognitoPort: number
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

const POOL_ID = /^(?<region>[a-z]{2}-(?:gov-)?[a-z]+-\d)_[a-zA-Z0-9]+$/
const REGION = /^[a-z]{2}-(?:gov-)?[a-z]+-\d$/
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const ACCESS_LOG_MODES = ['all', 'errors', 'off'] as const
export type AccessLogMode = (typeof ACCESS_LOG_MODES)[number]

/** True for hosts that never leave this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host)
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return Number(raw)
}

/** One of `choices`, or `fallback` when unset. */
function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = read(env, name) ?? fallback
  const choice = choices.find((c) => c === raw)
  if (choice === undefined) throw new ConfigError(name, `expected one of ${choices.join(', ')}, got "${raw}"`)
  return choice
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  if (raw === 'true') return true
  if (raw === 'false') return false
  throw new ConfigError(name, `expected true or false, got "${raw}"`)
}

function readDuration(env: Env, name: string, fallback: string, minMs: number): number {
  const raw = read(env, name) ?? fallback
  const ms = parseDuration(raw)
  if (ms === undefined || ms < minMs) {
    throw new ConfigError(
      name,
      `expected a duration like 30s, 30m, 24h or 7d (at least ${formatDuration(minMs)}), got "${raw}"`,
    )
  }
  return ms
}

function readUrl(name: string, raw: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(name, `expected an absolute URL, got "${raw}"`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(name, `expected an http(s) URL, got "${raw}"`)
  }
  if (url.username || url.password) {
    throw new ConfigError(name, 'must not contain credentials')
  }
  return url
}

function requireHttpsUnlessLoopback(name: string, url: URL): void {
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(name, `must use https:// (plain http is accepted only on localhost/127.0.0.1), got "${url.href}"`)
  }
}

function loadAppBaseUrl(env: Env): URL {
  const raw = read(env, 'APP_BASE_URL') ?? 'http://localhost:3000'
  const url = readUrl('APP_BASE_URL', raw)
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ConfigError('APP_BASE_URL', `expected an origin such as https://app.example.com with no path, got "${raw}"`)
  }
  return url
}

function loadIssuer(env: Env): string | undefined {
  const issuerRaw = read(env, 'COGNITO_ISSUER')
  const poolId = read(env, 'COGNITO_USER_POOL_ID')
  const regionRaw = read(env, 'COGNITO_REGION')

  let fromPool: string | undefined
  if (poolId !== undefined) {
    const match = POOL_ID.exec(poolId)
    if (!match?.groups) {
      throw new ConfigError(
        'COGNITO_USER_POOL_ID',
        `expected a user pool id like us-east-1_AbC123xyz, got "${poolId}"`,
      )
    }
    const region = match.groups.region as string
    if (regionRaw !== undefined && regionRaw !== region) {
      throw new ConfigError(
        'COGNITO_REGION',
        `"${regionRaw}" does not match the region of COGNITO_USER_POOL_ID (${region}); leave it unset or make them agree`,
      )
    }
    fromPool = `https://cognito-idp.${region}.amazonaws.com/${poolId}`
  } else if (regionRaw !== undefined) {
    if (!REGION.test(regionRaw)) {
      throw new ConfigError('COGNITO_REGION', `expected an AWS region like eu-west-1, got "${regionRaw}"`)
    }
    if (issuerRaw === undefined) {
      throw new ConfigError('COGNITO_USER_POOL_ID', 'is required when COGNITO_REGION is set')
    }
  }

  if (issuerRaw === undefined) return fromPool
  const url = readUrl('COGNITO_ISSUER', issuerRaw)
  requireHttpsUnlessLoopback('COGNITO_ISSUER', url)
  if (url.search || url.hash) {
    throw new ConfigError('COGNITO_ISSUER', `must not carry a query or fragment, got "${issuerRaw}"`)
  }
  const issuer = url.href.replace(/\/+$/, '')
  if (fromPool !== undefined && fromPool !== issuer) {
    throw new ConfigError(
      'COGNITO_ISSUER',
      `conflicts with COGNITO_USER_POOL_ID (which means ${fromPool}); set only one of them`,
    )
  }
  return issuer
}

function loadDomain(env: Env): string | undefined {
  const raw = read(env, 'COGNITO_DOMAIN')
  if (raw === undefined) return undefined
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`
  const url = readUrl('COGNITO_DOMAIN', withScheme)
  requireHttpsUnlessLoopback('COGNITO_DOMAIN', url)
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ConfigError(
      'COGNITO_DOMAIN',
      `expected the pool's domain, e.g. myapp.auth.eu-west-1.amazoncognito.com, got "${raw}"`,
    )
  }
  return url.origin
}

function loadScopes(env: Env): string[] {
  const raw = read(env, 'COGNITO_SCOPES') ?? 'openid email profile'
  const scopes = [...new Set(raw.split(/[\s,]+/).filter(Boolean))]
  if (!scopes.includes('openid')) {
    throw new ConfigError('COGNITO_SCOPES', `must include "openid" (Cognito issues an ID token only with it), got "${raw}"`)
  }
  for (const scope of scopes) {
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) {
      throw new ConfigError('COGNITO_SCOPES', `"${scope}" is not a valid scope`)
    }
  }
  return scopes
}

function loadIdentityProviders(env: Env): string[] {
  const raw = read(env, 'COGNITO_IDENTITY_PROVIDERS')
  if (raw === undefined) return []
  const names = [...new Set(raw.split(/[\s,]+/).filter(Boolean))]
  for (const name of names) {
    // Cognito provider names: 1–32 characters of letters, digits, and . _ - (plus the built-in COGNITO).
    if (!/^[\w.-]{1,40}$/.test(name)) {
      throw new ConfigError(
        'COGNITO_IDENTITY_PROVIDERS',
        `expected provider names separated by commas (e.g. Google,SignInWithApple,AcmeSAML), got "${name}"`,
      )
    }
  }
  return names
}

function loadCognito(env: Env, isProduction: boolean): CognitoSettings | undefined {
  const issuer = loadIssuer(env)
  const clientId = read(env, 'COGNITO_CLIENT_ID')
  const clientSecret = read(env, 'COGNITO_CLIENT_SECRET')
  const poolVariable = read(env, 'COGNITO_USER_POOL_ID') !== undefined ? 'COGNITO_USER_POOL_ID' : 'COGNITO_ISSUER'
  const timeoutMs = readDuration(env, 'COGNITO_TIMEOUT', '10s', 100)

  if (issuer === undefined) {
    if (isProduction) {
      throw new ConfigError(
        'COGNITO_USER_POOL_ID',
        'is required when NODE_ENV=production (or set COGNITO_ISSUER); the local Cognito is for development only',
      )
    }
    if (clientId !== undefined || clientSecret !== undefined) {
      throw new ConfigError(
        'COGNITO_USER_POOL_ID',
        'is required when COGNITO_CLIENT_ID or COGNITO_CLIENT_SECRET is set (or set COGNITO_ISSUER)',
      )
    }
    return undefined
  }
  if (clientId === undefined) {
    throw new ConfigError('COGNITO_CLIENT_ID', `is required when ${poolVariable} is set`)
  }
  if (!/^[\w+]{1,128}$/.test(clientId)) {
    throw new ConfigError('COGNITO_CLIENT_ID', `expected the app client id (letters and digits), got "${clientId}"`)
  }
  if (clientSecret === undefined) {
    throw new ConfigError(
      'COGNITO_CLIENT_SECRET',
      `is required when ${poolVariable} is set (create the app client with a client secret)`,
    )
  }
  const issuerUrl = new URL(issuer)
  return {
    issuer,
    clientId,
    clientSecret,
    domain: loadDomain(env),
    scopes: loadScopes(env),
    identityProviders: loadIdentityProviders(env),
    allowInsecureRequests: issuerUrl.protocol === 'http:' && isLoopbackHost(issuerUrl.hostname),
    timeoutMs,
  }
}

function loadSession(env: Env, isProduction: boolean, secureCookies: boolean): SessionSettings {
  let secret = read(env, 'SESSION_SECRET')
  let secretGenerated = false
  if (secret === undefined) {
    if (isProduction) {
      throw new ConfigError(
        'SESSION_SECRET',
        'is required when NODE_ENV=production: at least 32 random characters (e.g. `openssl rand -base64 48`)',
      )
    }
    secret = randomBytes(32).toString('base64url')
    secretGenerated = true
  } else if (secret.length < 32) {
    throw new ConfigError('SESSION_SECRET', `must be at least 32 characters long (got ${secret.length})`)
  }

  const idleTimeoutMs = readDuration(env, 'SESSION_IDLE_TIMEOUT', '24h', 1000)
  const maxAgeMs = readDuration(env, 'SESSION_MAX_AGE', '7d', 1000)
  if (idleTimeoutMs > maxAgeMs) {
    throw new ConfigError(
      'SESSION_IDLE_TIMEOUT',
      `(${formatDuration(idleTimeoutMs)}) must not be longer than SESSION_MAX_AGE (${formatDuration(maxAgeMs)})`,
    )
  }

  const store = read(env, 'SESSION_STORE') ?? 'memory'
  if (store !== 'memory' && store !== 'redis') {
    throw new ConfigError('SESSION_STORE', `expected "memory" or "redis", got "${store}"`)
  }
  const redisUrl = read(env, 'REDIS_URL')
  if (store === 'redis') {
    if (redisUrl === undefined) {
      throw new ConfigError('REDIS_URL', 'is required when SESSION_STORE=redis (e.g. redis://127.0.0.1:6379)')
    }
    let parsed: URL
    try {
      parsed = new URL(redisUrl)
    } catch {
      throw new ConfigError('REDIS_URL', 'expected a URL like redis://host:6379 or rediss://host:6380')
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
      throw new ConfigError('REDIS_URL', `expected a redis:// or rediss:// URL, got "${parsed.protocol}//…"`)
    }
  }

  return {
    secret,
    secretGenerated,
    cookieName: secureCookies ? '__Host-sid' : 'sid',
    idleTimeoutMs,
    maxAgeMs,
    store,
    memoryMax: readInt(env, 'SESSION_MEMORY_MAX', 10_000, 1, 10_000_000),
    redisUrl: store === 'redis' ? redisUrl : undefined,
    redisPrefix: read(env, 'REDIS_KEY_PREFIX') ?? 'cognito-ssr:sess:',
    refreshMarginMs: readDuration(env, 'TOKEN_REFRESH_MARGIN', '60s', 0),
  }
}

const CLIENT_ID = /^[\w+]{1,128}$/
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/

function loadApi(env: Env): ApiSettings {
  const ownClientId = read(env, 'COGNITO_CLIENT_ID')
  const extra = (read(env, 'API_ALLOWED_CLIENT_IDS') ?? '').split(/[\s,]+/).filter(Boolean)
  for (const id of extra) {
    if (!CLIENT_ID.test(id)) {
      throw new ConfigError('API_ALLOWED_CLIENT_IDS', `expected app client ids separated by commas, got "${id}"`)
    }
  }
  const requiredScope = read(env, 'API_REQUIRED_SCOPE')
  if (requiredScope !== undefined && !SCOPE.test(requiredScope)) {
    throw new ConfigError('API_REQUIRED_SCOPE', `expected one scope such as "myapi/read", got "${requiredScope}"`)
  }
  return {
    allowedClientIds: [...new Set([...(ownClientId ? [ownClientId] : []), ...extra])],
    requiredScope,
    jwksCooldownMs: readDuration(env, 'API_JWKS_REFETCH_COOLDOWN', '30s', 0),
  }
}

function loadTrustProxy(env: Env): boolean | number | string {
  const raw = read(env, 'TRUST_PROXY')
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return Number(raw)
  if (/^[\d.:a-fA-F/,\s]+$/.test(raw)) return raw
  throw new ConfigError('TRUST_PROXY', `expected true, false, a hop count or a list of proxy addresses, got "${raw}"`)
}

/**
 * Reads and validates the whole configuration from an environment map.
 * Pure: the same env gives the same config (but for a generated development session secret).
 * Throws a ConfigError that names the variable and what is expected.
 */
export function loadConfig(env: Env): Config {
  const nodeEnv = read(env, 'NODE_ENV') ?? 'development'
  const isProduction = nodeEnv === 'production'
  const base = loadAppBaseUrl(env)
  const appBaseUrl = base.origin
  const secureCookies = base.protocol === 'https:'
  const config: Config = {
    nodeEnv,
    isProduction,
    host: read(env, 'HOST') ?? '127.0.0.1',
    port: readInt(env, 'PORT', 3000, 0, 65535),
    appBaseUrl,
    redirectUri: `${appBaseUrl}/auth/callback`,
    postLogoutRedirectUri: `${appBaseUrl}/logged-out`,
    secureCookies,
    cognito: loadCognito(env, isProduction),
    session: loadSession(env, isProduction, secureCookies),
    // After loadCognito, which has validated COGNITO_CLIENT_ID.
    api: loadApi(env),
    trustProxy: loadTrustProxy(env),
    rateLimitSignIn: readInt(env, 'RATE_LIMIT_SIGNIN', 30, 1, 100_000),
    logLevel: readChoice(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    accessLog: readChoice(env, 'ACCESS_LOG', ACCESS_LOG_MODES, isProduction ? 'errors' : 'all'),
    viewCache: readBoolean(env, 'VIEW_CACHE', true),
    localCognitoPort: readInt(env, 'LOCAL_COGNITO_PORT', 9099, 0, 65535),
  }
  return deepFreeze(config)
}
