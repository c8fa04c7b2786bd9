/**
 * The route guard cannot be walked around: the protected pages (/logged-in, /admin in
 * src/web/routes/pages.ts) and the API (/api/me) reached through a query string, encoded or dotted
 * paths, a trailing slash, another case, `;` parameters, HEAD/OPTIONS or a health-check User-Agent
 * are never served to someone who may not see them.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

const stack = await startStack(t)

/** Ways of writing a protected path that a naive guard might not recognise. */
function variants(path: string): string[] {
  const upper = path.toUpperCase()
  const encodedFirst = `/%${path.charCodeAt(1).toString(16)}${path.slice(2)}`
  return [
    path,
    `${path}?x=/public`,
    `${path}?returnTo=/`,
    `${path}?/healthz`,
    `${path}/`,
    `${path}//`,
    upper,
    `${path.slice(0, 2).toUpperCase()}${path.slice(2)}`,
    `${path};x=1`,
    `${path};jsessionid=abc`,
    `${path}%3Bx`,
    encodedFirst,
    path.replace(/\/([^/]*)$/, '/%2e/$1'),
    path.replace(/\/([^/]*)$/, '/./$1'),
    path.replace(/\/([^/]*)$/, '/x/../$1'),
    path.replace(/\/([^/]*)$/, '/x/%2e%2e/$1'),
    path.replace(/\//g, '%2f'),
    `/${path}`,
    `${path}%2f`,
    `${path}%00`,
    `${path}#/public`,
  ]
}

const ALLOWED = [302, 400, 401, 403, 404, 405]
const HEALTH_AGENTS = ['ELB-HealthChecker/2.0', 'kube-probe/1.29']

t.test('WEB-12 anonymous: no variant of a protected path, method or health-check User-Agent gets the page', async (t) => {
  let tried = 0
  for (const path of ['/logged-in', '/admin', '/api/me']) {
    for (const url of variants(path)) {
      for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST'] as const) {
        for (const agent of [undefined, ...HEALTH_AGENTS]) {
          const headers: Record<string, string> = agent ? { 'user-agent': agent } : {}
          const response = await stack.app.inject({ method, url, headers })
          tried++
          const label = `${method} ${url}${agent ? ` (${agent})` : ''}`
          // Sent to sign in, refused, or not a route: never served, and never a handler failing for want of a user (5xx).
          if (!ALLOWED.includes(response.statusCode)) t.fail(`${label}: answered ${response.statusCode}`)
          if (/data-field="username"|"sub":/.test(response.body)) t.fail(`${label}: protected content served`)
        }
      }
    }
  }
  t.ok(tried > 500, `${tried} requests, none served a protected page`)
  // The plain case is what a person gets: sent to sign in.
  const plain = await stack.app.inject({ url: '/logged-in', headers: { 'user-agent': 'ELB-HealthChecker/2.0' } })
  t.equal(plain.statusCode, 302)
  t.equal(plain.headers.location, '/login?returnTo=%2Flogged-in')
  const api = await stack.app.inject({ url: '/api/me', headers: { 'user-agent': 'kube-probe/1.29' } })
  t.equal(api.statusCode, 401, 'the API answers 401, whatever the User-Agent')
})

t.test('WEB-12 signed in without the group: no variant of /admin shows the admin page', async (t) => {
  const browser = new Browser()
  await signIn(browser, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const cookie = `sid=${browser.cookie('localhost', 'sid')}`
  const own = await stack.app.inject({ url: '/logged-in', headers: { cookie } })
  t.equal(own.statusCode, 200, 'the reader is signed in')
  for (const url of variants('/admin')) {
    for (const method of ['GET', 'HEAD', 'OPTIONS'] as const) {
      for (const agent of [undefined, ...HEALTH_AGENTS]) {
        const response = await stack.app.inject({ method, url, headers: { cookie, ...(agent ? { 'user-agent': agent } : {}) } })
        const label = `${method} ${url}${agent ? ` (${agent})` : ''}`
        if (!ALLOWED.includes(response.statusCode)) t.fail(`${label}: answered ${response.statusCode}`)
        if (/<h1[^>]*>Administration/.test(response.body)) t.fail(`${label}: the admin page was served`)
      }
    }
  }
  const plain = await stack.app.inject({ url: '/admin', headers: { cookie } })
  t.equal(plain.statusCode, 403, 'the plain path: 403')
  t.pass('every variant refused')
})
