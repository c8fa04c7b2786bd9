/** What `remainingMs` reads from a session: a live `@fastify/session` Session or its JSON form. */
export interface SessionTtlInput {
  /** Epoch ms the idle window was last slid from (the session plugin's field); preferred over the cookie's expiry. */
  lastSeenAt?: unknown
  cookie?: { expires?: Date | string | number | null | undefined } | null | undefined
  /** Optional absolute lifetime end, epoch milliseconds. */
  absoluteExpiresAt?: unknown
}

function toEpochMs (value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined
  let ms: number
  if (value instanceof Date) ms = value.getTime()
  else if (typeof value === 'number') ms = value
  else if (typeof value === 'string') ms = value === '' ? Number.NaN : new Date(value).getTime()
  else return undefined
  return Number.isFinite(ms) ? ms : undefined
}

/**
 * Milliseconds the session may still live: the smaller of
 * `lastSeenAt + idleMs - now` (when both are known; the session's own clock), else
 * `cookie.expires - now` (when the cookie has an expiry), and
 * `absoluteExpiresAt - now` (when that numeric epoch-ms field is present).
 * `undefined` when neither is set (callers then use their default TTL).
 * A result ≤ 0 means the session has expired.
 */
export function remainingMs (session: SessionTtlInput | null | undefined, now: number, idleMs?: number): number | undefined {
  if (session === null || session === undefined) return undefined
  const candidates: number[] = []
  const lastSeenAt = session.lastSeenAt
  if (idleMs !== undefined && typeof lastSeenAt === 'number' && Number.isFinite(lastSeenAt)) {
    candidates.push(lastSeenAt + idleMs - now)
  } else {
    const cookieExpires = toEpochMs(session.cookie?.expires)
    if (cookieExpires !== undefined) candidates.push(cookieExpires - now)
  }
  const absolute = session.absoluteExpiresAt
  if (typeof absolute === 'number' && Number.isFinite(absolute)) candidates.push(absolute - now)
  if (candidates.length === 0) return undefined
  return Math.min(...candidates)
}

/**
 * TTL to give a store entry: `remainingMs` with the idle window `defaultTtlMs`, or `defaultTtlMs` when
 * the session carries no expiry. Returns a whole number of ms ≥ 1, or 0 when already expired.
 */
export function storeTtlMs (session: SessionTtlInput | null | undefined, now: number, defaultTtlMs: number): number {
  const remaining = remainingMs(session, now, defaultTtlMs) ?? defaultTtlMs
  if (!(remaining > 0)) return 0
  return Math.max(1, Math.ceil(remaining))
}
