/** safeReturnTo: only same-site paths survive; every open-redirect trick falls back to /logged-in. */
import t from 'tap'
import { DEFAULT_RETURN_TO, safeReturnTo } from '../../src/auth/return-to.js'

/** Payloads that must never leave the site (or must not be honoured as given). */
export const OPEN_REDIRECT_PAYLOADS: readonly string[] = [
  // absolute URLs and other schemes
  'https://evil.example',
  'http://evil.example/logged-in',
  'HTTPS://EVIL.EXAMPLE',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  'ftp://evil.example',
  'mailto:a@evil.example',
  'evil.example',
  'evil.example/path',
  '@evil.example',
  // protocol-relative and slash games
  '//evil.example',
  '//evil.example/%2F..',
  '///evil.example',
  '////evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '\\/evil.example',
  '/\\/evil.example',
  '/.//evil.example',
  '/./\\evil.example',
  '/ /evil.example',
  // percent-encoded tricks
  '%2F%2Fevil.example',
  '/%2Fevil.example',
  '/%2F%2Fevil.example',
  '/%5Cevil.example',
  '/%5C%5Cevil.example',
  '%5C%5Cevil.example',
  '/%252F%252Fevil.example',
  '/%2f%2fevil.example',
  'https%3A%2F%2Fevil.example',
  '/%E0%A4%A',
  '/%',
  // control characters and whitespace (browsers strip tab/newline, hiding "//")
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r/evil.example',
  '/%09/evil.example',
  '/%0A/evil.example',
  '/%0D%0A/evil.example',
  '/\u0000/evil.example',
  '/%00/evil.example',
  ' /logged-in',
  '\t//evil.example',
  '/\u007f/evil.example',
  '/\u0085/evil.example',
  '/\u00a0/evil.example',
  '/\u2028/evil.example',
  '/\u3000/evil.example',
  '/\ufeff/evil.example',
  // userinfo / host confusion
  'https://localhost:3000@evil.example',
  'http://localhost:3000.evil.example',
  '//localhost:3000@evil.example',
  // unicode lookalikes of / and \
  '/\uff0fevil.example',
  '\uff0f\uff0fevil.example',
  '/\u2215evil.example',
  '/\u29f5evil.example',
  // fragments, header injection
  '/logged-in\r\nSet-Cookie: sid=x',
  '/logged-in%0D%0ASet-Cookie:%20sid=x',
  // destinations that would loop or misuse the flow
  '/login',
  '/login?returnTo=//evil.example',
  '/logout',
  '/LOGOUT',
  '/auth/callback?code=x&state=y',
  '/auth',
  // not strings / empty / huge
  '',
  `/${'a'.repeat(5000)}`,
]

/** A label that is safe in TAP output (no raw line separators or control characters). */
const label = (value: string): string =>
  JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…(${value.length})` : value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )

t.test('WEB-05 every payload falls back to the default', async (t) => {
  for (const payload of OPEN_REDIRECT_PAYLOADS) {
    t.equal(safeReturnTo(payload), DEFAULT_RETURN_TO, label(payload))
  }
})

t.test('non-string values fall back', async (t) => {
  for (const value of [undefined, null, 0, 1, true, {}, ['/logged-in'], { toString: () => '/x' }]) {
    t.equal(safeReturnTo(value), DEFAULT_RETURN_TO, String(value))
  }
})

t.test('same-site paths survive unchanged (or normalised, still same-site)', async (t) => {
  const keep: Array<[string, string]> = [
    ['/', '/'],
    ['/logged-in', '/logged-in'],
    ['/logged-in?tab=profile', '/logged-in?tab=profile'],
    ['/logged-in?tab=profile&x=1', '/logged-in?tab=profile&x=1'],
    ['/account/settings', '/account/settings'],
    ['/search?q=a%20b', '/search?q=a%20b'],
    ['/logged-in#section', '/logged-in'],
    ['/a/../logged-in', '/logged-in'],
    ['/loginhelp', '/loginhelp'],
    ['/authors', '/authors'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['/@evil.example', '/@evil.example'], // a path on this site, not a host
    ['/%EF%BC%8Fx', '/%EF%BC%8Fx'], // an encoded fullwidth solidus is only a path character
  ]
  for (const [input, output] of keep) t.equal(safeReturnTo(input), output, input)
})

t.test('whatever comes out is a same-site path', async (t) => {
  for (const payload of OPEN_REDIRECT_PAYLOADS) {
    const out = safeReturnTo(payload)
    t.ok(out.startsWith('/') && !out.startsWith('//') && !out.includes('\\'), label(payload))
    t.equal(new URL(out, 'https://app.example').origin, 'https://app.example')
  }
})
