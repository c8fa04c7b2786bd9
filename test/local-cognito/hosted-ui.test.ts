import t from 'tap'
import { startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import {
  APP,
  CALLBACK,
  authorizeUrl,
  basic,
  codeParams,
  cognitoCookie,
  confidentialClient,
  decodeJwt,
  openForm,
  pkcePair,
  signIn,
  token,
} from './helpers.js'

const client = confidentialClient('hostedui0client0000000001', {
  allowedScopes: ['openid', 'email', 'profile', 'phone', 'aws.cognito.signin.user.admin', 'api/read'],
})
const m2m = confidentialClient('hostedui0m2m0000000000001', { allowedOAuthFlows: ['client_credentials'], allowedScopes: ['api/read'] })
const cognito = await startLocalCognito({ clients: [client, m2m] })
t.teardown(() => cognito.close())

const location = (res: Response): URL => new URL(res.headers.get('location') ?? '', cognito.origin)

t.test('authorize without a session redirects to /login with the same query', async (t) => {
  const params = codeParams(client, { scope: 'openid email', state: 'st-1', nonce: 'n-1' })
  const url = authorizeUrl(cognito, params)
  const res = await new Browser().get(url)
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), `${cognito.origin}/login?${new URL(url).search.slice(1)}`)
})

t.test('authorize errors', async (t) => {
  let res = await new Browser().get(authorizeUrl(cognito, codeParams({ ...client, clientId: 'nosuchclient' })))
  t.equal(res.status, 400, 'unknown client: error page')
  const html = await res.text()
  t.match(html, 'An error was encountered with the requested page.')
  t.equal(res.headers.get('location'), null)

  res = await new Browser().get(authorizeUrl(cognito, codeParams(client, { redirect_uri: `${APP}/evil` })))
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), `${cognito.origin}/error?error=redirect_mismatch&client_id=${client.clientId}`)
  res = await new Browser().get(authorizeUrl(cognito, codeParams(client, { redirect_uri: `${CALLBACK}/` })))
  t.equal(location(res).pathname, '/error', 'trailing slash is a mismatch')
  res = await new Browser().get(authorizeUrl(cognito, { client_id: client.clientId, response_type: 'code' }))
  t.equal(location(res).searchParams.get('error'), 'redirect_mismatch', 'missing redirect_uri')

  const errorOf = async (params: Record<string, string>): Promise<URL> => {
    const r = await new Browser().get(authorizeUrl(cognito, params))
    t.equal(r.status, 302)
    const loc = location(r)
    t.equal(`${loc.origin}${loc.pathname}`, CALLBACK, 'error goes to the redirect_uri')
    return loc
  }
  const { response_type: _rt, ...noType } = codeParams(client, { state: 'abc' })
  let loc = await errorOf(noType)
  t.equal(loc.searchParams.get('error'), 'invalid_request')
  t.equal(loc.searchParams.get('state'), 'abc', 'state echoed')

  const { challenge } = pkcePair()
  loc = await errorOf(codeParams(client, { code_challenge: challenge }))
  t.equal(loc.searchParams.get('error'), 'invalid_request', 'challenge without method')
  loc = await errorOf(codeParams(client, { code_challenge: challenge, code_challenge_method: 'plain' }))
  t.equal(loc.searchParams.get('error'), 'invalid_request', 'plain method')
  loc = await errorOf(codeParams(client, { code_challenge_method: 'S256' }))
  t.equal(loc.searchParams.get('error'), 'invalid_request', 'method without challenge')

  loc = await errorOf(codeParams(client, { scope: 'openid bogus' }))
  t.equal(loc.searchParams.get('error'), 'invalid_scope', 'unknown scope')
  loc = await errorOf(codeParams(client, { scope: 'openid "quoted"' }))
  t.equal(loc.searchParams.get('error'), 'invalid_scope', 'malformed scope')
  loc = await errorOf(codeParams(client, { scope: 'openid other/scope' }))
  t.equal(loc.searchParams.get('error'), 'invalid_scope', 'custom scope no resource server declares')

  loc = await errorOf(codeParams(client, { response_type: 'token' }))
  t.equal(loc.searchParams.get('error'), 'unauthorized_client', 'implicit not allowed')
  loc = await errorOf(codeParams(client, { response_type: 'id_token' }))
  t.equal(loc.searchParams.get('error'), 'unsupported_response_type')

  // Google is a simulated provider by default (federated.test.ts); a provider the pool lacks is refused.
  loc = await errorOf(codeParams(client, { identity_provider: 'Facebook', state: 's' }))
  t.equal(loc.searchParams.get('error'), 'invalid_request')
  t.match(loc.searchParams.get('error_description'), /Facebook/)
  t.equal(loc.searchParams.get('state'), 's')

  res = await new Browser().get(authorizeUrl(cognito, codeParams(client, { identity_provider: 'COGNITO' })))
  t.equal(location(res).pathname, '/login', 'identity_provider=COGNITO shows the login page')

  const m2mWithCallback = { ...m2m, callbackUrls: [CALLBACK] }
  loc = await errorOf(codeParams(m2mWithCallback))
  t.equal(loc.searchParams.get('error'), 'unauthorized_client', 'client without the code flow')

  res = await new Browser().get(`${cognito.origin}/error?error=redirect_mismatch`)
  t.equal(res.status, 400)
  t.match(await res.text(), /An error was encountered with the requested page\.[\s\S]*redirect_mismatch/)
})

