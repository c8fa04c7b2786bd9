/**
 * The baseline code flow as the OIDC conformance suite checks it (Basic RP): what the authorization
 * request carries, how the code is exchanged (client_secret_basic) and userInfo called (Bearer
 * header), which scopes are asked for, sign-out, and who the signed-in person is (sub, not email).
 * Cognito's token, userInfo and revocation endpoints are reached through a recording forwarder.
 */
import { decodeJwt } from 'jose'
import t from 'tap'
import { loadPoolConfig } from '../../src/config/index.js'
import { startSharedCognito, startStack, sessionIdOf, signIn } from '../helpers/stack.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { callApi } from '../api/helpers.js'
import { storeSize } from './helpers.js'
import { startForwarder } from './oidc-helpers.js'

const { cognito, clock } = await startSharedCognito(t)
const tap = await startForwarder(t, cognito.origin)
cognito.faults = {
  discovery: {
    revocation_endpoint: `${tap.origin}/oauth2/revoke`,
    token_endpoint: `${tap.origin}/oauth2/token`,
    userinfo_endpoint: `${tap.origin}/oauth2/userInfo`,
  },
}
const stack = await startStack(t, { sharedCognito: cognito, clock, env: { RATE_LIMIT_SIGNIN: '100' } })
cognito.faults = {}

/** The authorization URL the app sends a browser to from /login. */
async function authorizeUrl(browser: Browser): Promise<URL> {
  const response = await browser.get(`${stack.baseUrl}/login`)
  await response.arrayBuffer()
  const location = response.headers.get('location')
  if (response.status !== 302 || !location) throw new Error(`/login answered ${response.status}`)
  return new URL(location)
}

async function sessionOf(browser: Browser) {
  return stack.app.sessionStore.read(sessionIdOf(browser) as string)
}

t.test('OIDC-01 the authorization request carries code, openid, state, nonce, PKCE S256 and the registered redirect_uri; the session comes after the code exchange, the ID token and userInfo', async (t) => {
  const browser = new Browser()
  const sessions = storeSize(stack)
  const url = await authorizeUrl(browser)
  t.equal(url.origin + url.pathname, `${cognito.origin}/oauth2/authorize`)
  const q = url.searchParams
  t.equal(q.get('response_type'), 'code')
  t.ok(q.get('scope')?.split(' ').includes('openid'), 'scope includes openid')
  t.ok(q.get('state'), 'state')
  t.ok(q.get('nonce'), 'nonce')
  t.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, 'an S256 code challenge')
  t.equal(q.get('code_challenge_method'), 'S256')
  t.equal(q.get('redirect_uri'), `${stack.baseUrl}/auth/callback`, 'exactly the registered redirect_uri')
  t.equal(q.get('client_id'), stack.clientId)
  t.equal(storeSize(stack), sessions, 'no session for the visitor yet')
  t.notOk(browser.cookie('localhost', 'sid'), 'no session cookie yet')

  // The sign-in itself (its own /login, with a nonce of its own).
  const before = cognito.requests.length
  const { response, url: landed, hops } = await signIn(browser, stack)
  const sent = new URL(hops.find((h) => h.url.includes('/oauth2/authorize'))?.url ?? '').searchParams
  t.equal(response.status, 200)
  t.equal(new URL(landed).pathname, '/logged-in')
  const after = cognito.requests.slice(before)
  const grant = after.findIndex((r) => r.grantType === 'authorization_code' && r.status === 200)
  const userInfo = after.findIndex((r) => r.path === '/oauth2/userInfo' && r.status === 200)
  t.ok(grant >= 0, 'the code was exchanged at the token endpoint')
  t.ok(userInfo > grant, 'then userInfo was called')
  const session = await sessionOf(browser)
  t.equal(session?.user?.sub, '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13', 'and then the session was created, for the ID token’s subject')
  t.equal(decodeJwt(session?.tokens?.idToken ?? '').nonce, sent.get('nonce'), 'its ID token carries the nonce its request sent')

  // Configuration cannot take openid away; response_type is not configurable at all.
  const env = { NODE_ENV: 'test', COGNITO_ISSUER: cognito.issuer, COGNITO_CLIENT_ID: stack.clientId, COGNITO_CLIENT_SECRET: stack.clientSecret }
  t.throws(() => loadPoolConfig({ ...env, COGNITO_SCOPES: 'email profile' }), /COGNITO_SCOPES: must include "openid"/, 'scopes without openid refuse to start')
  t.same(loadPoolConfig({ ...env, COGNITO_SCOPES: 'openid email' }).cognito.scopes, ['openid', 'email'])
})

