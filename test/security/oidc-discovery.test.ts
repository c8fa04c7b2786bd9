/**
 * Discovery (OIDC conformance, Config RP) and the authorization response's `iss` (RFC 9207): every
 * endpoint and the jwks_uri come from the configured issuer's discovery document; a document that
 * names another issuer makes sign-in impossible; a wrong `iss` on the callback is always refused, a
 * missing one only when the document advertises authorization_response_iss_parameter_supported.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { callbackUrlFor, signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'
import { assertCleanFailure, storeSize } from './helpers.js'
import { stackWithDiscovery, startForwarder } from './oidc-helpers.js'

t.test('OIDC-17, OIDC-19 every endpoint and the jwks_uri are taken from the discovery document, none hard-coded', async (t) => {
  const { cognito, clock } = await startSharedCognito(t)
  const jwksPath = `/${cognito.userPoolId}/.well-known/jwks.json`
  // The keys live at a path that changes on every run (rp-discovery-jwks_uri-keys).
  const movedKeysPath = `/keys-${randomUUID()}`
  const elsewhere = await startForwarder(t, cognito.origin, { from: movedKeysPath, to: jwksPath })
  cognito.faults = {
    discovery: {
      authorization_endpoint: `${elsewhere.origin}/oauth2/authorize`,
      end_session_endpoint: `${elsewhere.origin}/logout`,
      jwks_uri: `${elsewhere.origin}${movedKeysPath}/jwks.json`,
      revocation_endpoint: `${elsewhere.origin}/oauth2/revoke`,
      token_endpoint: `${elsewhere.origin}/oauth2/token`,
      userinfo_endpoint: `${elsewhere.origin}/oauth2/userInfo`,
    },
  }
  const stack = await startStack(t, { sharedCognito: cognito, clock })
  const browser = new Browser()
  const { response, url, hops } = await signIn(browser, { baseUrl: stack.baseUrl, cognito: { origin: elsewhere.origin } })
  t.equal(response.status, 200)
  t.equal(new URL(url).pathname, '/logged-in', 'signed in')
  t.ok(hops.some((h) => h.url.startsWith(`${elsewhere.origin}/oauth2/authorize?`)), 'the browser went to the discovered authorization_endpoint')

  const logoutPage = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(logoutPage) })
  t.equal(out.status, 303)
  t.match(out.headers.get('location') ?? '', new RegExp(`^${elsewhere.origin}/logout\\?client_id=`), 'sign-out goes to the discovered end_session_endpoint')

  const seen = elsewhere.seen.map((r) => `${r.method} ${r.path}`)
  t.ok(seen.includes('POST /oauth2/token'), 'the code was exchanged at the discovered token_endpoint')
  t.ok(seen.includes('GET /oauth2/userInfo'), 'userInfo asked at the discovered userinfo_endpoint')
  t.ok(seen.includes(`GET ${movedKeysPath}/jwks.json`), 'the keys fetched from the discovered jwks_uri')
  t.ok(seen.includes('POST /oauth2/revoke'), 'the refresh token revoked at the discovered revocation_endpoint')
  const direct = cognito.requests.filter((r) => r.path !== `/${cognito.userPoolId}/.well-known/openid-configuration`)
  const forwarded = elsewhere.seen.length
  t.equal(direct.length, forwarded, 'the app asked the issuer’s host for nothing but the discovery document: every other request came through the discovered endpoints')
  t.equal(cognito.requests.filter((r) => r.path.endsWith('/openid-configuration')).length, 1, 'discovered once, from the configured issuer')
})

t.test('OIDC-18 a discovery document naming another issuer: discovery fails and nobody can sign in', async (t) => {
  const impostor = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Elsewhere1'
  const stack = await stackWithDiscovery(t, { issuer: impostor })
  t.notOk(stack.app.cognito.provider.isReady, 'discovery did not complete')
  const browser = new Browser()
  const response = await browser.get(`${stack.baseUrl}/login`)
  // Any failed discovery reads to a person as "sign-in is not available right now" (503, Retry-After).
  await assertCleanFailure(t, stack, browser, response, 503, { title: /Cognito could not be reached/ })
  t.notOk(browser.cookie('localhost', 'signin'), 'no sign-in transaction started')
  t.notOk(stack.app.cognito.provider.isReady, 'still not discovered')
  t.notOk(stack.cognito.requests.some((r) => r.path === '/oauth2/authorize' || r.path === '/oauth2/token'), 'no authorize or token request, no secret sent')
  t.ok(stack.logs.some((line) => line.includes('Cognito discovery failed') || line.includes('OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED')), 'the failure is logged')

  // The same pool with a truthful document: sign-in works (it was the issuer that stopped it).
  stack.cognito.faults = {}
  const ok = await signIn(new Browser(), stack)
  t.equal(ok.response.status, 200)
  t.equal(new URL(ok.url).pathname, '/logged-in')
})

/** Signs in up to the callback, changes its `iss` parameter, and goes on from there. */
async function callbackWithIss(t: Test, stack: Stack, iss: string | undefined) {
  const browser = new Browser()
  const url = new URL(await callbackUrlFor(browser, stack))
  t.notOk(url.searchParams.has('iss'), 'Cognito’s callback carries no iss')
  if (iss !== undefined) url.searchParams.set('iss', iss)
  const grants = stack.cognito.countGrants('authorization_code')
  const sessions = storeSize(stack)
  const { response, url: landed } = await browser.follow(await browser.get(url), url)
  return { browser, response, landed, exchanged: stack.cognito.countGrants('authorization_code') - grants, sessions, code: url.searchParams.get('code') }
}

const WRONG_ISS = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Evil0000'

for (const advertised of [false, true]) {
  const variant = advertised
    ? 'with authorization_response_iss_parameter_supported: true'
    : 'as Cognito’s discovery document is (no authorization_response_iss_parameter_supported)'
  t.test(`OIDC-24 the callback’s iss, ${variant}`, async (t) => {
    const stack = advertised
      ? await stackWithDiscovery(t, { authorization_response_iss_parameter_supported: true })
      : await startStack(t)
    const metadata = stack.app.cognito.provider.configuration?.serverMetadata()
    t.equal(metadata?.authorization_response_iss_parameter_supported, advertised ? true : undefined, 'the metadata the app runs on')

    t.test('a wrong iss is refused before the code is exchanged', async (t) => {
      const { browser, response, exchanged, sessions, code } = await callbackWithIss(t, stack, WRONG_ISS)
      await assertCleanFailure(t, stack, browser, response, 502, { secrets: [code] })
      t.equal(exchanged, 0, 'no token request')
      t.equal(storeSize(stack), sessions, 'no session')
    })

    t.test(advertised ? 'a missing iss is refused before the code is exchanged' : 'a missing iss (what Cognito sends) signs in', async (t) => {
      const { browser, response, landed, exchanged, sessions, code } = await callbackWithIss(t, stack, undefined)
      if (advertised) {
        await assertCleanFailure(t, stack, browser, response, 502, { secrets: [code] })
        t.equal(exchanged, 0, 'no token request')
        t.equal(storeSize(stack), sessions, 'no session')
      } else {
        t.equal(response.status, 200)
        t.equal(new URL(landed).pathname, '/logged-in', 'signed in')
        t.equal(exchanged, 1)
      }
    })

    t.test('the right iss signs in', async (t) => {
      const { response, landed, exchanged } = await callbackWithIss(t, stack, stack.cognito.issuer)
      t.equal(response.status, 200)
      t.equal(new URL(landed).pathname, '/logged-in', 'signed in')
      t.equal(exchanged, 1)
    })
  })
}
