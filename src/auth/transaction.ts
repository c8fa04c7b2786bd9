/**
 * The sign-in transactions (state, nonce, PKCE verifier, returnTo) travel in a short-lived, encrypted
 * and authenticated HttpOnly cookie, so an anonymous visitor creates no server-side state and the
 * browser never sees the PKCE verifier. jose's JWE (dir + A256GCM) does the sealing.
 *
 * One cookie holds the browser's pending sign-ins, each keyed by its own state, so that several tabs
 * can sign in at once: at most MAX_PENDING_TRANSACTIONS (the oldest goes beyond), each expiring on
 * its own, and the sealed cookie kept under COOKIE_BUDGET_BYTES. It also remembers short fingerprints
 * of the states this browser started lately, to tell "your sign-in expired" from "not yours".
 */
import { createHash } from 'node:crypto'
import { deriveKeys, type Secrets } from '../lib/secrets.js'
import { EncryptJWT, jwtDecrypt } from 'jose'
import type { Clock } from '../lib/clock.js'
import { sameString } from './flow.js'
import type { LoginTransaction } from './types.js'

export const TRANSACTION_TTL_SECONDS = 10 * 60
/** Pending sign-ins one browser may have at once (tabs); the oldest is dropped beyond. */
export const MAX_PENDING_TRANSACTIONS = 5
/** The sealed cookie stays under this (browsers drop cookies over 4096 bytes): the oldest go first. */
export const COOKIE_BUDGET_BYTES = 3500
/** How many fingerprints of recently started states are remembered. */
const MAX_KNOWN_STATES = 16

/** A pending sign-in and when it expires (epoch seconds). */
export interface PendingTransaction {
  readonly transaction: LoginTransaction
  readonly expiresAt: number
}

/** What the cookie holds: the pending sign-ins (oldest first) and fingerprints of recently started states. */
export interface PendingSignIns {
  readonly pending: readonly PendingTransaction[]
  readonly known: readonly string[]
}

export const NO_SIGN_INS: PendingSignIns = Object.freeze({ pending: Object.freeze([]), known: Object.freeze([]) })

/** A short fingerprint of a state (never the state itself), for "this browser started it". */
function fingerprint(state: string): string {
  return createHash('sha256').update(state).digest('base64url').slice(0, 16)
}

/** Adds a new sign-in (newest last), dropping the oldest beyond the cap. */
export function addPending(signIns: PendingSignIns, transaction: LoginTransaction, nowMs: number, ttlSeconds = TRANSACTION_TTL_SECONDS): PendingSignIns {
  const pending = [...signIns.pending, { transaction, expiresAt: Math.floor(nowMs / 1000) + ttlSeconds }]
  const known = [...signIns.known.filter((k) => k !== fingerprint(transaction.state)), fingerprint(transaction.state)]
  return { pending: pending.slice(-MAX_PENDING_TRANSACTIONS), known: known.slice(-MAX_KNOWN_STATES) }
}

/** The pending sign-in whose state is `state` (compared in constant time), and the others. */
export function takePending(signIns: PendingSignIns, state: string): { transaction: LoginTransaction | undefined; rest: PendingSignIns } {
  let found: LoginTransaction | undefined
  const pending = signIns.pending.filter((p) => {
    const match = found === undefined && sameString(p.transaction.state, state)
    if (match) found = p.transaction
    return !match
  })
  return { transaction: found, rest: { pending, known: signIns.known } }
}

/** True when this browser started a sign-in with this state lately (pending, used, expired or dropped). */
export function startedHere(signIns: PendingSignIns, state: string): boolean {
  const mark = fingerprint(state)
  return signIns.known.some((k) => sameString(k, mark))
}

export interface TransactionSealer {
  /** Seals one transaction alone. */
  seal(transaction: LoginTransaction): Promise<string>
  /** The newest pending transaction; undefined for anything tampered with, expired, or not ours. */
  open(sealed: string | undefined): Promise<LoginTransaction | undefined>
  /** Seals the pending sign-ins, dropping the oldest until the cookie fits COOKIE_BUDGET_BYTES. */
  sealAll(signIns: PendingSignIns): Promise<string>
  /** The unexpired pending sign-ins; undefined for anything tampered with, expired, or not ours. */
  openAll(sealed: string | undefined): Promise<PendingSignIns | undefined>
}