t.test('OIDC-03 every sign-in sends its own fresh nonce (≥128 bits), never readable in a cookie', async (t) => {
  const nonces = new Set<string>()
  const states = new Set<string>()
  for (let i = 0; i < 5; i++) {
    const browser = new Browser()
    const q = (await authorizeUrl(browser)).searchParams
    const nonce = q.get('nonce') ?? ''
    t.match(nonce, /^[A-Za-z0-9_-]{22,}$/, 'base64url, at least 22 characters (128 bits)')
    nonces.add(nonce)
    states.add(q.get('state') ?? '')
    const sealed = browser.cookie('localhost', 'signin') ?? ''
    t.ok(sealed, 'the transaction is kept for the callback')
    t.notOk(sealed.includes(nonce), 'the nonce is not readable in the transaction cookie')
    t.notOk(Buffer.from(sealed.replace(/\./g, ''), 'base64url').toString('latin1').includes(nonce), 'not even base64-decoded')
  }
  t.equal(nonces.size, 5, 'five sign-ins, five nonces')
  t.equal(states.size, 5, 'and five states')
  // The same browser starting again gets a new nonce too.
  const browser = new Browser()
  const first = (await authorizeUrl(browser)).searchParams.get('nonce')
  const second = (await authorizeUrl(browser)).searchParams.get('nonce')
  t.not(first, second, 'one nonce per transaction')
})

t.test('OIDC-14 userInfo gets the access token in an Authorization: Bearer header only, never in a URL', async (t) => {
  const browser = new Browser()
  const from = tap.seen.length
  await signIn(browser, stack)
  const accessToken = (await sessionOf(browser))?.tokens?.accessToken ?? ''
  t.ok(accessToken, 'signed in with an access token')
  const calls = tap.seen.slice(from).filter((r) => r.path === '/oauth2/userInfo')
  t.equal(calls.length, 1, 'one userInfo call')
  t.equal(calls[0]?.method, 'GET')
  t.equal(calls[0]?.authorization, `Bearer ${accessToken}`, 'Authorization: Bearer <access token>')
  t.equal(calls[0]?.query, '', 'no query')
  t.equal(calls[0]?.body, '', 'no body')
  t.notOk(tap.seen.some((r) => r.query.includes(accessToken.split('.')[2] ?? accessToken)), 'the access token is in no URL sent to Cognito')
})

t.test('OIDC-15 the token and revocation endpoints get client_secret_basic: the secret in Authorization: Basic, none in the body', async (t) => {
  const browser = new Browser()
  const from = tap.seen.length
  await signIn(browser, stack)
  const page = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(page) })
  t.equal(out.status, 303)
  const calls = tap.seen.slice(from).filter((r) => r.method === 'POST' && (r.path === '/oauth2/token' || r.path === '/oauth2/revoke'))
  t.same(calls.map((r) => r.path), ['/oauth2/token', '/oauth2/revoke'], 'the code grant, then the revocation')
  const expected = `Basic ${Buffer.from(`${encodeURIComponent(stack.clientId)}:${encodeURIComponent(stack.clientSecret)}`).toString('base64')}`
  for (const call of calls) {
    t.equal(call.authorization, expected, `${call.path}: Authorization: Basic base64(client_id:client_secret)`)
    const body = new URLSearchParams(call.body)
    t.notOk(body.has('client_secret'), `${call.path}: no client_secret in the body`)
    t.notOk(call.body.includes(stack.clientSecret), `${call.path}: the secret appears nowhere in the body`)
  }
  const grants = cognito.requests.filter((r) => r.path === '/oauth2/token' || r.path === '/oauth2/revoke').slice(-2)
  t.same(grants.map((r) => r.clientAuth), ['basic', 'basic'], 'Cognito saw client_secret_basic, not post or both')
})

