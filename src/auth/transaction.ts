/**
 * The sign-in transaction (state, nonce, PKCE verifier, returnTo) travels in a short-lived, encrypted
 * and authenticated HttpOnly cookie, so an anonymous visitor creates no server-side state and the
 * browser never sees the PKCE verifier. jose's JWE (dir + A256GCM) does the sealing.
 */
import { deriveKeys, type Secrets } from '../lib/secrets.js'
import { EncryptJWT, jwtDecrypt } from 'jose'
import type { Clock } from '../lib/clock.js'
import type { LoginTransaction } from './types.js'

export const TRANSACTION_TTL_SECONDS = 10 * 60

export interface TransactionSealer {
  seal(transaction: LoginTransaction): Promise<string>
  /** Returns undefined for anything tampered with, expired, or not ours. */
  open(sealed: string | undefined): Promise<LoginTransaction | undefined>
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
  return {
    async seal(transaction) {
      return new EncryptJWT({
        s: transaction.state,
        n: transaction.nonce,
        v: transaction.codeVerifier,
        r: transaction.returnTo,
      })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuedAt(Math.floor(clock.now() / 1000))
        .setExpirationTime(Math.floor(clock.now() / 1000) + ttlSeconds)
        .encrypt(key)
    },
    async open(sealed) {
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
        const { s, n, v, r } = payload
        if (typeof s !== 'string' || typeof n !== 'string' || typeof v !== 'string' || typeof r !== 'string') return undefined
        return { state: s, nonce: n, codeVerifier: v, returnTo: r }
      }
      return undefined
    },
  }
}
