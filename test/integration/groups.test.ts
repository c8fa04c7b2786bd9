import t from 'tap'
import { Browser, csrfTokenOf, parseSignInForm } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

t.test('a member of admin sees /admin', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const result = await signIn(browser, stack, { start: '/admin' })
  t.equal(new URL(result.url).pathname, '/admin')
  t.equal(result.response.status, 200)
  t.match(result.html, /Administration/)
  t.match(result.html, /data-field="username">demo</)
})

t.test('anonymous visitors are sent to sign in and back', async (t) => {
  const stack = await startStack(t)
  const response = await new Browser().get(`${stack.baseUrl}/admin`)
  t.equal(response.status, 302)
  t.equal(response.headers.get('location'), '/login?returnTo=%2Fadmin')
})

t.test('signed in without the group: a 403 page, then "Sign in as someone else" in one click', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const first = await signIn(browser, stack, { username: 'reader', password: 'Reader-passw0rd', start: '/admin' })
  t.equal(first.response.status, 403, 'a page, not a redirect loop')
  t.equal(new URL(first.url).pathname, '/admin')
  t.match(first.html, /signed in as <strong>reader<\/strong>/)
  t.match(first.html, /the <strong>admin<\/strong> group/)
  t.match(first.html, /Sign in as someone else/)
  const again = await browser.get(`${stack.baseUrl}/admin`)
  t.equal(again.status, 403, 'still 403 on a second visit, no loop')
  await again.text()

  const oldRefresh = (await stack.app.sessionStore.read(
    decodeURIComponent(browser.cookie('localhost', 'sid') ?? '').replace(/\.[^.]*$/, ''),
  ))?.tokens?.refreshToken as string

  // The switch: our session ends, then Cognito's (its /logout back to our sign-out URL, as a sign-out
  // does), and there an ordinary sign-in starts: PKCE, state and nonce like every other (BCP-01).
  const switched = await browser.post(`${stack.baseUrl}/switch-account`, { _csrf: csrfTokenOf(first.html), returnTo: '/admin' })
  t.equal(switched.status, 303)
  const location = new URL(switched.headers.get('location') ?? '')
  t.equal(location.origin + location.pathname, `${stack.cognito.origin}/logout`)
  t.equal(location.searchParams.get('client_id'), stack.clientId)
  t.equal(location.searchParams.get('logout_uri'), `${stack.config.web.baseUrl}/logged-out`, 'to the registered sign-out URL')
  t.equal(browser.cookie('localhost', 'sid'), undefined, 'our session cookie is gone')
  t.ok(stack.cognito.isRefreshTokenRevoked(oldRefresh), 'the old refresh token is revoked')
  t.ok(browser.cookie('localhost', 'signin-switch'), 'a short-lived marker for the way back')

  const toForm = await browser.follow(await browser.get(location), location)
  t.equal(new URL(toForm.url).pathname, '/login', 'Cognito shows its sign-in page again (its own session ended)')
  t.notOk(browser.cookie('localhost', 'signin-switch'), 'the marker is used up')
  const toAuthorize = toForm.hops.find((hop) => hop.location?.includes('/oauth2/authorize'))
  t.equal(new URL(toAuthorize?.url ?? 'http://x/').pathname, '/logged-out', 'the new sign-in starts at our sign-out URL')
  const authorize = new URL(toAuthorize?.location ?? 'http://x/')
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'BCP-01: the switch path sends a PKCE challenge')
  t.ok(authorize.searchParams.get('code_challenge') && authorize.searchParams.get('state') && authorize.searchParams.get('nonce'), 'with state and nonce')
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  const done = await browser.follow(submitted, form.action)
  t.equal(new URL(done.url).pathname, '/admin', 'back at the page that needed the group')
  t.equal(done.response.status, 200)
  t.match(await done.response.text(), /data-field="username">demo</)
  const exchange = stack.cognito.requests.filter((r) => r.grantType === 'authorization_code').at(-1)
  t.equal(exchange?.status, 200, 'the code exchange (with its verifier) was accepted')
})

t.test('BCP-01: back at the sign-out URL without the marker (or with a stale one) is the signed-out page, no sign-in', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const plain = await browser.get(`${stack.baseUrl}/logged-out`)
  t.equal(plain.status, 200)
  t.match(await plain.text(), /You have been signed out/)
  browser.setCookie('localhost', 'signin-switch', 'not-a-sealed-marker')
  const stale = await browser.get(`${stack.baseUrl}/logged-out`)
  t.equal(stale.status, 200, 'a marker that does not open is ignored')
  t.notOk(browser.cookie('localhost', 'signin-switch'), 'and cleared')
})

t.test('the switch needs a CSRF token', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const response = await browser.post(`${stack.baseUrl}/switch-account`, { returnTo: '/admin' })
  t.equal(response.status, 403)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'still signed in')
})
