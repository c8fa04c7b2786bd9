/**
 * loadConfig(env): the whole configuration, by section, validated at once. Pure: the same env gives
 * the same config (but for a generated development session secret). Every bad or missing variable is
 * reported in one ConfigError, a line each. Each plugin is given only its own section.
 */
import { deepFreeze } from '../lib/deep-freeze.js'
import {
  ANY_CLIENT_ID,
  readCognito,
  SCOPE,
  withPool as withPoolSettings,
  type CognitoSettings,
  type PendingCognitoSettings,
  type PoolCredentials,
} from './cognito.js'
import { ConfigError, EnvReader, formatConfigError, isLoopbackHost, type Env } from './reader.js'
import { readSession, type SessionSettings } from './session.js'

export { ConfigError, formatConfigError, isLoopbackHost, type ConfigProblem, type Env } from './reader.js'
export type { CognitoOptions, CognitoSettings, PoolCredentials } from './cognito.js'
export type { SessionSettings } from './session.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const ACCESS_LOG_MODES = ['all', 'errors', 'off'] as const
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]
export type AccessLogMode = (typeof ACCESS_LOG_MODES)[number]

/** How the process listens and logs. */
export interface ServerSettings {
  readonly host: string
  readonly port: number
  readonly trustProxy: boolean | number | string
  readonly logLevel: string
  /**
   * Which requests get an access-log line (ACCESS_LOG): `all`, `errors` (answered with 400 or more, or
   * failed) or `off`. Default `errors` with NODE_ENV=production, `all` otherwise. Security events
   * (sign-in, sign-out, refusals, error pages) are logged whatever this says.
   */
  readonly accessLog: AccessLogMode
  /** `auto`: readable lines when stdout is a terminal outside production, JSON otherwise. */
  readonly logFormat: LogFormat
  readonly localCognitoPort: number
}

/** This app's pages. */
export interface WebSettings {
  /** Origin of the app, no trailing slash, e.g. `http://localhost:3000`. */
  readonly baseUrl: string
  /** https base URL: Secure cookies, HSTS, upgrade-insecure-requests. */
  readonly secure: boolean
  /**
   * Compiled templates kept in memory (VIEW_CACHE, default true). false re-reads and recompiles
   * every template on every render, so that edits show without a restart.
   */
  readonly viewCache: boolean
  /** The site's name in titles, the header and the footer (APP_NAME). */
  readonly appName: string
  /** Whether people may create an account here (SIGNUP_ENABLED; the pool must allow self sign-up). */
  readonly signupEnabled: boolean
}

/** Who may call the JSON API with a Bearer access token (GET /api/me), besides the app's own client. */
export interface ApiSettings {
  /** API_ALLOWED_CLIENT_IDS: other app clients whose access tokens are accepted. */
  readonly extraClientIds: readonly string[]
  /** A scope every Bearer access token must carry (API_REQUIRED_SCOPE); undefined = none. */
  readonly requiredScope: string | undefined
  /** Least time between two JWKS fetches caused by an unknown key id (API_JWKS_REFETCH_COOLDOWN). */
  readonly jwksCooldownMs: number
}

export interface Config {
  readonly nodeEnv: string
  readonly isProduction: boolean
  readonly server: ServerSettings
  readonly web: WebSettings
  readonly cognito: CognitoSettings
  readonly session: SessionSettings
  readonly api: ApiSettings
}

/** What loadConfig returns: in development the pool may still be missing (the local Cognito provides one). */
export interface LoadedConfig extends Omit<Config, 'cognito'> {
  readonly cognito: CognitoSettings | PendingCognitoSettings
}

export function hasPool(config: LoadedConfig): config is Config {
  return config.cognito.issuer !== undefined
}

/** The configuration with a pool filled in (the local Cognito's, in development). */
export function withPool(config: LoadedConfig, pool: PoolCredentials): Config {
  return deepFreeze({ ...config, cognito: withPoolSettings(config.cognito, pool) })
}

/** APP_BASE_URL, or (outside production, where it is required) `http://localhost:<PORT>`. */
function readBaseUrl(read: EnvReader, port: number): URL {
  const fallback = new URL(`http://localhost:${port === 0 ? 3000 : port}`)
  const raw = read.string('APP_BASE_URL') ?? fallback.href
  const url = read.url('APP_BASE_URL', raw)
  if (!url) return fallback
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    read.fail('APP_BASE_URL', `expected an origin such as https://app.example.com with no path, got "${raw}"`)
    return fallback
  }
  return url
}

function readAppName(read: EnvReader): string {
  const name = read.string('APP_NAME')?.trim()
  if (name === undefined || name === '') return 'Cognito Sign-in'
  if (name.length > 60 || /[\u0000-\u001f\u007f]/.test(name)) {
    read.fail('APP_NAME', 'expected a short name (at most 60 characters, no control characters)')
  }
  return name
}