t.test('login page: labelled form, csrf cookie, escaping', async (t) => {
  const browser = new Browser()
  const params = codeParams(client, { state: 'st', login_hint: '"><script>alert(1)</script>' })
  let res = await browser.get(authorizeUrl(cognito, params))
  const page = location(res)
  res = await browser.get(page)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/html/)
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('XSRF-TOKEN='))
  t.ok(setCookie)
  t.match(setCookie, /; Path=\//)
  t.match(setCookie, /; HttpOnly/)
  t.match(setCookie, /; SameSite=Lax/)
  t.notMatch(setCookie, /Secure/)
  const html = await res.text()
  t.match(html, /^<!DOCTYPE html>/)
  t.match(html, '<label for="signInFormUsername">')
  t.match(html, '<label for="signInFormPassword">')
  t.match(html, 'id="signInSubmitButton"')
  t.notMatch(html, '<script>', 'query values are escaped')
  t.match(html, 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"', 'login_hint prefilled, escaped')
  const form = parseSignInForm(html, page)
  t.equal(form.name, 'cognitoSignInForm')
  t.equal(form.csrf, cognitoCookie(browser, cognito, 'XSRF-TOKEN'), 'hidden _csrf matches the cookie')
  t.equal(form.formAction, `/login?${new URLSearchParams(params).toString()}`)
  t.match(html, `href="/signup?`)
})

