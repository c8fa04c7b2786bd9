/**
 * Holds the discovered Configuration and the pool's keys. Discovery runs once (single-flight); while
 * Cognito cannot be reached it is retried in the background with capped backoff, so the app starts
 * and serves public pages meanwhile.
 */
import type { Configuration } from 'openid-client'
import type { Clock } from '../lib/clock.js'
import { CognitoError, DiscoveryUnavailableError, networkError } from './errors.js'
import { discover, jwksUriOf } from './flow.js'
import { JwksCache } from './jwks.js'
import type { Logger, PoolSettings } from './types.js'

export class OidcProvider {
  #configuration: Configuration | undefined
  #pending: Promise<Configuration> | undefined
  #retryTimer: NodeJS.Timeout | undefined
  #closed = false
  /** The pool's signing keys: the one cache for ID tokens and Bearer access tokens. */
  readonly jwks: JwksCache

  constructor(
    readonly settings: PoolSettings,
    private readonly log: Logger,
    readonly clock: Clock,
    jwksCooldownMs?: number,
  ) {
    this.jwks = new JwksCache({
      // The discovered jwks_uri once discovery has run; Cognito's fixed location before that.
      jwksUri: () => jwksUriOf(this.#configuration, settings.issuer),
      timeoutMs: settings.timeoutMs,
      allowInsecureRequests: settings.allowInsecureRequests,
      clock,
      ...(jwksCooldownMs === undefined ? {} : { cooldownMs: jwksCooldownMs }),
    })
  }

  get configuration(): Configuration | undefined {
    return this.#configuration
  }

  get isReady(): boolean {
    return this.#configuration !== undefined
  }

  /** Returns the Configuration, discovering it first if needed. Throws CognitoError when unreachable. */
  async getConfiguration(): Promise<Configuration> {
    if (this.#configuration) return this.#configuration
    this.#pending ??= discover(this.settings)
      .then(
        (configuration) => {
          this.#configuration = configuration
          this.log.info({ issuer: this.settings.issuer }, 'Cognito discovery loaded')
          return configuration
        },
        (error: unknown) => {
          throw new DiscoveryUnavailableError(error instanceof CognitoError ? error : networkError(error))
        },
      )
      .finally(() => {
        this.#pending = undefined
      })
    return this.#pending
  }

  /** Starts discovery now and keeps retrying with capped exponential backoff until it succeeds. */
  startDiscovery(initialDelayMs = 500, maxDelayMs = 30_000): void {
    const attempt = (delay: number): void => {
      if (this.#closed || this.#configuration) return
      this.getConfiguration().catch((error: unknown) => {
        if (this.#closed) return
        const reason = error instanceof CognitoError ? error.kind : 'unknown error'
        // "Cognito discovery failed at <issuer>: Cognito could not be reached: connect ECONNREFUSED …"
        const message = error instanceof Error ? error.message : String(error)
        this.log.warn({ retryInMs: delay, reason }, `Cognito discovery failed at ${this.settings.issuer}: ${message}; retrying`)
        this.#retryTimer = setTimeout(() => attempt(Math.min(delay * 2, maxDelayMs)), delay)
        this.#retryTimer.unref()
      })
    }
    attempt(initialDelayMs)
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#retryTimer)
  }
}
