/**
 * An ID token whose header names no key (OIDC conformance kid-absent-single-jwks / -multiple-jwks):
 * verified against the only key of a single-key JWKS, with or without its own kid; refused when the
 * JWKS holds several keys (no trying them all, as oauth4webapi: "a kid JWT Header Parameter is required").
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'
import { assertCleanFailure, signInWithFaults, storeSize } from './helpers.js'

for (const jwks of ['id-key-only', 'id-key-only-without-kid'] as const) {
  t.test(`OIDC-12 an ID token without kid is accepted when the JWKS holds a single key (${jwks === 'id-key-only' ? 'with a kid' : 'without one'})`, async (t) => {
    const stack = await startStack(t)
    const { response, url, browser } = await signInWithFaults(stack, { jwks, omitKid: true })
    t.equal(response.status, 200)
    t.equal(new URL(url).pathname, '/logged-in', 'signed in')
    t.ok(browser.cookie('localhost', 'sid'), 'with a session')

    // The signature is still checked: a kid-less token from another key is refused.
    const before = storeSize(stack)
    const forged = await signInWithFaults(stack, { jwks, omitKid: true, idTokenSigning: 'bad-signature' })
    await assertCleanFailure(t, stack, forged.browser, forged.response, 502, { html: forged.html, title: /Cognito gave an unexpected answer/ })
    t.equal(storeSize(stack), before, 'no session')
  })
}

t.test('OIDC-12 an ID token without kid is refused when the JWKS holds several keys (Cognito’s two)', async (t) => {
  const stack = await startStack(t)
  const before = storeSize(stack)
  const { browser, response, html } = await signInWithFaults(stack, { omitKid: true })
  await assertCleanFailure(t, stack, browser, response, 502, { html, title: /Cognito gave an unexpected answer/ })
  t.equal(storeSize(stack), before, 'no session')
  t.equal((await signIn(new Browser(), stack)).response.status, 200, 'a token naming its key still signs in')
})
