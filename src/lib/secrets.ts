/** The app's secrets: one, or several newest first during a rotation (the first signs and seals, all verify). */
import { hkdfSync } from 'node:crypto'

export type Secrets = string | readonly string[]

export function secretList(secrets: Secrets): string[] {
  return typeof secrets === 'string' ? [secrets] : [...secrets]
}

/** A 256-bit key per secret (HKDF-SHA256), apart for each purpose: a cookie sealed for one does not open as another. */
export function deriveKeys(secrets: Secrets, purpose: string): Uint8Array[] {
  return secretList(secrets).map((secret) => new Uint8Array(hkdfSync('sha256', secret, '', `cognito-ssr ${purpose} v1`, 32)))
}
