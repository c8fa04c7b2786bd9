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
 * value's identity tells whether it changed: the fingerprint is each field's name
 * with its primitive value or, for an object, a number that stands for that object. Same answers as
 * the original for this app's sessions; a replaced object always counts as a change, even when equal
 * (at worst one write more).
 *
 * @fastify/session (version 11) has no public extension point for this check (its options are the
 * store, secret or signer, cookie name and prefix, cookie, idGenerator, saveUninitialized, rolling and
 * algorithm), so the replacement stays here, in one module, with its guard test.
 * The check is @fastify/session's private `[hash]` method of its Session class. installFingerprint()
 * replaces it when it is found exactly as expected (version 11's shape) and reports whether it did;
 * test/session/fingerprint.test.ts fails if an upgrade moves it, so it cannot go missing
 * unnoticed. Where it is not found, @fastify/session's own check stays: slower, never wrong.
 */
import { createRequire } from 'node:module'

type SessionClass = { prototype: Record<PropertyKey, unknown> }

const ids = new WeakMap<object, number>()
let nextId = 0

function idOf(value: object): number {
  let id = ids.get(value)
  if (id === undefined) {
    id = ++nextId
    ids.set(value, id)
  }
  return id
}

/** The fingerprint of a session's fields (all own enumerable string keys but `cookie`). */
export function fingerprint(session: object): string {
  let out = ''
  for (const key of Object.keys(session)) {
    if (key === 'cookie') continue
    const value = (session as Record<string, unknown>)[key]
    let part: string
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) part = `#${idOf(value)}`
    else if (typeof value === 'string') part = `s${value.length}:${value}`
    else part = `${typeof value}:${String(value)}`
    out += `${key.length}:${key}=${part};`
  }
  return out
}

let installed: boolean | undefined

/** Puts `fingerprint` in place of @fastify/session's change check; true when it is in place. */
export function installFingerprint(): boolean {
  if (installed !== undefined) return installed
  installed = false
  try {
    const Session = createRequire(import.meta.url)('@fastify/session/lib/session.js') as SessionClass
    const proto = Session.prototype
    const hashKey = Object.getOwnPropertySymbols(proto).find((symbol) => symbol.description === 'hash')
    if (hashKey !== undefined && typeof proto[hashKey] === 'function' && typeof proto.isModified === 'function') {
      proto[hashKey] = function sessionFingerprint(this: object): string {
        return fingerprint(this)
      }
      installed = true
    }
  } catch {
    installed = false
  }
  return installed
}
