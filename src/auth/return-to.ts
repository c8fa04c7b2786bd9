/** Where to send someone after sign-in: only a path on this site survives; anything else falls back. */
export const DEFAULT_RETURN_TO = '/logged-in'

export interface ReturnToOptions {
  /** Where to go when the value is refused (default DEFAULT_RETURN_TO). */
  readonly fallback?: string
  /** Paths that make no sense as a destination (sign-in, sign-out, the callback): they and what is under them fall back. */
  readonly notDestinations?: readonly string[]
}

const MAX_LENGTH = 2048
/** Pages that make no sense (or would loop) as a destination after sign-in, by default. */
const NOT_A_DESTINATION = ['/login', '/logout', '/auth']

function isUnder(path: string, prefixes: readonly string[]): boolean {
  const lower = path.toLowerCase()
  return prefixes.some((prefix) => {
    const p = prefix.toLowerCase()
    return lower === p || (lower.startsWith(p) && /[/?#]/.test(lower.charAt(p.length)))
  })
}

/** Printable ASCII only: browsers percent-encode anything else, and lookalikes of / and \ hide there. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/

function isPlainPath(path: string): boolean {
  return (
    path.startsWith('/') &&
    !path.startsWith('//') &&
    !path.includes('\\') &&
    // No control characters or whitespace, Unicode ones included (browsers strip tabs and newlines,
    // which hides "//"). Format characters such as U+FEFF and U+200B are refused too.
    !/[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2060\ufeff]/u.test(path)
  )
}

/**
 * Returns `value` when it is a same-site path such as `/account?tab=2`, else DEFAULT_RETURN_TO.
 * Rejects absolute and protocol-relative URLs, backslashes, control characters and non-ASCII, the
 * same tricks hidden behind (double) percent-encoding in the path (`/%2F%2Fevil.example`,
 * `/%5Cevil.example`), and paths that only become `//host` once normalised (`/.//evil.example`).
 */
export function safeReturnTo(value: unknown, options: ReturnToOptions = {}): string {
  const fallback = options.fallback ?? DEFAULT_RETURN_TO
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return fallback
  if (!PRINTABLE_ASCII.test(value) || !isPlainPath(value)) return fallback
  // The path (not the query, where an encoded space is ordinary) must stay plain however often it is decoded.
  let path = value.split(/[?#]/, 1)[0] as string
  for (let round = 0; round < 3; round++) {
    let decoded: string
    try {
      decoded = decodeURIComponent(path)
    } catch {
      return fallback
    }
    if (!isPlainPath(decoded)) return fallback
    if (decoded === path) break
    path = decoded
  }
  const base = 'http://same-site.invalid'
  let url: URL
  try {
    url = new URL(value, base)
  } catch {
    return fallback
  }
  if (url.origin !== base) return fallback
  const result = `${url.pathname}${url.search}`
  // Dot segments are resolved by the URL parser: `/.//evil.example` becomes `//evil.example`.
  if (!isPlainPath(result) || isUnder(result, options.notDestinations ?? NOT_A_DESTINATION)) return fallback
  return result
}
