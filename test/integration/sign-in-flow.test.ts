import t from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

t.test('the whole flow: sign in, see the logged-in page, sign out', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()

  // Anonymous home page offers sign-in and sign-up, and creates no session.
  const home = await browser.get(`${stack.baseUrl}/`)
  t.equal(home.status, 200)
  const homeHtml = await home.text()
  t.match(homeHtml, /href="\/login"[^>]*>Sign in</)
  t.match(homeHtml, /href="\/signup"[^>]*>Create account</)
  t.equal(home.headers.getSetCookie().length, 0, 'an anonymous visit sets no cookie')

  const result = await signIn(browser, stack)
  t.equal(result.response.status, 200)
  t.equal(new URL(result.url).pathname, '/logged-in', 'lands on /logged-in by default')
  t.match(result.html, /data-field="username">demo</)
  t.match(result.html, /demo@example\.com/)
  t.match(result.html, /Verified/)
  t.match(result.html, /<li class="tag">admin<\/li>/)
  t.match(result.html, /data-field="session-expires"><time datetime="/)

  // The callback answered 303 to /logged-in.
  const callbackHop = result.hops.find((h) => h.url.includes('/auth/callback'))
  t.equal(callbackHop?.status, 303)
  t.equal(callbackHop?.location, '/logged-in')

  // The emulator saw one authorization-code grant authenticated with client_secret_basic, and PKCE S256.
  const grants = stack.cognito.requests.filter((r) => r.grantType === 'authorization_code')
  t.equal(grants.length, 1)
  t.equal(grants[0]?.clientAuth, 'basic')
  t.equal(grants[0]?.status, 200)
  const authorize = stack.cognito.requests.find((r) => r.path === '/oauth2/authorize')
  t.equal(authorize?.query.code_challenge_method, 'S256')
  t.equal(authorize?.query.redirect_uri, `${stack.baseUrl}/auth/callback`)
  t.equal(authorize?.query.scope, 'openid email profile')
  t.ok(stack.cognito.requests.some((r) => r.path === '/oauth2/userInfo' && r.status === 200), 'userInfo fetched')

  // The home page now greets the user and offers sign-out.
  const homeSignedIn = await (await browser.get(`${stack.baseUrl}/`)).text()
  t.match(homeSignedIn, /Welcome back, Demo User/)
  t.match(homeSignedIn, /action="\/logout"/)

  const sid = browser.cookie('localhost', 'sid')
  t.ok(sid, 'session cookie set')

  // Sign out: a POST with the CSRF token, 303 to Cognito's logout with client_id and logout_uri.
  const logoutPage = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(logoutPage) })
  t.equal(out.status, 303)
  const location = new URL(out.headers.get('location') ?? '')
  t.equal(location.origin, stack.cognito.origin)
  t.equal(location.pathname, '/logout')
  t.equal(location.searchParams.get('client_id'), stack.clientId)
  t.equal(location.searchParams.get('logout_uri'), `${stack.baseUrl}/logged-out`)
  t.equal(browser.cookie('localhost', 'sid'), undefined, 'session cookie cleared')

  const after = await browser.follow(await browser.get(location), location)
  t.equal(after.url, `${stack.baseUrl}/logged-out`)
  t.match(await after.response.text(), /You have been signed out/)

  // The old session cookie no longer works.
  const replay = await fetch(`http://127.0.0.1:${new URL(stack.baseUrl).port}/logged-in`, {
    headers: { cookie: `sid=${sid}` },
    redirect: 'manual',
  })
  t.equal(replay.status, 302)
  t.equal(replay.headers.get('location'), '/login?returnTo=%2Flogged-in')

  // The refresh token was revoked at Cognito.
  t.ok(stack.cognito.requests.some((r) => r.path === '/oauth2/revoke' && r.status === 200), 'revocation sent')
})

t.test('a deep link comes back to itself after sign-in', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const anonymous = await browser.get(`${stack.baseUrl}/logged-in?tab=profile`)
  t.equal(anonymous.status, 302)
  t.equal(anonymous.headers.get('location'), '/login?returnTo=%2Flogged-in%3Ftab%3Dprofile')
  const result = await signIn(browser, stack, { start: '/logged-in?tab=profile' })
  t.equal(new URL(result.url).pathname + new URL(result.url).search, '/logged-in?tab=profile')
  t.equal(result.response.status, 200)
})

t.test('a user with no groups and an unverified email', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const result = await signIn(browser, stack, { username: 'reader', password: 'Reader-passw0rd' })
  t.equal(result.response.status, 200)
  t.match(result.html, /data-field="username">reader</)
  t.match(result.html, /Not verified/)
  t.match(result.html, /No groups/)
  t.notMatch(result.html, /class="tag"/)
})

t.test('sign-up goes to the hosted UI sign-up page and signs the new user in', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const start = await browser.get(`${stack.baseUrl}/signup`)
  t.equal(start.status, 302)
  const location = new URL(start.headers.get('location') ?? '')
  t.equal(location.origin, stack.cognito.origin)
  t.equal(location.pathname, '/signup')
  t.equal(location.searchParams.get('client_id'), stack.clientId)
  t.equal(location.searchParams.get('code_challenge_method'), 'S256')
  t.ok(browser.cookie('localhost', 'signin'), 'transaction cookie set')
})

t.test('no token, code or secret ever reaches a page, a cookie or a header', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const pages: string[] = []
  const result = await signIn(browser, stack)
  pages.push(result.html)
  for (const path of ['/', '/logged-in', '/logout', '/logged-out', '/nope']) {
    const response = await browser.get(`${stack.baseUrl}${path}`)
    pages.push(await response.text(), JSON.stringify([...response.headers]))
  }
  const session = await stack.app.sessionStore.read(
    decodeURIComponent(browser.cookie('localhost', 'sid') ?? '').split('.').slice(0, -1).join('.'),
  )
  const tokens = session?.tokens
  t.ok(tokens?.accessToken && tokens.idToken && tokens.refreshToken, 'the session holds the tokens on the server')
  const secrets = [tokens?.accessToken, tokens?.idToken, tokens?.refreshToken, stack.clientSecret].filter(
    (s): s is string => typeof s === 'string',
  )
  const code = new URL(result.hops.find((h) => h.url.includes('/auth/callback'))?.url ?? '').searchParams.get('code')
  t.ok(code, 'a code was used')
  secrets.push(code as string)
  const visible = [...pages, ...browser.setCookies].join('\n')
  for (const secret of secrets) {
    t.notOk(visible.includes(secret), 'secret absent from pages, headers and cookies')
    t.notOk(stack.logs.join('\n').includes(secret), 'secret absent from the log')
  }
})
