/**
 * Keeps a session's tokens fresh. Single-flight: concurrent requests on one session share one
 * refresh grant in this process (a shared promise) and across instances (a short lock in the session
 * store; the other instances wait and reread the session the winner saved).
 */
import type { FastifySessionObject as Session } from '@fastify/session'
import type { Session as SessionData } from 'fastify'
import { CognitoError } from './errors.js'
import { refreshTokens, type OidcProvider, type SignedIn } from './oidc.js'
import type { ResilientStore } from './plugins/session.js'

export const REFRESH_LOCK_TTL_MS = 15_000
const POLL_INTERVAL_MS = 50

export type RefreshOutcome =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'refreshed'; readonly signedIn: SignedIn }
  /** Cognito refused the refresh token (revoked, expired, user disabled): the session must end. */
  | { readonly kind: 'ended' }
  /** Cognito could not be reached; `usable` says whether the current access token is still valid. */
  | { readonly kind: 'unavailable'; readonly usable: boolean; readonly error: Error }

export function needsRefresh(session: SessionData, marginMs: number, now = Date.now()): boolean {
  return session.tokens !== undefined && session.tokens.accessExpiresAt - marginMs <= now
}

interface Deps {
  provider: OidcProvider
  store: ResilientStore
  marginMs: number
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function isFresh(session: SessionData | null, marginMs: number): session is SessionData & Required<Pick<SessionData, 'tokens' | 'user'>> {
  return !!session?.tokens && !!session.user && !needsRefresh(session, marginMs)
}

/** One per app instance: its in-flight refreshes are shared by that instance's concurrent requests. */
export class TokenRefresher {
  readonly #inFlight = new Map<string, Promise<RefreshOutcome>>()

  constructor(private readonly deps: Deps) {}

  /** Signed in with tokens that need no refresh yet: nothing to wait for. */
  isFresh(session: SessionData | null | undefined): boolean {
    return isFresh(session ?? null, this.deps.marginMs)
  }

  /**
   * Refreshes the session's tokens if they expire within the margin. `save` persists the request's
   * session (so waiting instances can read it) before the lock is released.
   */
  ensureFresh(session: Session, save: (signedIn: SignedIn) => Promise<void>): Promise<RefreshOutcome> {
    if (!needsRefresh(session, this.deps.marginMs)) return Promise.resolve({ kind: 'fresh' })
    const key = session.sessionId
    let pending = this.#inFlight.get(key)
    if (!pending) {
      pending = refreshOnce(this.deps, session, save).finally(() => this.#inFlight.delete(key))
      this.#inFlight.set(key, pending)
    }
    return pending
  }
}

async function refreshOnce(
  deps: Deps,
  session: Session,
  save: (signedIn: SignedIn) => Promise<void>,
): Promise<RefreshOutcome> {
  const { provider, store, marginMs } = deps
  const lockKey = `refresh:${session.sessionId}`
  const deadline = Date.now() + REFRESH_LOCK_TTL_MS
  try {
    let lock = await store.tryLock(lockKey, REFRESH_LOCK_TTL_MS)
    while (lock === null) {
      // Another instance is refreshing: wait for the session it saves.
      await sleep(POLL_INTERVAL_MS)
      const latest = await store.read(session.sessionId)
      if (!latest?.user) return { kind: 'ended' }
      if (isFresh(latest, marginMs)) return { kind: 'refreshed', signedIn: { user: latest.user, tokens: latest.tokens } }
      if (Date.now() > deadline) throw new CognitoError('timeout', 'waited too long for another instance to refresh')
      lock = await store.tryLock(lockKey, REFRESH_LOCK_TTL_MS)
    }
    try {
      // Another instance may have refreshed between our read and our lock.
      const latest = await store.read(session.sessionId)
      if (!latest?.user) return { kind: 'ended' }
      if (isFresh(latest, marginMs)) return { kind: 'refreshed', signedIn: { user: latest.user, tokens: latest.tokens } }
      const signedIn = await refreshTokens(provider, latest.tokens ?? (session.tokens as NonNullable<Session['tokens']>), latest.user)
      await save(signedIn)
      return { kind: 'refreshed', signedIn }
    } finally {
      await store.unlock(lockKey, lock).catch(() => undefined)
    }
  } catch (error) {
    if (error instanceof CognitoError && error.kind === 'invalid-grant') return { kind: 'ended' }
    const usable = (session.tokens?.accessExpiresAt ?? 0) > Date.now()
    return { kind: 'unavailable', usable, error: error as Error }
  }
}
