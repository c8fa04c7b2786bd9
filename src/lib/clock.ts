/**
 * Time as a dependency: everything that reads the time (token expiry and the refresh margin, idle and
 * absolute session expiry, the sign-in transaction's lifetime, the JWKS cache, the memory store's
 * sweep) asks one clock, so tests move it instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