t.test('login: csrf missing / wrong, wrong password, disabled user', async (t) => {
  const params = codeParams(client, { state: 'x' })
  const browser = new Browser()
  const form = await openForm(authorizeUrl(cognito, params), browser)
  const action = form.action

  let res = await browser.post(action, { username: 'demo', password: 'Demo-passw0rd' })
  t.equal(res.status, 403, 'missing csrf')
  t.equal(res.headers.get('location'), null)
  res = await browser.post(action, { _csrf: 'wrong', username: 'demo', password: 'Demo-passw0rd' })
  t.equal(res.status, 403, 'wrong csrf')
  res = await new Browser().post(action, { _csrf: form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  t.equal(res.status, 403, 'csrf field without the cookie')

  res = await browser.post(action, { _csrf: form.csrf, username: 'demo', password: 'wrong-password' })
  t.equal(res.status, 400)
  let html = await res.text()
  t.match(html, 'Incorrect username or password.')
  t.ok(parseSignInForm(html, action).csrf, 'form re-rendered')
  t.equal(cognitoCookie(browser, cognito, 'cognito'), undefined, 'no session')

  res = await browser.post(action, { _csrf: form.csrf, username: 'nobody', password: 'x' })
  t.match(await res.text(), 'Incorrect username or password.', 'unknown user: same message')

  cognito.addUser({ username: 'frozen', password: 'Frozen-passw0rd', enabled: false })
  res = await browser.post(action, { _csrf: form.csrf, username: 'frozen', password: 'Frozen-passw0rd' })
  html = await res.text()
  t.equal(res.status, 400)
  t.match(html, 'User is disabled.')

  res = await browser.post(`${cognito.origin}/login?${new URLSearchParams({ ...params, redirect_uri: `${APP}/evil` }).toString()}`, { _csrf: form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  t.equal(res.status, 302)
  t.equal(location(res).pathname, '/error', 'POST re-validates redirect_uri')

  res = await browser.post(action, { _csrf: form.csrf, username: 'DEMO', password: 'Demo-passw0rd' })
  t.equal(res.status, 302, 'usernames are case-insensitive')
  const loc = location(res)
  t.equal(`${loc.origin}${loc.pathname}`, CALLBACK)
  t.match(loc.searchParams.get('code'), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  t.equal(loc.searchParams.get('state'), 'x')
  const session = res.headers.getSetCookie().find((c) => c.startsWith('cognito='))
  t.match(session, /HttpOnly/)
  t.match(session, /Max-Age=3600/)
})

t.test('hosted-UI session cookie gives a silent code; expires after an hour', async (t) => {
  let clock = Date.now()
  const timed = await startLocalCognito({ clients: [client], now: () => clock })
  t.teardown(() => timed.close())
  const { res, browser } = await signIn(timed, codeParams(client), 'demo', 'Demo-passw0rd')
  t.equal(res.status, 302)
  const firstCode = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? ''
  const first = await token(timed, { grant_type: 'authorization_code', code: firstCode, redirect_uri: CALLBACK }, basic(client.clientId, client.clientSecret ?? ''))
  const authTime = decodeJwt(String(first.json['id_token'])).payload['auth_time']

  clock += 10 * 60 * 1000
  const silent = await browser.get(authorizeUrl(timed, codeParams(client, { state: 'again' })))
  t.equal(silent.status, 302)
  const loc = new URL(silent.headers.get('location') ?? '')
  t.equal(`${loc.origin}${loc.pathname}`, CALLBACK, 'straight back to the app')
  t.equal(loc.searchParams.get('state'), 'again')
  const code = loc.searchParams.get('code') ?? ''
  const second = await token(timed, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, client.clientSecret ?? ''))
  t.equal(second.status, 200)
  t.equal(decodeJwt(String(second.json['id_token'])).payload['auth_time'], authTime, 'auth_time is the interactive sign-in')

  const forced = await browser.get(authorizeUrl(timed, codeParams(client, { prompt: 'login' })))
  t.equal(new URL(forced.headers.get('location') ?? '').pathname, '/login', 'prompt=login forces the page')

  clock += 51 * 60 * 1000
  const expired = await browser.get(authorizeUrl(timed, codeParams(client)))
  t.equal(new URL(expired.headers.get('location') ?? '').pathname, '/login', 'session older than 1 h is gone')
  const none = await browser.get(authorizeUrl(timed, codeParams(client, { prompt: 'none', state: 'q' })))
  const noneLoc = new URL(none.headers.get('location') ?? '')
  t.equal(noneLoc.searchParams.get('error'), 'login_required')
  t.equal(noneLoc.searchParams.get('state'), 'q')
})

t.test('a disabled user loses the silent sign-in', async (t) => {
  cognito.addUser({ username: 'temp', password: 'Temp-passw0rd' })
  const { browser } = await signIn(cognito, codeParams(client), 'temp', 'Temp-passw0rd')
  t.ok(cognitoCookie(browser, cognito, 'cognito'))
  cognito.setUserEnabled('temp', false)
  const res = await browser.get(authorizeUrl(cognito, codeParams(client)))
  t.equal(location(res).pathname, '/login')
  t.throws(() => cognito.setUserEnabled('ghost', true))
})

t.test('logout', async (t) => {
  const { browser } = await signIn(cognito, codeParams(client), 'demo', 'Demo-passw0rd')
  t.ok(cognitoCookie(browser, cognito, 'cognito'), 'signed in')

  let res = await browser.get(`${cognito.origin}/logout?${new URLSearchParams({ client_id: client.clientId, logout_uri: `${APP}/elsewhere` })}`)
  t.equal(res.status, 400, 'unregistered logout_uri')
  t.match(await res.text(), 'Required String parameter &#39;redirect_uri&#39; is not present')
  t.ok(cognitoCookie(browser, cognito, 'cognito'), 'session kept on a bad request')
  res = await browser.get(`${cognito.origin}/logout?${new URLSearchParams({ client_id: client.clientId, post_logout_redirect_uri: `${APP}/logged-out` })}`)
  t.equal(res.status, 400, 'OIDC post_logout_redirect_uri is not honoured')
  res = await browser.get(`${cognito.origin}/logout?${new URLSearchParams({ client_id: 'nosuchclient', logout_uri: `${APP}/logged-out` })}`)
  t.equal(res.status, 400, 'unknown client')

  res = await browser.get(`${cognito.origin}/logout?${new URLSearchParams({ client_id: client.clientId, logout_uri: `${APP}/logged-out` })}`)
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), `${APP}/logged-out`)
  t.equal(cognitoCookie(browser, cognito, 'cognito'), undefined, 'cookie cleared')
  res = await browser.get(authorizeUrl(cognito, codeParams(client)))
  t.equal(location(res).pathname, '/login', 'no silent sign-in after logout')

  const again = await signIn(cognito, codeParams(client), 'demo', 'Demo-passw0rd')
  res = await again.browser.get(`${cognito.origin}/logout?${new URLSearchParams({ client_id: client.clientId, redirect_uri: CALLBACK, response_type: 'code', state: 's1', scope: 'openid' })}`)
  t.equal(res.status, 302)
  const loc = location(res)
  t.equal(loc.pathname, '/login')
  t.same(Object.fromEntries(loc.searchParams), { client_id: client.clientId, redirect_uri: CALLBACK, response_type: 'code', scope: 'openid', state: 's1' })
  t.equal(cognitoCookie(again.browser, cognito, 'cognito'), undefined)
  res = await new Browser().get(`${cognito.origin}/logout?${new URLSearchParams({ client_id: client.clientId, redirect_uri: `${APP}/evil`, response_type: 'code' })}`)
  t.equal(res.status, 400, 'redirect_uri form needs a callback URL')
})
