import t from 'tap'
import * as oidc from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { FEDERATED_TEST_USER, startLocalCognito, type LocalCognito } from '../../src/local-cognito/index.js'
import { Browser, parseSignInForm, type HostedForm } from '../helpers/browser.js'
import { CALLBACK, authorizeUrl, codeParams, cognitoCookie, confidentialClient, decodeJwt } from './helpers.js'

const client = confidentialClient('federated0client000000001')
const cognito = await startLocalCognito({ clients: [client] })
t.teardown(() => cognito.close())

const GOOGLE_USERNAME = 'google_102600000000000000001'
const secrets = new Set<string>([client.clientSecret ?? ''])

const location = (res: Response, origin = cognito.origin): URL => new URL(res.headers.get('location') ?? '', origin)

async function configFor(cog: LocalCognito): Promise<oidc.Configuration> {
  const secret = client.clientSecret ?? ''
  return oidc.discovery(new URL(cog.issuer), client.clientId, secret, oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] })
}

/** authorize (identity_provider given) → 302 to the IdP page → GET it; returns the page's form. */
async function openIdpPage(cog: LocalCognito, url: string, browser: Browser): Promise<{ page: URL; form: HostedForm; res: Response }> {
  const res = await browser.get(url)
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}`)
  const page = location(res, cog.origin)
  const pageRes = await browser.get(page)
  if (pageRes.status !== 200) throw new Error(`IdP page answered ${pageRes.status}`)
  return { page, form: parseSignInForm(await pageRes.text(), page), res: pageRes }
}

/** POST the IdP form with the given button, then follow the IdP's redirect to /oauth2/idpresponse. */
async function pressButton(cog: LocalCognito, form: HostedForm, action: 'continue' | 'cancel', browser: Browser): Promise<{ idp: Response; final: Response }> {
  const idp = await browser.post(form.action, { _csrf: form.csrf, action })
  if (idp.status !== 302) throw new Error(`IdP form answered ${idp.status}`)
  const back = location(idp, cog.origin)
  secrets.add(back.searchParams.get('code') ?? '')
  const final = await browser.get(back)
  return { idp, final }
}

async function federatedFlow(cog: LocalCognito, config: oidc.Configuration, browser = new Browser()) {
  const verifier = oidc.randomPKCECodeVerifier()
  const challenge = await oidc.calculatePKCECodeChallenge(verifier)
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email profile',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    identity_provider: 'Google',
  })
  const { page, form } = await openIdpPage(cog, url.href, browser)
  const { final } = await pressButton(cog, form, 'continue', browser)
  const callback = location(final)
  secrets.add(callback.searchParams.get('code') ?? '')
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
  for (const v of [tokens.access_token, tokens.id_token, tokens.refresh_token]) if (v) secrets.add(v)
  return { tokens, page, final, callback, state, browser }
}

t.test('full code flow through the simulated Google', async (t) => {
  cognito.resetRequests()
  const config = await configFor(cognito)
  const browser = new Browser()
  const verifier = oidc.randomPKCECodeVerifier()
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'orig-state-1',
    nonce: 'nonce-1',
    identity_provider: 'Google',
  })

  const res = await browser.get(url)
  t.equal(res.status, 302, 'authorize skips the login page')
  const page = location(res)
  t.equal(page.pathname, '/federated/Google/authorize')
  t.same([...page.searchParams.keys()], ['state'], 'only a server-side handle travels')
  t.match(page.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/)
  t.not(page.searchParams.get('state'), 'orig-state-1')

  const pageRes = await browser.get(page)
  t.equal(pageRes.status, 200)
  t.match(pageRes.headers.get('content-type'), /^text\/html/)
  const html = await pageRes.text()
  t.match(html, '<h1>Sign in with Google (simulated)</h1>')
  t.match(html, FEDERATED_TEST_USER.email)
  t.match(html, FEDERATED_TEST_USER.name)
  t.match(html, /<button id="federatedContinueButton" name="action" value="continue" type="submit"[^>]*>Continue<\/button>/)
  t.match(html, /<button id="federatedCancelButton" name="action" value="cancel" type="submit"[^>]*>Cancel<\/button>/)
  const form = parseSignInForm(html, page)
  t.equal(form.name, 'federatedSignInForm')
  t.equal(form.formAction, `/federated/Google/authorize?state=${page.searchParams.get('state')}`)

  const { idp, final } = await pressButton(cognito, form, 'continue', browser)
  const back = location(idp)
  t.equal(back.pathname, '/oauth2/idpresponse', 'the IdP answers to Cognito')
  t.equal(back.searchParams.get('state'), page.searchParams.get('state'))
  t.ok(back.searchParams.get('code'))
  t.equal(final.status, 302)
  const callback = location(final)
  t.equal(`${callback.origin}${callback.pathname}`, CALLBACK)
  t.equal(callback.searchParams.get('state'), 'orig-state-1', 'original state')
  t.ok(cognitoCookie(browser, cognito, 'cognito'), 'hosted-UI session started')

  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'orig-state-1', expectedNonce: 'nonce-1' })
  for (const v of [tokens.access_token, tokens.id_token, tokens.refresh_token]) if (v) secrets.add(v)
  const idToken = tokens.id_token ?? ''
  const jwks = createRemoteJWKSet(new URL(`${cognito.issuer}/.well-known/jwks.json`))
  const { payload: claims } = await jwtVerify(idToken, jwks, { issuer: cognito.issuer, audience: client.clientId })
  t.same(Object.keys(decodeJwt(idToken).payload), [
    'at_hash', 'sub', 'cognito:groups', 'email_verified', 'iss', 'cognito:username', 'nonce', 'origin_jti',
    'aud', 'identities', 'event_id', 'token_use', 'auth_time', 'exp', 'iat', 'jti', 'email', 'name',
  ], 'Cognito claim order, identities after aud')
  t.equal(claims['cognito:username'], GOOGLE_USERNAME)
  t.same(claims['cognito:groups'], [`${cognito.userPoolId}_Google`])
  t.equal(claims['email'], FEDERATED_TEST_USER.email)
  t.equal(claims['email_verified'], true)
  t.equal(claims['name'], 'Fed User')
  const identities = claims['identities'] as Array<Record<string, unknown>>
  t.equal(identities.length, 1)
  const identity = identities[0] ?? {}
  t.same(Object.keys(identity), ['userId', 'providerName', 'providerType', 'issuer', 'primary', 'dateCreated'])
  t.match(identity, { userId: '102600000000000000001', providerName: 'Google', providerType: 'Google', issuer: null, primary: 'true' })
  t.type(identity['dateCreated'], 'string')
  t.ok(Math.abs(Number(identity['dateCreated']) - Date.now()) < 10_000, 'dateCreated in ms')

  const access = decodeJwt(tokens.access_token).payload
  t.equal(access['username'], GOOGLE_USERNAME)
  t.same(access['cognito:groups'], [`${cognito.userPoolId}_Google`])
  t.notOk('identities' in access)

  const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims['sub']))
  t.same(info, {
    sub: claims['sub'],
    identities: JSON.stringify(identities),
    email_verified: 'true',
    email: FEDERATED_TEST_USER.email,
    name: 'Fed User',
    username: GOOGLE_USERNAME,
  }, 'userInfo: identities as a JSON string')

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '')
  const again = decodeJwt(refreshed.id_token ?? '').payload
  t.same(again['identities'], identities, 'refresh keeps identities')
  t.same(again['cognito:groups'], [`${cognito.userPoolId}_Google`])

  // Every step is recorded, none with a secret.
  const paths = cognito.requests.map((r) => `${r.method} ${r.path} ${r.status}`)
  t.same(paths.filter((p) => !p.includes('well-known')), [
    'GET /oauth2/authorize 302',
    'GET /federated/Google/authorize 200',
    'POST /federated/Google/authorize 302',
    'GET /oauth2/idpresponse 302',
    'POST /oauth2/token 200',
    'GET /oauth2/userInfo 200',
    'POST /oauth2/token 200',
  ])
  t.equal(cognito.requests.find((r) => r.path === '/oauth2/authorize')?.query['identity_provider'], 'Google')
  t.notOk(cognito.requests.some((r) => r.error !== undefined), 'no errors noted')
  const log = JSON.stringify(cognito.requests)
  for (const s of secrets) if (s) t.notOk(log.includes(s), 'no secret in requests')
  t.notOk(log.includes('nonce-1'))
})

t.test('a second federated sign-in reuses the user (same sub)', async (t) => {
  const config = await configFor(cognito)
  const first = await federatedFlow(cognito, config)
  const second = await federatedFlow(cognito, config) // a fresh Browser (no cookies): through the IdP page again
  const a = decodeJwt(first.tokens.id_token ?? '').payload
  const b = decodeJwt(second.tokens.id_token ?? '').payload
  t.equal(b['sub'], a['sub'])
  t.equal(b['cognito:username'], GOOGLE_USERNAME)
  t.same(b['identities'], a['identities'], 'same identities, same dateCreated')
  t.same(b['cognito:groups'], [`${cognito.userPoolId}_Google`], 'automatic group not duplicated')

  // The Cognito session from the federated sign-in serves a plain authorize without any page.
  const res = await second.browser.get(authorizeUrl(cognito, codeParams(client, { scope: 'openid', state: 's2' })))
  t.equal(location(res).searchParams.get('state'), 's2')
  t.ok(location(res).searchParams.get('code'), 'code from the session')
  // identity_provider=Google still goes to the IdP page, session or not.
  const viaIdp = await second.browser.get(authorizeUrl(cognito, codeParams(client, { identity_provider: 'Google' })))
  t.equal(location(viaIdp).pathname, '/federated/Google/authorize')
})

t.test('Cancel yields access_denied with the original state', async (t) => {
  cognito.resetRequests()
  const browser = new Browser()
  const { form } = await openIdpPage(cognito, authorizeUrl(cognito, codeParams(client, { state: 'orig/st=ate+1', identity_provider: 'Google' })), browser)
  const { idp, final } = await pressButton(cognito, form, 'cancel', browser)
  t.equal(location(idp).pathname, '/oauth2/idpresponse')
  t.equal(location(idp).searchParams.get('error'), 'access_denied')
  t.equal(final.status, 302)
  const callback = location(final)
  t.equal(`${callback.origin}${callback.pathname}`, CALLBACK)
  t.same([...callback.searchParams], [['error', 'access_denied'], ['state', 'orig/st=ate+1']], 'no code, state verbatim')
  t.notOk(cognitoCookie(browser, cognito, 'cognito'), 'no session')
  t.equal(cognito.requests.find((r) => r.path === '/oauth2/idpresponse')?.error, 'access_denied')

  // The state was used up: going back to the page or replaying the answer fails.
  const again = await browser.get(form.action)
  t.equal(again.status, 400)
  t.match(await again.text(), 'An error was encountered with the requested page.')
  const replay = await browser.get(location(idp))
  t.equal(replay.status, 400)
})

t.test('unknown provider names are refused (case-sensitive)', async (t) => {
  for (const name of ['google', 'GOOGLE', 'Facebook', '']) {
    const res = await new Browser().get(authorizeUrl(cognito, codeParams(client, { state: 'st-u', identity_provider: name })))
    t.equal(res.status, 302)
    const loc = location(res)
    t.equal(`${loc.origin}${loc.pathname}`, CALLBACK, `${name}: error goes to the redirect_uri`)
    t.equal(loc.searchParams.get('error'), 'invalid_request')
    t.equal(loc.searchParams.get('error_description'), `Identity provider ${name} does not exist for this client.`)
    t.equal(loc.searchParams.get('state'), 'st-u')
  }
  const page = await new Browser().get(`${cognito.origin}/federated/Facebook/authorize?state=${'a'.repeat(43)}`)
  t.equal(page.status, 400, 'no page for an unknown provider')

  const res = await new Browser().get(authorizeUrl(cognito, codeParams(client, { identity_provider: 'COGNITO' })))
  t.equal(location(res).pathname, '/login', 'COGNITO still means the login page')
})

t.test('the IdP form needs the CSRF token, a known state of the same provider and a button', async (t) => {
  const browser = new Browser()
  const { form } = await openIdpPage(cognito, authorizeUrl(cognito, codeParams(client, { identity_provider: 'Google' })), browser)
  const action = form.action

  let res = await browser.post(action, { action: 'continue' })
  t.equal(res.status, 403, 'no _csrf')
  res = await browser.post(action, { _csrf: '00000000-0000-4000-8000-000000000000', action: 'continue' })
  t.equal(res.status, 403, 'wrong _csrf')
  res = await new Browser().post(action, { _csrf: form.csrf, action: 'continue' })
  t.equal(res.status, 403, 'no cookie')
  res = await browser.post(action, { _csrf: form.csrf })
  t.equal(res.status, 400, 'no button')
  res = await browser.post(`${cognito.origin}/federated/Google/authorize?state=${'b'.repeat(43)}`, { _csrf: form.csrf, action: 'continue' })
  t.equal(res.status, 400, 'unknown state')

  // The failed attempts did not consume the state.
  res = await browser.post(action, { _csrf: form.csrf, action: 'continue' })
  t.equal(res.status, 302)
  t.equal(location(res).pathname, '/oauth2/idpresponse')
  const final = await browser.get(location(res))
  t.ok(location(final).searchParams.get('code'))

  // A forged IdP answer (made-up code) is refused with the IdP error shape.
  const browser2 = new Browser()
  const other = await openIdpPage(cognito, authorizeUrl(cognito, codeParams(client, { identity_provider: 'Google', state: 'st-f' })), browser2)
  const stateId = other.page.searchParams.get('state') ?? ''
  res = await browser2.get(`${cognito.origin}/oauth2/idpresponse?code=${crypto.randomUUID()}&state=${stateId}`)
  t.equal(res.status, 302)
  t.same(Object.fromEntries(location(res).searchParams), {
    error: 'invalid_request',
    error_description: 'Google Error - 400 error getting token',
    state: 'st-f',
  })
})

t.test('federated users cannot use the password form', async (t) => {
  const config = await configFor(cognito)
  await federatedFlow(cognito, config)
  const browser = new Browser()
  const loginRes = await browser.get(authorizeUrl(cognito, codeParams(client)))
  const page = await browser.get(location(loginRes))
  const form = parseSignInForm(await page.text(), location(loginRes))
  const res = await browser.post(form.action, { _csrf: form.csrf, username: GOOGLE_USERNAME, password: '' })
  t.equal(res.status, 400)
  t.match(await res.text(), 'Incorrect username or password.')
})

t.test('prompt=none with a federated provider', async (t) => {
  let res = await new Browser().get(authorizeUrl(cognito, codeParams(client, { identity_provider: 'Google', prompt: 'none', state: 'pn' })))
  t.same(Object.fromEntries(location(res).searchParams), { error: 'login_required', state: 'pn' }, 'no session')
  const config = await configFor(cognito)
  const { browser } = await federatedFlow(cognito, config)
  res = await browser.get(authorizeUrl(cognito, codeParams(client, { identity_provider: 'Google', prompt: 'none', state: 'pn' })))
  t.ok(location(res).searchParams.get('code'), 'session of the Google user: silent code')
})

t.test('several providers, tests-set groups, a pre-added user, disabled user', async (t) => {
  const cog = await startLocalCognito({ clients: [client], userPoolId: 'eu-west-1_Fed2', federatedProviders: ['Google', 'CorpOIDC'] })
  t.teardown(() => cog.close())
  const config = await configFor(cog)

  // A user added before the first sign-in is linked and keeps its sub and groups.
  cog.addUser({ username: 'corpoidc_102600000000000000001', password: 'unused-Passw0rd', sub: 'fixed-sub-corp', email: 'corp@example.com', emailVerified: true, groups: ['admin'] })
  const browser = new Browser()
  const url = authorizeUrl(cog, codeParams(client, { scope: 'openid email', identity_provider: 'CorpOIDC', state: 'c1' }))
  const { page, form } = await openIdpPage(cog, url, browser)
  t.equal(page.pathname, '/federated/CorpOIDC/authorize')
  const { final } = await pressButton(cog, form, 'continue', browser)
  const code = location(final, cog.origin).searchParams.get('code') ?? ''
  const tokens = await oidc.authorizationCodeGrant(config, location(final, cog.origin), { expectedState: 'c1' })
  t.ok(code)
  const claims = decodeJwt(tokens.id_token ?? '').payload
  t.equal(claims['sub'], 'fixed-sub-corp')
  t.equal(claims['cognito:username'], 'corpoidc_102600000000000000001')
  t.same(claims['cognito:groups'], ['eu-west-1_Fed2_CorpOIDC', 'admin'])
  t.match(claims['identities'], [{ providerName: 'CorpOIDC', providerType: 'OIDC', issuer: null, primary: 'true' }])

  // A Google state is not accepted on the CorpOIDC page.
  const g = await browser.get(authorizeUrl(cog, codeParams(client, { identity_provider: 'Google' })))
  const wrong = await browser.get(`${cog.origin}/federated/CorpOIDC/authorize?${location(g, cog.origin).searchParams.toString()}`)
  t.equal(wrong.status, 400)

  // Groups set by the test, then a new Google user with its own automatic group.
  const first = await federatedFlow(cog, config)
  t.same(decodeJwt(first.tokens.id_token ?? '').payload['cognito:groups'], ['eu-west-1_Fed2_Google'])
  cog.setUserGroups(GOOGLE_USERNAME, ['editors'])
  const second = await federatedFlow(cog, config)
  t.same(decodeJwt(second.tokens.id_token ?? '').payload['cognito:groups'], ['eu-west-1_Fed2_Google', 'editors'], 'automatic group put back')
  t.not(decodeJwt(second.tokens.id_token ?? '').payload['sub'], 'fixed-sub-corp', 'another user per provider')

  cog.setUserEnabled(GOOGLE_USERNAME, false)
  const browser3 = new Browser()
  const p3 = await openIdpPage(cog, authorizeUrl(cog, codeParams(client, { identity_provider: 'Google', state: 'd' })), browser3)
  const { final: denied } = await pressButton(cog, p3.form, 'continue', browser3)
  t.same(Object.fromEntries(location(denied, cog.origin).searchParams), { error: 'invalid_request', error_description: 'User is disabled.', state: 'd' })
})

t.test('federatedProviders: [] turns federation off; bad names are refused', async (t) => {
  const cog = await startLocalCognito({ clients: [client], federatedProviders: [] })
  t.teardown(() => cog.close())
  const res = await new Browser().get(authorizeUrl(cog, codeParams(client, { identity_provider: 'Google' })))
  t.equal(location(res, cog.origin).searchParams.get('error'), 'invalid_request')
  await t.rejects(startLocalCognito({ federatedProviders: ['COGNITO'] }))
  await t.rejects(startLocalCognito({ federatedProviders: ['Google', 'google'] }))
  await t.rejects(startLocalCognito({ federatedProviders: ['has space'] }))
})