/** state, nonce, verifier, returnTo, expiresAt, and for a re-authentication the `sub` and since when. */
type Item = [string, string, string, string, number] | [string, string, string, string, number, string, number]

function isItem(value: unknown): value is Item {
  return (
    Array.isArray(value) &&
    (value.length === 5 || (value.length === 7 && typeof value[5] === 'string' && typeof value[6] === 'number')) &&
    value.slice(0, 4).every((part) => typeof part === 'string') &&
    typeof value[4] === 'number'
  )
}

function toItem({ transaction: t, expiresAt }: PendingTransaction): Item {
  return t.reauth === undefined
    ? [t.state, t.nonce, t.codeVerifier, t.returnTo, expiresAt]
    : [t.state, t.nonce, t.codeVerifier, t.returnTo, expiresAt, t.reauth.sub, t.reauth.since]
}

function fromItem(item: Item): PendingTransaction {
  const [state, nonce, codeVerifier, returnTo, expiresAt, sub, since] = item
  const transaction: LoginTransaction =
    sub === undefined || since === undefined ? { state, nonce, codeVerifier, returnTo } : { state, nonce, codeVerifier, returnTo, reauth: { sub, since } }
  return { transaction, expiresAt }
}

/**
 * `purpose` separates the keys of different cookies sealed with one secret: a cookie sealed for one
 * purpose does not open as another.
 */
export function createTransactionSealer(
  secrets: Secrets,
  clock: Clock,
  ttlSeconds = TRANSACTION_TTL_SECONDS,
  purpose = 'login transaction',
): TransactionSealer {
  // Newest first: the first seals, every one opens (a sign-in started just before a rotation finishes).
  const keys = deriveKeys(secrets, purpose)
  const key = keys[0] as Uint8Array

  async function sealOnce(signIns: PendingSignIns): Promise<string> {
    const now = Math.floor(clock.now() / 1000)
    const p: Item[] = signIns.pending.map(toItem)
    return new EncryptJWT({ p, k: signIns.known })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(now)
      .setExpirationTime(Math.max(now, ...p.map((item) => item[4])) + 1)
      .encrypt(key)
  }

  async function sealAll(signIns: PendingSignIns): Promise<string> {
    let current = signIns
    let sealed = await sealOnce(current)
    while (sealed.length > COOKIE_BUDGET_BYTES && current.pending.length > 1) {
      current = { pending: current.pending.slice(1), known: current.known }
      sealed = await sealOnce(current)
    }
    return sealed
  }

  async function openAll(sealed: string | undefined): Promise<PendingSignIns | undefined> {
    if (!sealed || sealed.length > 4096) return undefined
    for (const candidate of keys) {
      let payload: Record<string, unknown>
      try {
        ;({ payload } = await jwtDecrypt(sealed, candidate, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
          maxTokenAge: `${ttlSeconds}s`,
          currentDate: new Date(clock.now()),
        }))
      } catch {
        continue
      }
      const { p, k, s, n, v, r, exp } = payload
      // A sign-in started before this version (one transaction per cookie) still finishes.
      if (typeof s === 'string' && typeof n === 'string' && typeof v === 'string' && typeof r === 'string' && typeof exp === 'number') {
        return { pending: [{ transaction: { state: s, nonce: n, codeVerifier: v, returnTo: r }, expiresAt: exp }], known: [fingerprint(s)] }
      }
      if (!Array.isArray(p) || !p.every(isItem) || !Array.isArray(k) || !k.every((mark) => typeof mark === 'string')) return undefined
      const now = clock.now() / 1000
      const pending = p.filter((item) => item[4] > now).map(fromItem)
      return { pending, known: k as string[] }
    }
    return undefined
  }

  return {
    seal: (transaction) => sealAll(addPending(NO_SIGN_INS, transaction, clock.now(), ttlSeconds)),
    async open(sealed) {
      return (await openAll(sealed))?.pending.at(-1)?.transaction
    },
    sealAll,
    openAll,
  }
}
