/**
 * The ID token from the token endpoint, checked claim by claim (OIDC conformance, Basic RP and the
 * FAPI client tests): every forged or incomplete token ends in a 502 page, no session, and no
 * userInfo call with the access token that came with it. The valid shapes (RS256, aud as a
 * one-element array) sign in.
 */
import t from 'tap'
import type { Faults } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'
import { assertCleanFailure, signInWithFaults, storeSize } from './helpers.js'

// Many sign-ins from one address in a minute: above the default per-IP limit.
const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '200' } })
const nowSeconds = (): number => Math.floor(stack.clock.now() / 1000)
const OTHER_CLIENT = '7ab0th3rcl1entofthep0ol012'
const userInfoCalls = (): number => stack.cognito.requests.filter((r) => r.path.toLowerCase() === '/oauth2/userinfo').length

const refused: Array<[string, () => Faults]> = [
  ['OIDC-02 an ID token with another nonce is refused', () => ({ idTokenClaims: { nonce: 'not-the-nonce-this-browser-sent' } })],
  ['OIDC-02 an ID token without a nonce is refused', () => ({ idTokenClaims: { nonce: undefined } })],
  ['OIDC-04 an ID token from another issuer is refused', () => ({ idTokenClaims: { iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Evil0000' } })],
  ['OIDC-04 an ID token without iss is refused', () => ({ idTokenClaims: { iss: undefined } })],
  ['OIDC-05 an ID token without sub is refused', () => ({ idTokenClaims: { sub: undefined } })],
  ['OIDC-06 an ID token for another client (aud) is refused', () => ({ idTokenClaims: { aud: OTHER_CLIENT } })],
  ['OIDC-06 an ID token without aud is refused', () => ({ idTokenClaims: { aud: undefined } })],
  ['OIDC-07 aud with our client and another, no azp, is refused', () => ({ idTokenClaims: { aud: [stack.clientId, OTHER_CLIENT] } })],
  [
    'OIDC-07 aud with our client and another, azp the other, is refused',
    () => ({ idTokenClaims: { aud: [stack.clientId, OTHER_CLIENT], azp: OTHER_CLIENT } }),
  ],
  ['OIDC-08 an ID token without iat is refused', () => ({ idTokenClaims: { iat: undefined } })],
  ['OIDC-09 an ID token expired more than 5 minutes ago is refused', () => ({ idTokenClaims: { exp: nowSeconds() - 301, iat: nowSeconds() - 3901 } })],
  ['OIDC-09 an ID token without exp is refused', () => ({ idTokenClaims: { exp: undefined } })],
  ['OIDC-10 an ID token with alg none is refused', () => ({ idTokenSigning: 'none' })],
  ['OIDC-10 an ID token with another alg (HS256, keyed with the client secret) is refused', () => ({ idTokenSigning: 'hs256-client-secret' })],
  ['OIDC-11 an ID token whose RS256 signature does not verify is refused', () => ({ idTokenSigning: 'bad-signature' })],
  ['OIDC-12 an ID token without kid, the JWKS holding several keys, is refused', () => ({ omitKid: true })],
  ['OIDC-26 an access token where the ID token belongs (token_use access) is refused', () => ({ idTokenClaims: { token_use: 'access' } })],
]

for (const [name, faults] of refused) {
  t.test(name, async (t) => {
    const sessions = storeSize(stack)
    const grants = stack.cognito.countGrants('authorization_code')
    const userInfo = userInfoCalls()
    const { browser, response, html, code } = await signInWithFaults(stack, faults())
    t.equal(stack.cognito.countGrants('authorization_code'), grants + 1, 'the code was exchanged (the token came from the token endpoint)')
    await assertCleanFailure(t, stack, browser, response, 502, { html, secrets: [code], title: /Cognito gave an unexpected answer/ })
    t.equal(userInfoCalls(), userInfo, 'userInfo was not called with the access token of a refused ID token')
    t.equal(storeSize(stack), sessions, 'no session was stored')
  })
}

const accepted: Array<[string, () => Faults]> = [
  ['OIDC-10 an RS256 ID token signed by the pool’s key signs in', () => ({})],
  ['OIDC-07 aud given as a one-element array signs in', () => ({ idTokenClaims: { aud: [stack.clientId] } })],
]

for (const [name, faults] of accepted) {
  t.test(name, async (t) => {
    const userInfo = userInfoCalls()
    const { browser, response, url } = await signInWithFaults(stack, faults())
    t.equal(response.status, 200)
    t.equal(new URL(url).pathname, '/logged-in', 'signed in')
    t.ok(browser.cookie('localhost', 'sid'), 'with a session')
    t.equal(userInfoCalls(), userInfo + 1, 'userInfo fetched once')
  })
}

t.test('after every refused token a normal sign-in still works', async (t) => {
  const next = await signIn(new Browser(), stack)
  t.equal(next.response.status, 200)
  t.equal(new URL(next.url).pathname, '/logged-in')
})
