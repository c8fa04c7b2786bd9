/**
 * Attacks on the ID token and userInfo answer: each forged or wrong answer from "Cognito" ends in a
 * 502 page (the answer could not be verified), nobody is signed in, and the app keeps serving.
 */
import t from 'tap'
import type { Faults } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { jwksFetches, signIn, startStack } from '../helpers/stack.js'
import { assertCleanFailure, signInWithFaults, storeSize } from './helpers.js'

// Many sign-ins from one address in a minute: above the default per-IP limit.
const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '100' } })
const nowSeconds = (): number => Math.floor(stack.clock.now() / 1000)

const attacks: Array<[string, () => Faults]> = [
  ['ID token signed by a key not in the JWKS', () => ({ idTokenSigning: 'unknown-key' })],
  ['ID token with alg "none" and no signature', () => ({ idTokenSigning: 'none' })],
  ['ID token HMAC-signed (HS256) with the client secret', () => ({ idTokenSigning: 'hs256-client-secret' })],
  ['wrong iss', () => ({ idTokenClaims: { iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Evil0000' } })],
  ['wrong aud', () => ({ idTokenClaims: { aud: 'someoneelsesclient' } })],
  ['aud array without our client', () => ({ idTokenClaims: { aud: ['someoneelsesclient', 'another'] } })],
  ['expired exp', () => ({ idTokenClaims: { exp: nowSeconds() - 3600, iat: nowSeconds() - 7200 } })],
  ['iat far in the future', () => ({ idTokenClaims: { iat: nowSeconds() + 86_400, exp: nowSeconds() + 90_000 } })],
  [
    'exp passed on the app’s clock, though not yet on the system clock',
    () => {
      // The app's clock (and Cognito's) runs two hours ahead of the system clock from here on, so
      // openid-client, which reads the system clock, would take this token as unexpired.
      stack.clock.advance(7_200_000)
      return { idTokenClaims: { exp: nowSeconds() - 60, iat: nowSeconds() - 3660 } }
    },
  ],
  ['wrong nonce', () => ({ idTokenClaims: { nonce: 'not-the-nonce-this-browser-sent' } })],
  ['missing nonce', () => ({ idTokenClaims: { nonce: undefined } })],
  ['missing kid while the JWKS holds several keys', () => ({ omitKid: true })],
  ['OIDC-13 userInfo answers for another subject', () => ({ userinfoSub: '00000000-0000-0000-0000-000000000bad' })],
]

for (const [name, faults] of attacks) {
  t.test(name, async (t) => {
    const before = storeSize(stack)
    const { browser, response, html, code } = await signInWithFaults(stack, faults())
    await assertCleanFailure(t, stack, browser, response, 502, {
      html,
      secrets: [code],
      title: /Cognito gave an unexpected answer/,
    })
    t.equal(storeSize(stack), before, 'no session was stored')
    // The next person signs in normally.
    const next = await signIn(new Browser(), stack)
    t.equal(next.response.status, 200, 'a normal sign-in still works afterwards')
  })
}

t.test('OIDC-20 signing-key rotation: the JWKS is fetched again once and the next sign-in succeeds', async (t) => {
  const first = await signIn(new Browser(), stack)
  t.equal(first.response.status, 200)
  const fetchesBefore = jwksFetches(stack.cognito)
  t.ok(fetchesBefore >= 1, 'the JWKS was fetched for the first sign-in')

  await stack.cognito.rotateKeys()
  // Within the refetch cooldown (30 s since the last download) an unknown key is refused without
  // asking Cognito; this app's keys were downloaded moments ago, so let that time pass.
  const early = await signIn(new Browser(), stack)
  t.equal(early.response.status, 502, 'within the cooldown: refused, the JWKS not fetched again')
  t.equal(jwksFetches(stack.cognito), fetchesBefore)
  stack.clock.advance(30_000)
  const second = await signIn(new Browser(), stack)
  t.equal(second.response.status, 200, 'signed in with a token from the new key')
  t.equal(new URL(second.url).pathname, '/logged-in')
  t.equal(jwksFetches(stack.cognito), fetchesBefore + 1, 'the JWKS was fetched exactly once more')

  const third = await signIn(new Browser(), stack)
  t.equal(third.response.status, 200)
  t.equal(jwksFetches(stack.cognito), fetchesBefore + 1, 'the new keys are cached')
})

t.test('an unknown key does not make the app hammer the JWKS endpoint', async (t) => {
  const before = jwksFetches(stack.cognito)
  for (let i = 0; i < 3; i++) {
    const { response } = await signInWithFaults(stack, { idTokenSigning: 'unknown-key' })
    t.equal(response.status, 502)
  }
  t.ok(jwksFetches(stack.cognito) - before <= 1, 'at most one refetch for a run of unknown keys')
})
