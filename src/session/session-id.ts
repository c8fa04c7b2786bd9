/**
 * Session ids, and the names derived from them that may be shown or logged instead.
 *
 * A signed-in session's id is its owner's tag (TAG_LENGTH base64url characters of an HMAC of the
 * owner's id, the Cognito `sub`, under a key derived from the session secret: the cookie carries no
 * personal data) followed by 32 base64url characters, 192 random bits. The tag groups one person's
 * sessions: the Redis store keeps a session, its refresh lock and its person's index under that tag
 * (one hash tag, so one Redis Cluster slot). Two people may now and then share a tag; every list of a
 * person's sessions checks each record's owner. An id without a tag (an anonymous visitor's, or a
 * session made before tags) is the 32 random characters alone, and is read as before.
 *
 * Pages name a session by its handle (an HMAC of the id under another derived key) and log lines by
 * a short hash of the id: neither gives the id back.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { deriveKeys, type Secrets } from '../lib/secrets.js'

export const TAG_LENGTH = 10
const RANDOM_BYTES = 24
export const RANDOM_LENGTH = 32 // base64url of RANDOM_BYTES

// Random bytes drawn in batches, as @fastify/session's own generator does: an id is made for every
// request without a session cookie (an anonymous page view), so making one must cost next to nothing.
const POOL_SIZE = RANDOM_BYTES * 128
let pool = randomBytes(POOL_SIZE)
let position = 0

/** 192 random bits as 32 base64url characters. */
export function randomSessionId(): string {
  if (position + RANDOM_BYTES > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE)
    position = 0
  }
  const id = pool.toString('base64url', position, position + RANDOM_BYTES)
  pool.fill(0, position, position + RANDOM_BYTES) // a drawn id is not left behind in the pool
  position += RANDOM_BYTES
  return id
}

/** The owner's tag in a tagged id; undefined for an id without one. */
export function tagOf(sessionId: string): string | undefined {
  return sessionId.length === TAG_LENGTH + RANDOM_LENGTH ? sessionId.slice(0, TAG_LENGTH) : undefined
}

/** A short hash of a session id for log lines: it tells one session from another, never gives the id. */
export function sessionRef(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url').slice(0, 12)
}

/** Tags and handles under keys derived from the session secrets (newest first). */
export class SessionNames {
  readonly #tagKeys: Uint8Array[]
  readonly #handleKey: Uint8Array
  readonly #nameKeys: Uint8Array[]

  constructor(secrets: Secrets) {
    this.#tagKeys = deriveKeys(secrets, 'session owner tag')
    this.#nameKeys = deriveKeys(secrets, 'person name')
    const [handleKey] = deriveKeys(secrets, 'session handle')
    if (handleKey === undefined) throw new TypeError('SessionNames needs a secret')
    this.#handleKey = handleKey
  }

  /** The tag new sessions of `owner` carry (under the newest secret). */
  tag(owner: string): string {
    return tagUnder(this.#tagKeys[0] as Uint8Array, owner)
  }

  /** Every tag `owner`'s sessions may carry: one per secret during a rotation, newest first. */
  tags(owner: string): string[] {
    return [...new Set(this.#tagKeys.map((key) => tagUnder(key, owner)))]
  }

  /** A new session id for `owner`: the owner's tag, then 192 random bits. */
  newId(owner: string): string {
    return this.tag(owner) + randomSessionId()
  }

  /**
   * What the store keeps for one of a person's other names (username, email): an HMAC of it, trimmed
   * and lower-cased (Cognito compares both without case), one per secret during a rotation, newest first.
   */
  personNames(name: string): string[] {
    const normal = name.trim().toLowerCase()
    return [...new Set(this.#nameKeys.map((key) => createHmac('sha256', key).update(normal).digest('base64url').slice(0, 22)))]
  }

  /** The name pages and forms use for a session (128 bits of an HMAC of its id). */
  handle(sessionId: string): string {
    return createHmac('sha256', this.#handleKey).update(sessionId).digest('base64url').slice(0, 22)
  }
}

function tagUnder(key: Uint8Array, owner: string): string {
  return createHmac('sha256', key).update(owner).digest('base64url').slice(0, TAG_LENGTH)
}
