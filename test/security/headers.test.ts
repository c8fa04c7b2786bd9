/** Security headers on every kind of page, and no caching of anything personal. */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

function directives(csp: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const part of (csp ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/)
    if (name) map.set(name, values)
  }
  return map
}

t.test('headers on public, signed-in and error pages', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const anonymous = await browser.get(`${stack.baseUrl}/`)
  const result = await signIn(browser, stack)
  const responses: Record<string, Response> = {
    '/ (anonymous)': anonymous,
    '/logged-in': result.response,
    '/ (signed in)': await browser.get(`${stack.baseUrl}/`),
    '/logout': await browser.get(`${stack.baseUrl}/logout`),
    '404 page': await browser.get(`${stack.baseUrl}/nope`),
    'callback error': await browser.get(`${stack.baseUrl}/auth/callback?code=x&state=y`),
  }
  for (const [name, response] of Object.entries(responses)) {
    const csp = directives(response.headers.get('content-security-policy'))
    t.same(csp.get('script-src'), ["'self'"], `${name}: scripts only from this site, none inline`)
    t.same(csp.get('style-src'), ["'self'"], `${name}: styles only from this site, none inline`)
    t.same(csp.get('frame-ancestors'), ["'none'"], `${name}: cannot be framed`)
    t.same(csp.get('object-src'), ["'none'"])
    t.same(csp.get('base-uri'), ["'none'"])
    t.same(csp.get('form-action'), ["'self'", stack.cognito.origin], `${name}: forms only to us and Cognito`)
    t.equal(response.headers.get('referrer-policy'), 'no-referrer', `${name}: no Referer (the callback URL holds a code)`)
    t.equal(response.headers.get('x-content-type-options'), 'nosniff')
    t.equal(response.headers.get('x-frame-options'), 'DENY')
    t.equal(response.headers.get('strict-transport-security'), null, `${name}: no HSTS on http`)
    t.equal(response.headers.get('cache-control'), 'no-store', `${name}: not cached`)
    t.notOk(response.headers.get('x-powered-by'))
    const html = response === result.response ? result.html : await response.text()
    t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${name}: no inline script`)
    t.notMatch(html, /<style|\sstyle="/i, `${name}: no inline style`)
  }
})

t.test('static files keep their own caching while pages are not cached', async (t) => {
  const stack = await startStack(t, { env: { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(40) } })
  const browser = new Browser()
  const css = await browser.get(`${stack.baseUrl}/public/css/site.css`)
  t.equal(css.status, 200)
  t.match(css.headers.get('cache-control'), /max-age=3600/, 'the stylesheet may be cached for an hour in production')
  const page = await browser.get(`${stack.baseUrl}/`)
  t.equal(page.headers.get('cache-control'), 'no-store', 'while pages are not cached')
})

t.test('the callback answer itself is not cached and leaks nothing in a Referer', async (t) => {
  const stack = await startStack(t)
  const result = await signIn(new Browser(), stack)
  const hop = result.hops.find((h) => h.url.includes('/auth/callback'))
  t.equal(hop?.status, 303)
  const browser = new Browser()
  const response = await browser.get(hop?.url ?? '')
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.equal(response.headers.get('referrer-policy'), 'no-referrer')
})
