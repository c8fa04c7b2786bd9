/**
 * Keeps a session's tokens fresh. Single-flight: concurrent requests on one session share one
 * refresh grant in this process (a shared promise) and across instances (a short lock in the session
 * store; the other instances wait and reread the session the winner saved).
 */
import type { Clock } from '../lib/clock.js'
import type { OidcProvider } from './discovery.js'
import { CognitoError } from './errors.js'
import { refreshTokens } from './flow.js'
import type { SignedIn, TokenSet } from './types.js'
import type { User } from './user.js'

const POLL_INTERVAL_MS = 50

/**
 * How long the cross-instance refresh lock is held at most: longer than a refresh can take, so that
 * it cannot expire mid-refresh and let another instance refresh the same token. A refresh may wait on
 * discovery, the token request and a JWKS download (each up to the Cognito timeout), then the store
 * write: three timeouts and 5 s more, never under 15 s.
 */
export function refreshLockTtlMs(cognitoTimeoutMs: number): number {
  return Math.max(15_000, 3 * cognitoTimeoutMs + 5_000)
}

/** What refresh reads of a session. */
export interface SignedInSession {
  readonly user?: User | undefined
  readonly tokens?: TokenSet | undefined
}

/** The session store as refresh needs it: read a session, and a short lock shared by every instance. */
export interface RefreshStore {
  read(sessionId: string): Promise<SignedInSession | null>
  /** Takes a lock for `ttlMs`; resolves to a token, or null when someone else holds it. */
  tryLock(key: string, ttlMs: number): Promise<string | null>
  unlock(key: string, token: string): Promise<void>
}

export type RefreshOutcome =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'refreshed'; readonly signedIn: SignedIn }
  /** Cognito refused the refresh token (revoked, expired, user disabled) or answered for another identity: the session must end. */
  | { readonly kind: 'ended' }
  /** Cognito could not be reached; `usable` says whether the current access token is still valid. */
  | { readonly kind: 'unavailable'; readonly usable: boolean; readonly error: Error }

interface Deps {
  provider: OidcProvider
  store: RefreshStore
  marginMs: number
  clock: Clock
  /** See refreshLockTtlMs. */
  lockTtlMs: number
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** One per app instance: its in-flight refreshes are shared by that instance's concurrent requests. */
export class TokenRefresher {
  readonly #inFlight = new Map<string, Promise<RefreshOutcome>>()

  constructor(private readonly deps: Deps) {}

  /** True when the tokens expire within the refresh margin. */
  needsRefresh(tokens: TokenSet): boolean {
    return tokens.accessExpiresAt - this.deps.marginMs <= this.deps.clock.now()
  }

  /** Signed in with tokens that need no refresh yet: nothing to wait for. */
  isFresh(session: SignedInSession | null | undefined): session is Required<SignedInSession> {
    return !!session?.tokens && !!session.user && !this.needsRefresh(session.tokens)
  }

  /**
   * Refreshes the session's tokens if they expire within the margin. `save` persists the request's
   * session (so waiting instances can read it) before the lock is released.
   */
  ensureFresh(
    sessionId: string,
    session: SignedInSession,
    save: (signedIn: SignedIn) => Promise<void>,
  ): Promise<RefreshOutcome> {
    if (!session.tokens || !this.needsRefresh(session.tokens)) return Promise.resolve({ kind: 'fresh' })
    let pending = this.#inFlight.get(sessionId)
    if (!pending) {
      pending = this.#refreshOnce(sessionId, session, save).finally(() => this.#inFlight.delete(sessionId))
      this.#inFlight.set(sessionId, pending)
    }
    return pending
  }

  async #refreshOnce(sessionId: string, session: SignedInSession, save: (signedIn: SignedIn) => Promise<void>): Promise<RefreshOutcome> {
    const { provider, store, clock, lockTtlMs } = this.deps
    const lockKey = `refresh:${sessionId}`
    const deadline = clock.now() + lockTtlMs
    const latestOutcome = (latest: SignedInSession | null): RefreshOutcome | undefined => {
      if (!latest?.user) return { kind: 'ended' }
      if (this.isFresh(latest)) return { kind: 'refreshed', signedIn: { user: latest.user, tokens: latest.tokens } }
      return undefined
    }
    try {
      let lock = await store.tryLock(lockKey, lockTtlMs)
      while (lock === null) {
        // Another instance is refreshing: wait for the session it saves.
        await sleep(POLL_INTERVAL_MS)
        const outcome = latestOutcome(await store.read(sessionId))
        if (outcome) return outcome
        if (clock.now() > deadline) throw new CognitoError('timeout', 'waited too long for another instance to refresh')
        lock = await store.tryLock(lockKey, lockTtlMs)
      }
      try {
        // Another instance may have refreshed between our read and our lock.
        const latest = await store.read(sessionId)
        const outcome = latestOutcome(latest)
        if (outcome) return outcome
        const signedIn = await refreshTokens(provider, latest?.tokens ?? (session.tokens as TokenSet), latest?.user as User)
        await save(signedIn)
        return { kind: 'refreshed', signedIn }
      } finally {
        await store.unlock(lockKey, lock).catch(() => undefined)
      }
    } catch (error) {
      // Refused by Cognito, or answered for someone else: the session cannot go on.
      if (error instanceof CognitoError && (error.kind === 'invalid-grant' || error.kind === 'identity-changed')) return { kind: 'ended' }
      const usable = (session.tokens?.accessExpiresAt ?? 0) > clock.now()
      return { kind: 'unavailable', usable, error: error as Error }
    }
  }
}
