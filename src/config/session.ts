/** The session section: the cookie's secret and lifetimes, and where sessions are kept. */
import { randomBytes } from 'node:crypto'
import { formatDuration } from '../lib/duration.js'
import { parseClusterUrls } from '../lib/redis-urls.js'
import type { EnvReader } from './reader.js'

export interface SessionSettings {
  /** The newest secret: signs new session cookies and seals new sign-in cookies. */
  readonly secret: string
  /** Every secret, newest first (SESSION_SECRET=new,old): all of them verify, during a rotation. */
  readonly secrets: readonly string[]
  /** True when no SESSION_SECRET was given and a random one was made (development only). */
  readonly secretGenerated: boolean
  readonly cookieName: string
  /** Cookies get `Secure` (and the `__Host-` prefix) when the base URL is https. */
  readonly secureCookies: boolean
  readonly idleTimeoutMs: number
  readonly maxAgeMs: number
  readonly store: 'memory' | 'redis'
  readonly memoryMax: number
  /** How many sessions one person may hold (SESSION_MAX_PER_USER); a sign-in beyond it ends their least recently used one. */
  readonly maxPerUser: number
  /** How recent a sign-in sensitive actions ask for (RECENT_SIGNIN_MAX_AGE); older, the person signs in again first. */
  readonly recentSignInMaxAgeMs: number
  /** REDIS_URL: one URL, or with redisCluster the cluster's seed nodes separated by commas. */
  readonly redisUrl: string | undefined
  /** REDIS_CLUSTER: Redis Cluster mode (ElastiCache cluster mode or Serverless, MemoryDB). */
  readonly redisCluster: boolean
  readonly redisPrefix: string
}

function readSecrets(read: EnvReader, isProduction: boolean): { secret: string; secrets: string[]; secretGenerated: boolean } {
  const raw = read.string('SESSION_SECRET')
  if (raw === undefined) {
    if (isProduction) {
      read.fail('SESSION_SECRET', 'is required when NODE_ENV=production: at least 32 random characters (e.g. `openssl rand -base64 48`)')
    }
    const secret = randomBytes(32).toString('base64url')
    return { secret, secrets: [secret], secretGenerated: true }
  }
  // Several secrets, newest first, separated by commas: the first signs and seals, all verify.
  const secrets = raw.split(',').map((secret) => secret.trim())
  secrets.forEach((secret, index) => {
    if (secret.length < 32) {
      const which = secrets.length > 1 ? ` (secret ${index + 1} of ${secrets.length})` : ''
      read.fail('SESSION_SECRET', `must be at least 32 characters long${which} (got ${secret.length})`)
    }
  })
  return { secret: secrets[0] as string, secrets, secretGenerated: false }
}

function readRedisUrl(read: EnvReader, store: 'memory' | 'redis', cluster: boolean): string | undefined {
  const redisUrl = read.string('REDIS_URL')
  if (store !== 'redis') return undefined
  if (redisUrl === undefined) return read.fail('REDIS_URL', 'is required when SESSION_STORE=redis (e.g. redis://127.0.0.1:6379)')
  if (cluster) {
    try {
      parseClusterUrls(redisUrl)
    } catch (error) {
      return read.fail('REDIS_URL', `with REDIS_CLUSTER=true, one or more seed nodes separated by commas: ${(error as Error).message}`)
    }
    return redisUrl
  }
  if (/[\s,]/.test(redisUrl)) return read.fail('REDIS_URL', 'names several URLs: set REDIS_CLUSTER=true for a Redis Cluster, or give one URL')
  let parsed: URL
  try {
    parsed = new URL(redisUrl)
  } catch {
    return read.fail('REDIS_URL', 'expected a URL like redis://host:6379 or rediss://host:6380')
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return read.fail('REDIS_URL', `expected a redis:// or rediss:// URL, got "${parsed.protocol}//…"`)
  }
  return redisUrl
}

function readRedisPrefix(read: EnvReader): string {
  const prefix = read.string('REDIS_KEY_PREFIX') ?? 'cognito-ssr:sess:'
  // The keys' hash tags (Redis Cluster) follow the prefix: a brace in it would take their place.
  if (/[{}]/.test(prefix)) read.fail('REDIS_KEY_PREFIX', `must not contain { or } (got "${prefix}")`)
  return prefix
}

function readRedis(read: EnvReader, store: 'memory' | 'redis'): { redisUrl: string | undefined; redisCluster: boolean } {
  const redisCluster = read.boolean('REDIS_CLUSTER', false)
  return { redisUrl: readRedisUrl(read, store, redisCluster), redisCluster: store === 'redis' && redisCluster }
}

export function readSession(read: EnvReader, isProduction: boolean, secureCookies: boolean): SessionSettings {
  const idleTimeoutMs = read.duration('SESSION_IDLE_TIMEOUT', '24h', 1000)
  const maxAgeMs = read.duration('SESSION_MAX_AGE', '7d', 1000)
  if (idleTimeoutMs > maxAgeMs) {
    read.fail(
      'SESSION_IDLE_TIMEOUT',
      `(${formatDuration(idleTimeoutMs)}) must not be longer than SESSION_MAX_AGE (${formatDuration(maxAgeMs)})`,
    )
  }
  const rawStore = read.string('SESSION_STORE') ?? 'memory'
  let store: 'memory' | 'redis' = 'memory'
  if (rawStore === 'redis') store = 'redis'
  else if (rawStore !== 'memory') read.fail('SESSION_STORE', `expected "memory" or "redis", got "${rawStore}"`)
  return {
    ...readSecrets(read, isProduction),
    cookieName: secureCookies ? '__Host-sid' : 'sid',
    secureCookies,
    idleTimeoutMs,
    maxAgeMs,
    store,
    memoryMax: read.int('SESSION_MEMORY_MAX', 10_000, 1, 10_000_000),
    maxPerUser: read.int('SESSION_MAX_PER_USER', 20, 1, 10_000),
    recentSignInMaxAgeMs: read.duration('RECENT_SIGNIN_MAX_AGE', '10m', 10_000),
    ...readRedis(read, store),
    redisPrefix: readRedisPrefix(read),
  }
}
