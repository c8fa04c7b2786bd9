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

t.test('WEB-09, WEB-10 headers on public, signed-in and error pages', async (t) => {
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

/** What a raw HTTP exchange answered: status, headers (lower-case names) and body. */
async function rawExchange(port: number, request: string): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  const { connect } = await import('node:net')
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { data += chunk })
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
  const [head = '', body = ''] = text.split('\r\n\r\n', 2)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
  return { status: Number(statusLine.split(' ')[1]), headers, body }
}

t.test('WEB-09, WEB-10: malformed requests get the site’s error page and every security header', async (t) => {
  const stack = await startStack(t)
  const port = Number(new URL(stack.baseUrl).port)
  const expected = (await fetch(`${stack.baseUrl.replace('localhost', '127.0.0.1')}/`)).headers

  const badUrl = await rawExchange(port, 'GET /% HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  const tooLarge = await rawExchange(port, `GET / HTTP/1.1\r\nHost: localhost\r\nCookie: a=${'x'.repeat(20_000)}\r\n\r\n`)
  for (const [name, answer, status, title] of [
    ['a malformed URL (/%)', badUrl, 400, /Bad request/],
    ['a 20 KB cookie', tooLarge, 431, /Request too large/],
  ] as const) {
    t.equal(answer.status, status, `${name}: ${status}`)
    t.match(answer.headers.get('content-type'), /^text\/html/, `${name}: a page, not JSON`)
    t.match(answer.body, title)
    t.match(answer.body, /href="\/"/, `${name}: a way forward`)
    t.equal(answer.headers.get('cache-control'), 'no-store', `${name}: not cached`)
    for (const header of ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy', 'cross-origin-opener-policy']) {
      t.equal(answer.headers.get(header), expected.get(header), `${name}: ${header} as on every page`)
    }
    t.notMatch(answer.body, /FST_ERR|Exceeded maximum/, `${name}: no framework message`)
  }
  t.match(tooLarge.body, /Clear this site’s cookies/, 'says what to do about it')
  t.equal((await fetch(`${stack.baseUrl.replace('localhost', '127.0.0.1')}/healthz`)).status, 200, 'and the app goes on serving')
})
