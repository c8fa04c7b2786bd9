/**
 * A cheaper change check for @fastify/session.
 *
 * @fastify/session decides whether a session must be written back by fingerprinting all of it when
 * it is read and again before the response: stable JSON of every field, then SHA-256. On a signed-in
 * page view that is the largest cost of the whole request (measured: ~0.15 of the ceiling's
 * throughput, more than every other hook together), and it is crypto that buys nothing here, as the
 * fingerprint never leaves the process.
 *
 * Under the rule stated in plugin.ts (a session's values are replaced, never changed in place), a
 * value's identity tells whether it changed: the fingerprint is a snapshot of the session's fields,
 * each field's name and value, and the session changed when a field was added, removed or holds
 * another value than the snapshot's (compared by identity: `===`, NaN equal to itself). No string is
 * built and nothing hashed, so an unchanged page view allocates one small array for it. Same answers
 * as the original for this app's sessions; a replaced object always counts as a change, even when
 * equal (at worst one write more).
 *
 * @fastify/session (version 11) has no public extension point for this check (its options are the
 * store, secret or signer, cookie name and prefix, cookie, idGenerator, saveUninitialized, rolling and
 * algorithm), so the replacement stays here, in one module, with its guard test.
 * The check is @fastify/session's private `[hash]` method of its Session class (its result is kept
 * in the private `[persistedHash]` field) and its `isModified`, which compares the two.
 * installFingerprint() replaces both when they are found exactly as expected (version 11's shape)
 * and reports whether it did;
 * test/session/fingerprint.test.ts fails if an upgrade moves it, so it cannot go missing
 * unnoticed. Where it is not found, @fastify/session's own check stays: slower, never wrong.
 */
import { createRequire } from 'node:module'

type SessionClass = { prototype: Record<PropertyKey, unknown> }

/** The fingerprint of a session's fields (all own enumerable string keys but `cookie`): [name, value, name, value, …]. */
export function fingerprint(session: object): unknown[] {
  const out: unknown[] = []
  for (const key in session) {
    if (key === 'cookie' || !Object.hasOwn(session, key)) continue
    out.push(key, (session as Record<string, unknown>)[key])
  }
  return out
}

/** Whether a field of `session` was added, removed or given another value since `before` (its fingerprint) was taken. */
export function changedSince(before: unknown, session: object): boolean {
  if (!Array.isArray(before)) return true
  let i = 0
  for (const key in session) {
    if (key === 'cookie' || !Object.hasOwn(session, key)) continue
    if (i >= before.length || before[i] !== key) return true
    const was: unknown = before[i + 1]
    const is = (session as Record<string, unknown>)[key]
    // NaN is the one value not equal to itself.
    if (was !== is && !(was !== was && is !== is)) return true
    i += 2
  }
  return i !== before.length
}

let installed: boolean | undefined
/** @fastify/session's private field holding the fingerprint taken when the session was read or saved (found on the first session). */
let persistedKey: symbol | undefined

/** Puts `fingerprint` and `changedSince` in place of @fastify/session's change check; true when they are in place. */
export function installFingerprint(): boolean {
  if (installed !== undefined) return installed
  installed = false
  try {
    const Session = createRequire(import.meta.url)('@fastify/session/lib/session.js') as SessionClass
    const proto = Session.prototype
    const hashKey = Object.getOwnPropertySymbols(proto).find((symbol) => symbol.description === 'hash')
    if (hashKey !== undefined && typeof proto[hashKey] === 'function' && typeof proto.isModified === 'function') {
      proto[hashKey] = function sessionFingerprint(this: object): unknown[] {
        return fingerprint(this)
      }
      proto.isModified = function isModified(this: Record<symbol, unknown>): boolean {
        persistedKey ??= Object.getOwnPropertySymbols(this).find((symbol) => symbol.description === 'persistedHash')
        // Not found (a changed @fastify/session): say changed, which costs a write, never a lost change.
        return persistedKey === undefined || changedSince(this[persistedKey], this)
      }
      installed = true
    }
  } catch {
    installed = false
  }
  return installed
}