function readLogFormat(read: EnvReader, isProduction: boolean): LogFormat {
  const format = read.choice('LOG_FORMAT', LOG_FORMATS, 'auto')
  if (format === 'pretty' && isProduction) {
    read.fail('LOG_FORMAT', 'must not be pretty when NODE_ENV=production: log collectors read JSON (leave it unset)')
  }
  return isProduction ? 'json' : format
}

function readTrustProxy(read: EnvReader, isProduction: boolean): boolean | number | string {
  const raw = read.string('TRUST_PROXY')
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') {
    // `true` takes the left-most X-Forwarded-For address, which any client can write: a forged
    // address per request would buy a new rate-limit budget each time.
    if (isProduction) {
      read.fail(
        'TRUST_PROXY',
        'must not be true when NODE_ENV=production (the client could choose its own address): set the number of proxies in front of the app (1 behind one load balancer) or their addresses (e.g. 10.0.0.0/8)',
      )
    }
    return true
  }
  if (/^\d+$/.test(raw)) return Number(raw)
  if (/^[\d.:a-fA-F/,\s]+$/.test(raw)) return raw
  read.fail('TRUST_PROXY', `expected true, false, a hop count or a list of proxy addresses, got "${raw}"`)
  return false
}

function readApi(read: EnvReader): ApiSettings {
  const extraClientIds = read.list('API_ALLOWED_CLIENT_IDS')
  const bad = extraClientIds.find((id) => !ANY_CLIENT_ID.test(id))
  if (bad !== undefined) read.fail('API_ALLOWED_CLIENT_IDS', `expected app client ids separated by commas, got "${bad}"`)
  const requiredScope = read.string('API_REQUIRED_SCOPE')
  if (requiredScope !== undefined && !SCOPE.test(requiredScope)) {
    read.fail('API_REQUIRED_SCOPE', `expected one scope such as "myapi/read", got "${requiredScope}"`)
  }
  return { extraClientIds, requiredScope, jwksCooldownMs: read.duration('API_JWKS_REFETCH_COOLDOWN', '30s', 0) }
}

/**
 * Reads and validates the whole configuration from an environment map. Throws one ConfigError that
 * names every bad or missing variable and what each expects.
 */
export function loadConfig(env: Env): LoadedConfig {
  const read = new EnvReader(env)
  const nodeEnv = read.string('NODE_ENV') ?? 'development'
  const isProduction = nodeEnv === 'production'
  const port = read.int('PORT', 3000, 0, 65535)
  const base = readBaseUrl(read, port)
  const secure = base.protocol === 'https:'
  const config: LoadedConfig = {
    nodeEnv,
    isProduction,
    server: {
      host: read.string('HOST') ?? '127.0.0.1',
      port,
      trustProxy: readTrustProxy(read, isProduction),
      logLevel: read.choice('LOG_LEVEL', LOG_LEVELS, 'info'),
      accessLog: read.choice('ACCESS_LOG', ACCESS_LOG_MODES, isProduction ? 'errors' : 'all'),
      logFormat: readLogFormat(read, isProduction),
      localCognitoPort: read.int('LOCAL_COGNITO_PORT', 9099, 0, 65535),
    },
    web: {
      baseUrl: base.origin,
      secure,
      viewCache: read.boolean('VIEW_CACHE', true),
      appName: readAppName(read),
      signupEnabled: read.boolean('SIGNUP_ENABLED', true),
    },
    cognito: readCognito(read, nodeEnv),
    session: readSession(read, isProduction, secure),
    api: readApi(read),
  }
  if (isProduction) requireHttpsBaseUrl(read, base)
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  return deepFreeze(config)
}

/**
 * Production serves over https: APP_BASE_URL must be set and https (so cookies are Secure with the
 * `__Host-` prefix, and HSTS is sent); plain http only on a loopback host, to try a production build
 * on this machine.
 */
function requireHttpsBaseUrl(read: EnvReader, base: URL): void {
  if (read.string('APP_BASE_URL') === undefined) {
    read.fail('APP_BASE_URL', 'is required when NODE_ENV=production: the public https origin of the app, e.g. https://app.example.com')
  } else if (base.protocol !== 'https:' && !isLoopbackHost(base.hostname)) {
    read.fail(
      'APP_BASE_URL',
      `must use https:// when NODE_ENV=production (plain http only on localhost, 127.0.0.1 or [::1], to try a production build), got "${base.origin}"`,
    )
  }
}

/**
 * loadConfig for the commands (server, doctor): the configuration, or undefined after writing every
 * problem to `stderr`, a line each.
 */
export function loadConfigOrReport(env: Env, stderr: { write(text: string): unknown }): LoadedConfig | undefined {
  try {
    return loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    stderr.write(formatConfigError(error))
    return undefined
  }
}

/** loadConfig for callers that need a pool (tests, tools): a ConfigError names COGNITO_USER_POOL_ID when there is none. */
export function loadPoolConfig(env: Env): Config {
  const config = loadConfig(env)
  if (!hasPool(config)) {
    throw new ConfigError([{ variable: 'COGNITO_USER_POOL_ID', message: 'is required (or set COGNITO_ISSUER)' }])
  }
  return config
}
