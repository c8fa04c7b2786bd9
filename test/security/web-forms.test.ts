/**
 * Forms and redirect parameters: sign-out only by a same-site POST with the session's CSRF token,
 * every state-changing route guarded, tokens rotated at sign-in, and malformed returnTo values that
 * end in the default page rather than an exception or a hung request.
 */
import t from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '10000' } })

async function signedIn(username = 'demo', password = 'Demo-passw0rd') {
  const browser = new Browser()
  const result = await signIn(browser, stack, { username, password })
  return { browser, token: csrfTokenOf(result.html), sid: browser.cookie('localhost', 'sid') }
}

async function stillSignedIn(browser: Browser): Promise<boolean> {
  const page = await browser.get(`${stack.baseUrl}/logged-in`)
  await page.arrayBuffer()
  return page.status === 200
}

t.test('WEB-07 sign-out is a same-site POST only: GET, HEAD and cross-site POSTs (even with the right token) keep the session', async (t) => {
  const { browser, token, sid } = await signedIn()
  for (const method of ['GET', 'HEAD']) {
    const response = await browser.request(`${stack.baseUrl}/logout`, { method })
    await response.arrayBuffer()
    t.equal(response.status, 200, `${method} /logout shows the confirmation page`)
    t.equal(browser.cookie('localhost', 'sid'), sid, `${method} /logout does not sign out`)
  }
  // <img src=/logout> and a link: GET; an auto-submitting form on another site: POST with its Origin.
  const crossSite: Array<[string, Record<string, string>]> = [
    ['Origin of another site', { origin: 'https://evil.example' }],
    ['Origin of a sibling subdomain', { origin: 'http://sub.localhost' }],
    ['Origin null from a sandboxed frame on another site', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site' }],
  ]
  for (const [name, headers] of crossSite) {
    const response = await browser.post(`${stack.baseUrl}/logout`, { _csrf: token }, { ...headers, accept: 'text/html' })
    t.equal(response.status, 403, `${name}: 403`)
    t.match(await response.text(), /This form has expired/, `${name}: the form-refused page`)
    t.equal(browser.cookie('localhost', 'sid'), sid, `${name}: still signed in`)
  }
  t.ok(await stillSignedIn(browser), 'the session survived every attempt')
  t.notOk(stack.cognito.requests.some((r) => r.path === '/oauth2/revoke'), 'nothing was revoked')

  // The site's own form, as a browser sends it (Origin: null under Referrer-Policy: no-referrer), works.
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: token }, { origin: 'null', 'sec-fetch-site': 'same-origin' })
  await out.arrayBuffer()
  t.equal(out.status, 303, 'a same-origin POST with the token signs out')
  t.equal(browser.cookie('localhost', 'sid'), undefined)
})

t.test('WEB-08 every state-changing route needs the session’s CSRF token, rotated at sign-in; a tossed _csrf cookie buys nothing', async (t) => {
  const { browser, token } = await signedIn()
  const paths = ['/', '/logout', '/switch-account', '/logged-in', '/admin', '/login', '/signup', '/logged-out', '/auth/callback', '/api/me', '/nope']
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    for (const path of paths) {
      const response = await browser.request(`${stack.baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sid=${browser.cookie('localhost', 'sid')}; _csrf=tossed` },
        body: '_csrf=tossed&returnTo=%2F',
      })
      await response.arrayBuffer()
      if (![403, 404].includes(response.status)) t.fail(`${method} ${path} answered ${response.status} without a valid token`)
    }
  }
  t.ok(await stillSignedIn(browser), 'after every forged request: still signed in')
  t.pass('POST, PUT, PATCH and DELETE on every route: refused (403) or not a route (404)')

  // A token from another person's session is refused; sign-in issues a new one and the old one dies.
  const other = await signedIn('reader', 'Reader-passw0rd')
  const foreign = await browser.post(`${stack.baseUrl}/switch-account`, { _csrf: other.token, returnTo: '/admin' })
  await foreign.arrayBuffer()
  t.equal(foreign.status, 403, 'switch-account: another session’s token is refused')
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: token })
  t.equal(out.status, 303)
  await (await browser.follow(out, `${stack.baseUrl}/logout`)).response.arrayBuffer() // through Cognito's /logout too
  const again = await signIn(browser, stack)
  const fresh = csrfTokenOf(again.html)
  t.not(fresh, token, 'a new token after signing in again')
  const stale = await browser.post(`${stack.baseUrl}/logout`, { _csrf: token })
  await stale.arrayBuffer()
  t.equal(stale.status, 403, 'the token of the earlier session no longer works')
  t.ok(await stillSignedIn(browser))
  t.notOk(browser.setCookies.some((line) => /^_csrf=/i.test(line)), 'no CSRF cookie to toss: the secret lives in the session')
})

t.test('WEB-06 malformed returnTo values end at the default page: never an exception or a hung request', async (t) => {
  const huge = `/${'a'.repeat(10 * 1024)}`
  const queries = [
    `returnTo=${encodeURIComponent('http://[')}`,
    'returnTo=http://[',
    `returnTo=${encodeURIComponent(huge)}`,
    'returnTo[]=/x',
    'returnTo[]=',
    'returnTo=/a&returnTo=/b',
    'returnTo[a]=/x',
    'returnTo=%E0%A4%A',
    'returnTo=%',
    'returnTo=%00',
    'returnTo=',
  ]
  for (const query of queries) {
    const started = Date.now()
    const response = await stack.app.inject({ url: `/login?${query}` })
    t.ok(Date.now() - started < 2_000, `${query.slice(0, 40)}: answered at once`)
    t.ok(response.statusCode === 302 || response.statusCode === 400, `${query.slice(0, 40)}: 302 or 400 (${response.statusCode})`)
    if (response.statusCode === 302) {
      const transaction = await stack.app.cognito.transactions.open(response.cookies.find((c) => c.name === 'signin')?.value)
      t.equal(transaction?.returnTo, '/logged-in', `${query.slice(0, 40)}: the default destination`)
    }
  }
  // The same through the form of "sign in as someone else" (a POST body).
  const { browser, token } = await signedIn()
  for (const body of [`_csrf=${encodeURIComponent(token)}&returnTo=http://%5B`, `_csrf=${encodeURIComponent(token)}&returnTo[]=/x`, `_csrf=${encodeURIComponent(token)}&returnTo=/a&returnTo=/b`]) {
    const response = await browser.request(`${stack.baseUrl}/switch-account`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    await response.arrayBuffer()
    t.ok([303, 400, 403].includes(response.status), `switch-account ${body.slice(-20)}: ${response.status}`)
  }
  const home = await stack.app.inject({ url: '/' })
  t.equal(home.statusCode, 200, 'and the app goes on serving')
})
