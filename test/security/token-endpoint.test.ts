/**
 * A failing token endpoint: 500, malformed JSON, an oversized answer (502) and an answer slower than
 * COGNITO_TIMEOUT (504). Each ends in a clean page with nobody signed in.
 */
import t from 'tap'
import { MAX_RESPONSE_BYTES } from '../../src/auth/cognito-fetch.js'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'
import { assertCleanFailure, signInWithFaults } from './helpers.js'

t.test('token endpoint failures', async (t) => {
  const stack = await startStack(t)
  const cases: Array<[string, { status?: number; body?: string }, number, RegExp]> = [
    ['HTTP 500 with an OAuth error body', { status: 500, body: '{"error":"server_error"}' }, 502, /unexpected answer/],
    ['HTTP 500 with an empty body', { status: 500, body: '' }, 502, /unexpected answer/],
    ['HTTP 200 with malformed JSON', { status: 200, body: '{"access_token": "abc", ' }, 502, /unexpected answer/],
    ['HTTP 200 with HTML', { status: 200, body: '<html>oops</html>' }, 502, /unexpected answer/],
    ['HTTP 200 without tokens', { status: 200, body: '{}' }, 502, /unexpected answer/],
    ['an answer larger than allowed', { status: 200, body: `{"x":"${'a'.repeat(MAX_RESPONSE_BYTES + 10)}"}` }, 502, /unexpected answer/],
    ['invalid_client', { status: 400, body: '{"error":"invalid_client"}' }, 502, /misconfigured/],
    ['invalid_grant', { status: 400, body: '{"error":"invalid_grant"}' }, 400, /Your sign-in has expired/],
  ]
  for (const [name, tokenEndpoint, status, title] of cases) {
    await t.test(name, async (t) => {
      const { browser, response, html, code } = await signInWithFaults(stack, { tokenEndpoint })
      await assertCleanFailure(t, stack, browser, response, status, { html, secrets: [code], title })
    })
  }
  const ok = await signIn(new Browser(), stack)
  t.equal(ok.response.status, 200, 'sign-in works again once the endpoint recovers')
})

t.test('a token endpoint slower than COGNITO_TIMEOUT: 504', async (t) => {
  const stack = await startStack(t, { env: { COGNITO_TIMEOUT: '1s' } })
  const started = Date.now()
  const { browser, response, html, code } = await signInWithFaults(stack, { tokenEndpoint: { delayMs: 2500 } })
  const elapsed = Date.now() - started
  await assertCleanFailure(t, stack, browser, response, 504, { html, secrets: [code], title: /Cognito is not answering/ })
  t.ok(elapsed < 2500, `gave up before the slow answer came (${elapsed} ms)`)
})
