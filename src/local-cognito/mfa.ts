/** Software-token (TOTP) MFA: RFC 6238 codes, SHA-1, 6 digits, 30-second steps, checked with otpauth. */
import { Secret, TOTP } from 'otpauth'

export const TOTP_PERIOD_SECONDS = 30
/** The issuer shown in authenticator apps for the local Cognito's accounts. */
export const TOTP_ISSUER = 'Local Cognito'

function totp(secret: string, label: string): TOTP {
  return new TOTP({ issuer: TOTP_ISSUER, label, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secret) })
}

/**
 * The time step of `code` when it is right for `secret` at `nowMs` (one step of drift either way, as authenticator
 * apps and Cognito allow) and newer than `lastStep` (a code is accepted once); undefined otherwise.
 */
export function totpMatches(secret: string, code: string, nowMs: number, lastStep: number | undefined): number | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined
  const delta = totp(secret, 'check').validate({ token: code, timestamp: nowMs, window: 1 })
  if (delta === null) return undefined
  const step = Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS) + delta
  if (lastStep !== undefined && step <= lastStep) return undefined
  return step
}

/** The code an authenticator app shows at `nowMs`. */
export function totpCode(secret: string, nowMs: number): string {
  return totp(secret, 'code').generate({ timestamp: nowMs })
}

/** The `otpauth://` URI to add the account to an authenticator app (as a QR code or typed in). */
export function totpUri(secret: string, account: string): string {
  return totp(secret, account).toString()
}
