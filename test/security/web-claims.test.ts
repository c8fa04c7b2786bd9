/**
 * Claims are text: markup, script-context breakers, line separators and javascript: URLs in a
 * Cognito user's attributes are shown escaped on every page, never as markup, a script or a link; the
 * views print user data only with `<%= %>`. And the headers every page carries besides the CSP.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { VIEWS_DIR } from '../../src/lib/paths.js'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

const stack = await startStack(t)

t.test('WEB-01, WEB-02 markup, script breakers, U+2028 and javascript: URLs in claims are shown as text, never run', async (t) => {
  const name = '"><svg onload=alert(1)></script><script>alert(2)</script>\u2028\u2029'
  stack.cognito.addUser({
    username: 'eve',
    password: 'Eve-passw0rd',
    name,
    email: 'javascript:alert(3)//@example.com',
    emailVerified: true,
    groups: ["'><img src=x onerror=alert(4)>", 'javascript:alert(5)'],
    attributes: { 'custom:website': 'javascript:alert(6)', 'custom:bio': '<iframe src=//evil.example>' },
  })
  const browser = new Browser()
  const result = await signIn(browser, stack, { username: 'eve', password: 'Eve-passw0rd' })
  t.equal(result.response.status, 200)
  const pages: Record<string, string> = { '/logged-in': result.html }
  for (const path of ['/', '/logout', '/admin', '/nope']) pages[path] = await (await browser.get(`${stack.baseUrl}${path}`)).text()
  for (const [path, html] of Object.entries(pages)) {
    t.notMatch(html, /<svg|<iframe|<img src=x/i, `${path}: no injected element`)
    t.notMatch(html, /<[^>]*\son\w+=/i, `${path}: no event handler attribute in any tag`)
    t.notMatch(html, /<script(?![^>]*\bsrc=)/i, `${path}: no inline script element for a claim to break out of`)
    t.notMatch(html, /(?:href|src|action)="\s*javascript:/i, `${path}: no javascript: URL in a link`)
    t.notMatch(html, /=\s*"[^"]*"[^\s>/]/, `${path}: every attribute value is quoted and closed`)
  }
  t.match(pages['/logged-in'], /&#34;&gt;&lt;svg onload=alert\(1\)&gt;&lt;\/script&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;/, 'the name is shown, escaped')
  t.match(pages['/logged-in'], /javascript:alert\(3\)\/\/@example\.com/, 'the email is shown as text')
})

t.test('WEB-01 the views print user data only with <%= %>: <%- only for includes and the layout body', async (t) => {
  const files = [...readdirSync(VIEWS_DIR).map((f) => join(VIEWS_DIR, f)), ...readdirSync(join(VIEWS_DIR, 'partials')).map((f) => join(VIEWS_DIR, 'partials', f))].filter((f) => f.endsWith('.ejs'))
  t.ok(files.length >= 8, `${files.length} templates`)
  for (const file of files) {
    for (const [, inner] of readFileSync(file, 'utf8').matchAll(/<%-([\s\S]*?)%>/g)) {
      t.match(inner?.trim(), /^(?:include\('\/partials\/[\w-]+'(?:,\s*\{[^}]*\})?\)|body)$/, `${file.slice(VIEWS_DIR.length)}: <%-${inner}%> is an include or the body`)
    }
  }
})

t.test('WEB-10 every page: COOP same-origin, nosniff, no X-Powered-By, no Server version; HSTS of a year with subdomains on https', async (t) => {
  for (const path of ['/', '/logged-in', '/nope', '/auth/callback?code=x&state=y', '/healthz']) {
    const response = await stack.app.inject({ url: path })
    t.equal(response.headers['cross-origin-opener-policy'], 'same-origin', `${path}: COOP`)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${path}: nosniff`)
    t.equal(response.headers['x-powered-by'], undefined, `${path}: no X-Powered-By`)
    t.notMatch(String(response.headers.server ?? ''), /\d/, `${path}: no version in Server`)
    t.equal(response.headers['referrer-policy'], 'no-referrer', `${path}: no Referer at all (stricter than strict-origin-when-cross-origin)`)
  }
  const https = await startStack(t, { appBaseUrl: 'https://app.example.com' })
  const response = await https.app.inject({ url: '/' })
  const hsts = String(response.headers['strict-transport-security'])
  t.ok(Number(/max-age=(\d+)/.exec(hsts)?.[1]) >= 31_536_000, `HSTS max-age of at least a year: ${hsts}`)
  t.match(hsts, /includeSubDomains/)
})
