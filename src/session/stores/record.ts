/**
 * How both session stores write a session and read it back.
 *
 * Tokens, like every session value, are replaced, never changed in place (the rule in ../plugin.ts). A token set read back
 * from a store is a StoredTokenSet, whose JSON form is a short tag (the expiry and the tails of the
 * tokens' signatures) instead of the tokens: a stored token set that reaches a log line or any other
 * JSON by mistake shows no token, and where @fastify/session's own change check is in use (stable
 * JSON + SHA-256 of the session, see fingerprint.ts) it stays right, because a new set has a
 * different JSON form, for a fraction of the cost. The stores write the tokens themselves
 * (serializeSession).
 *
 * The record leaves out the session's `cookie`: its attributes come from the configuration, and its
 * expiry is the store entry's own TTL (the idle window, slid with `lastSeenAt`, and the absolute
 * lifetime). @fastify/session rebuilds a restored session's cookie from its options when the record
 * has none, which spares each page view a merge of the stored cookie into those options (an object
 * spread that Node 20 runs on its slow path, about 4 µs).
 */
import type { Session } from 'fastify'
import { deepFreeze } from '../../lib/deep-freeze.js'

/** The sign-in component's token set, as this module sees it (structurally: the session layer does not import auth). */
export interface TokenSet {
  readonly idToken: string
  readonly accessToken: string
  readonly refreshToken: string | undefined
  readonly accessExpiresAt: number
}

/** Characters kept from the end of each token: the end of its signature (or JWE tag), unique per token. */
const TAIL = 16

/** A token set as read from a store: the tokens, plus a JSON form that is a tag, not the tokens. */
export class StoredTokenSet implements TokenSet {
  readonly idToken: string
  readonly accessToken: string
  readonly refreshToken: string | undefined
  readonly accessExpiresAt: number
  readonly #tag: string

  constructor(tokens: TokenSet) {
    this.idToken = tokens.idToken
    this.accessToken = tokens.accessToken
    this.refreshToken = tokens.refreshToken
    this.accessExpiresAt = tokens.accessExpiresAt
    this.#tag = `tokens:${tokens.accessExpiresAt}:${tail(tokens.accessToken)}:${tail(tokens.idToken)}:${tail(tokens.refreshToken)}`
    Object.freeze(this)
  }

  /** What JSON.stringify, loggers and @fastify/session's change check see. */
  toJSON(): string {
    return this.#tag
  }

  /** The tokens as a plain object, for writing to a store. */
  toRecord(): TokenSet {
    return {
      idToken: this.idToken,
      accessToken: this.accessToken,
      refreshToken: this.refreshToken,
      accessExpiresAt: this.accessExpiresAt,
    }
  }
}

function tail(token: string | undefined): string {
  return token === undefined ? '' : token.slice(-TAIL)
}

/** The session as JSON text for a store: tokens included (whether read from a store or just issued), cookie left out. */
export function serializeSession(session: Session): string {
  const tokens = (session as { tokens?: unknown }).tokens
  return JSON.stringify({
    ...session,
    cookie: undefined,
    tokens: tokens instanceof StoredTokenSet ? tokens.toRecord() : tokens,
  })
}

/**
 * The session from a store's JSON text, deep-frozen (the rule in ../plugin.ts; see
 * fingerprint.ts); undefined when the text is not a JSON object.
 */
export function parseSession(json: string): Session | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const session = parsed as Session
  // Records written before the cookie was left out still carry one.
  if ('cookie' in session) delete (session as { cookie?: unknown }).cookie
  const record = session as { tokens?: unknown }
  if (isTokenSet(record.tokens)) record.tokens = new StoredTokenSet(record.tokens)
  return deepFreeze(session)
}

function isTokenSet(value: unknown): value is TokenSet {
  const tokens = value as TokenSet | undefined
  return (
    typeof tokens === 'object' &&
    tokens !== null &&
    typeof tokens.idToken === 'string' &&
    typeof tokens.accessToken === 'string' &&
    typeof tokens.accessExpiresAt === 'number' &&
    (tokens.refreshToken === undefined || typeof tokens.refreshToken === 'string')
  )
}
