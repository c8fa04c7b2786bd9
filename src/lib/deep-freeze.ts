/**
 * Freezes a value and everything reachable from it, so that it can only be replaced, never changed
 * in place: the configuration, and every session a store reads back (see session/fingerprint.ts).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}
