/**
 * Signs and verifies the session cookie (an HMAC over the session id, @fastify/cookie's Signer),
 * remembering the answer for recently verified cookies: a signed-in person's page views check their
 * cookie once, not twice per request (@fastify/session verifies the cookie, then signs the id again).
 *
 * Only cookies that verified are remembered, so forged cookies cannot fill the memory, and a hit is
 * the very string that verified before. Bounded: the earliest verified are forgotten first.
 */
import { Signer } from '@fastify/cookie'
import { secretList, type Secrets } from '../lib/secrets.js'

export interface UnsignResult {
  readonly valid: boolean
  readonly renew: boolean
  readonly value: string | null
}

export class SessionIdSigner {
  readonly #signer: InstanceType<typeof Signer>
  readonly #max: number
  /** Signed cookie value → verification result (valid ones only). */
  readonly #verified = new Map<string, UnsignResult>()
  /** Session id → its signed cookie value, for the ids above. */
  readonly #signed = new Map<string, string>()

  /** `secrets`: newest first; the first signs, all verify (a cookie signed with an older one has `renew`). */
  constructor(secrets: Secrets, max = 10_000) {
    this.#signer = new Signer(secretList(secrets), 'sha256')
    this.#max = max
  }

  sign(value: string): string {
    return this.#signed.get(value) ?? this.#signer.sign(value)
  }

  unsign(signedValue: string): UnsignResult {
    const known = this.#verified.get(signedValue)
    if (known !== undefined) return known
    const result = Object.freeze(this.#signer.unsign(signedValue)) as UnsignResult
    if (result.valid && !result.renew && result.value !== null) {
      this.#verified.set(signedValue, result)
      this.#signed.set(result.value, signedValue)
      if (this.#verified.size > this.#max) {
        const [oldest, old] = this.#verified.entries().next().value as [string, UnsignResult]
        this.#verified.delete(oldest)
        this.#signed.delete(old.value as string)
      }
    }
    return result
  }

  /** How many verified cookies are remembered (for tests). */
  get size(): number {
    return this.#verified.size
  }
}
