/** Where to send someone after sign-in: only a path on this site survives; anything else falls back. */
export const DEFAULT_RETURN_TO = '/logged-in'

const MAX_LENGTH = 2048
/** Pages that make no sense (or would loop) as a destination after sign-in. */
const NOT_A_DESTINATION = /^\/(?:login|logout|auth)(?:[/?#]|$)/i

function isPlainPath(path: string): boolean {
  return (
    path.startsWith('/') &&
    !path.startsWith('//') &&
    !path.includes('\\') &&
    // No control characters or whitespace (browsers strip tabs and newlines, which hides "//").
    !/[\u0000-\u0020\u007f-\u009f]/.test(path)
  )
}

/**
 * Returns `value` when it is a same-site path such as `/account?tab=2`, else DEFAULT_RETURN_TO.
 * Rejects absolute and protocol-relative URLs, backslashes, control characters, and the same
 * tricks hidden behind percent-encoding (`/%2F%2Fevil.example`, `/%5Cevil.example`).
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return DEFAULT_RETURN_TO
  if (!isPlainPath(value)) return DEFAULT_RETURN_TO
  let decoded: string
  try {
    decoded = decodeURIComponent(value)
  } catch {
    return DEFAULT_RETURN_TO
  }
  if (!isPlainPath(decoded)) return DEFAULT_RETURN_TO
  const base = 'http://same-site.invalid'
  let url: URL
  try {
    url = new URL(value, base)
  } catch {
    return DEFAULT_RETURN_TO
  }
  if (url.origin !== base) return DEFAULT_RETURN_TO
  const path = `${url.pathname}${url.search}`
  if (NOT_A_DESTINATION.test(path)) return DEFAULT_RETURN_TO
  return path
}
