/** Minimal compact JWS helpers (hand-rolled so header and claim order stay exactly as Cognito's). */
import { createHash, createHmac, sign, verify, type KeyObject } from 'node:crypto'

export function b64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url')
}

export function encodeSegment(value: unknown): string {
  return b64url(JSON.stringify(value))
}

export function signRs256(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${encodeSegment(header)}.${encodeSegment(payload)}`
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`
}

export function signHs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string): string {
  const input = `${encodeSegment(header)}.${encodeSegment(payload)}`
  return `${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`
}

export function unsigned(payload: Record<string, unknown>): string {
  return `${encodeSegment({ alg: 'none' })}.${encodeSegment(payload)}.`
}

export interface DecodedJwt {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: string
  signature: Buffer
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  const [h, p, s] = parts as [string, string, string]
  try {
    const header: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'))
    const payload: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'))
    if (!isObject(header) || !isObject(payload)) return undefined
    return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') }
  } catch {
    return undefined
  }
}

export function verifyRs256(jwt: DecodedJwt, key: KeyObject): boolean {
  if (jwt.header['alg'] !== 'RS256') return false
  return verify('sha256', Buffer.from(jwt.signingInput), key, jwt.signature)
}

/** OIDC at_hash: base64url of the left half of SHA-256 over the access token's ASCII. */
export function atHash(accessToken: string): string {
  return b64url(createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16))
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
