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
import type { TokenSealer } from './token-sealer.js'

/** The sign-in component's token set, as this module sees it (structurally: the session layer does not import auth). */
export interface TokenSet {
  readonly idToken: string
  readonly accessToken: string
  readonly refreshToken: string | undefined
  readonly accessExpiresAt: number
}

/** Characters kept from the end of each token: the end of its signature (or JWE tag), unique per token. */
const TAIL = 16

interface PlainTokens {
  readonly idToken: string
  readonly accessToken: string
  readonly refreshToken: string | undefined
}

/**
 * A token set as read from a store: the tokens, plus a JSON form that is a tag, not the tokens. Read
 * from a sealed record, the tokens are opened on first use only: a page view with fresh tokens reads
 * `accessExpiresAt` (kept outside the seal) and decrypts nothing.
 */
export class StoredTokenSet implements TokenSet {
  readonly accessExpiresAt: number
  #plain: PlainTokens | undefined
  readonly #sealed: string | undefined
  readonly #sealer: TokenSealer | undefined
  readonly #tag: string

  constructor(tokens: TokenSet | { accessExpiresAt: number; sealed: string; sealer: TokenSealer }) {
    this.accessExpiresAt = tokens.accessExpiresAt
    if ('sealed' in tokens) {
      this.#sealed = tokens.sealed
      this.#sealer = tokens.sealer
      this.#tag = `tokens:${tokens.accessExpiresAt}:${tail(tokens.sealed)}`
    } else {
      this.#plain = { idToken: tokens.idToken, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }
      this.#tag = `tokens:${tokens.accessExpiresAt}:${tail(tokens.accessToken)}:${tail(tokens.idToken)}:${tail(tokens.refreshToken)}`
    }
    Object.freeze(this)
  }

  #open(): PlainTokens {
    if (this.#plain === undefined) {
      const text = this.#sealed !== undefined ? this.#sealer?.open(this.#sealed) : undefined
      if (text === undefined) throw new TypeError('the stored tokens cannot be opened with the current secrets')
      const { i, a, r } = JSON.parse(text) as { i: string; a: string; r?: string }
      this.#plain = { idToken: i, accessToken: a, refreshToken: r }
    }
    return this.#plain
  }

  get idToken(): string {
    return this.#open().idToken
  }

  get accessToken(): string {
    return this.#open().accessToken
  }

  get refreshToken(): string | undefined {
    return this.#open().refreshToken
  }

  /** What JSON.stringify, loggers and @fastify/session's change check see. */
  toJSON(): string {
    return this.#tag
  }

  /** The record to write: sealed (the same sealed text again when it was read sealed with this sealer), or plain without one. */
  toRecord(sealer?: TokenSealer): object {
    if (sealer !== undefined && this.#sealed !== undefined && sealer === this.#sealer) {
      return { accessExpiresAt: this.accessExpiresAt, sealed: this.#sealed }
    }
    return recordOf(this, sealer)
  }
}

/** A token set as written to a store: sealed with `sealer`, or in clear without one. */
function recordOf(tokens: TokenSet, sealer: TokenSealer | undefined): object {
  const plain = { idToken: tokens.idToken, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, accessExpiresAt: tokens.accessExpiresAt }
  if (sealer === undefined) return plain
  return { accessExpiresAt: tokens.accessExpiresAt, sealed: sealer.seal(JSON.stringify({ i: plain.idToken, a: plain.accessToken, r: plain.refreshToken })) }
}

function tail(token: string | undefined): string {
  return token === undefined ? '' : token.slice(-TAIL)
}

/** The session as JSON text for a store: tokens included (sealed when a sealer is given), cookie left out. */
export function serializeSession(session: Session, sealer?: TokenSealer): string {
  const tokens = (session as { tokens?: unknown }).tokens
  return JSON.stringify({
    ...session,
    cookie: undefined,
    tokens: tokens instanceof StoredTokenSet ? tokens.toRecord(sealer) : isTokenSet(tokens) ? recordOf(tokens, sealer) : tokens,
  })
}

/**
 * The session from a store's JSON text, deep-frozen (the rule in ../plugin.ts; see
 * fingerprint.ts); undefined when the text is not a JSON object.
 */
export function parseSession(json: string, sealer?: TokenSealer): Session | undefined {
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
  const sealed = record.tokens as { accessExpiresAt?: unknown; sealed?: unknown } | undefined
  if (isTokenSet(record.tokens)) record.tokens = new StoredTokenSet(record.tokens)
  else if (sealer && typeof sealed?.sealed === 'string' && typeof sealed.accessExpiresAt === 'number') {
    record.tokens = new StoredTokenSet({ accessExpiresAt: sealed.accessExpiresAt, sealed: sealed.sealed, sealer })
  }
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