t.test('OIDC-16 only openid email profile are asked for; claims come from the ID token and userInfo; missing optional claims are fine', async (t) => {
  const browser = new Browser()
  const q = (await authorizeUrl(browser)).searchParams
  t.equal(q.get('scope'), 'openid email profile', 'the scopes the app needs, no more')
  const { html } = await signIn(browser, stack)
  t.match(html, /Demo User/, 'the name (userInfo)')
  t.match(html, /<li class="tag">admin<\/li>/, 'the groups (ID token only)')

  cognito.addUser({ username: 'bare', password: 'Bare-passw0rd', sub: '5d0c0e1a-0000-7000-8000-00000000ba4e' })
  const bare = new Browser()
  const result = await signIn(bare, stack, { username: 'bare', password: 'Bare-passw0rd' })
  t.equal(result.response.status, 200, 'a user without email, name or groups signs in')
  t.equal(new URL(result.url).pathname, '/logged-in')
  t.match(result.html, /data-field="username">bare</)
  const me = await callApi(stack, {}, '/api/me', bare)
  t.equal(me.status, 200)
  t.equal(me.body.sub, '5d0c0e1a-0000-7000-8000-00000000ba4e')
  t.same(me.body.groups, [])
})

t.test('OIDC-25 sign-out ends the session before sending the browser to Cognito’s /logout; the signed-out page trusts no state', async (t) => {
  const browser = new Browser()
  await signIn(browser, stack)
  const sid = sessionIdOf(browser) as string
  t.ok(await stack.app.sessionStore.read(sid), 'signed in')
  const page = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(page) })
  t.equal(out.status, 303)
  // Before the browser has gone anywhere, the session is already gone.
  t.equal(await stack.app.sessionStore.read(sid), null, 'the session is deleted before the redirect is followed')
  t.notOk(browser.cookie('localhost', 'sid'), 'and its cookie cleared')
  const location = new URL(out.headers.get('location') ?? '')
  t.equal(`${location.origin}${location.pathname}`, `${cognito.origin}/logout`)
  t.same([...location.searchParams.keys()].sort(), ['client_id', 'logout_uri'], 'Cognito’s form: client_id and logout_uri only')
  t.equal(location.searchParams.get('client_id'), stack.clientId)
  t.equal(location.searchParams.get('logout_uri'), `${stack.baseUrl}/logged-out`, 'the registered sign-out URL')
  const back = await browser.follow(await browser.get(location), location)
  t.equal(back.url, `${stack.baseUrl}/logged-out`)
  t.match(await back.response.text(), /You have been signed out/)

  const sessions = storeSize(stack)
  for (const query of ['', '?state=not-one-we-sent', `?state=${encodeURIComponent('"><script>alert(1)</script>')}&code=x&error=y`]) {
    const visitor = new Browser()
    const response = await visitor.get(`${stack.baseUrl}/logged-out${query}`)
    const html = await response.text()
    t.equal(response.status, 200, `/logged-out${query}: served`)
    t.match(html, /You have been signed out/)
    t.notMatch(html, /not-one-we-sent|<script>alert/, 'nothing of the query on the page')
    t.notOk(visitor.cookie('localhost', 'sid'), 'no session started')
  }
  t.equal(storeSize(stack), sessions, 'no session stored')
})

t.test('OIDC-26 two Cognito users sharing an email are two people: the app keys on sub', async (t) => {
  cognito.addUser({
    username: 'demo-twin',
    password: 'Twin-passw0rd',
    sub: '9b2f4e60-1d3c-70a8-b9e4-0c6d8a2f7e15',
    email: 'demo@example.com',
    emailVerified: true,
    name: 'Demo Twin',
  })
  const demo = new Browser()
  const twin = new Browser()
  await signIn(demo, stack)
  await signIn(twin, stack, { username: 'demo-twin', password: 'Twin-passw0rd' })
  const a = await callApi(stack, {}, '/api/me', demo)
  const b = await callApi(stack, {}, '/api/me', twin)
  t.equal(a.body.email, b.body.email, 'same email')
  t.equal(a.body.sub, '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13')
  t.equal(b.body.sub, '9b2f4e60-1d3c-70a8-b9e4-0c6d8a2f7e15', 'each is their own subject')
  t.same(a.body.groups, ['admin'])
  t.same(b.body.groups, [], 'the twin does not inherit the other’s groups')
  t.equal((await demo.get(`${stack.baseUrl}/admin`)).status, 200, 'demo is an admin')
  t.equal((await twin.get(`${stack.baseUrl}/admin`)).status, 403, 'the twin with the same email is not')
})
