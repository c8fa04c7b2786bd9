/** The session unit: the plugin, its stores and what the rest of the app may use of them. */
import type { Clock } from '../lib/clock.js'
import type { Secrets } from '../lib/secrets.js'
import { MemorySessionStore } from './stores/memory.js'
import { createTokenSealer } from './stores/token-sealer.js'
import type { AppSessionStore } from './stores/types.js'

export {
  default as sessionPlugin,
  touchIntervalMs,
  USER_AGENT_MAX,
  type OwnedSession,
  type PersonSessions,
  type SessionPluginOptions,
} from './plugin.js'
export { ResilientStore } from './resilient-store.js'
export { MemorySessionStore } from './stores/memory.js'
export { SessionStoreUnavailableError, type AppSessionStore } from './stores/types.js'
export { createTokenSealer, type TokenSealer } from './stores/token-sealer.js'

export interface StoreSettings {
  readonly store: 'memory' | 'redis'
  readonly redisUrl: string | undefined
  /** Connect to a Redis Cluster: redisUrl names one or more seed nodes, separated by commas. */
  readonly redisCluster?: boolean
  readonly redisPrefix: string
  readonly idleTimeoutMs: number
  /** The longest a session lives: a person's index in Redis is kept at least this long. */
  readonly maxAgeMs: number
  readonly memoryMax: number
}

/**
 * The store the settings name: Redis (its own client, closed with the store) or the bounded memory
 * store, either one sealing the tokens in each record with a key derived from `secrets`. The Redis
 * store (and with it ioredis) is loaded only when it is the one named: a memory-store app never
 * loads the Redis client. Hosts that build a Redis store themselves import it from `./session/redis`.
 */
export async function createSessionStore(
  settings: StoreSettings,
  log: { warn(msg: string): void },
  clock: Clock,
  secrets: Secrets,
): Promise<AppSessionStore> {
  const now = () => clock.now()
  const tokenSealer = createTokenSealer(secrets)
  if (settings.store === 'redis') {
    const { RedisSessionStore } = await import('./stores/redis.js')
    return new RedisSessionStore({
      url: settings.redisUrl as string,
      cluster: settings.redisCluster === true,
      prefix: settings.redisPrefix,
      defaultTtlMs: settings.idleTimeoutMs,
      indexTtlMs: settings.maxAgeMs,
      logger: log,
      now,
      tokenSealer,
    })
  }
  return new MemorySessionStore({ maxSessions: settings.memoryMax, defaultTtlMs: settings.idleTimeoutMs, now, tokenSealer })
}
