/**
 * The authorization response at /auth/callback (OIDC conformance form-post-error, applied to query
 * mode; FAPI invalid/missing state): error answers and state checks end the attempt before any token
 * request, with no session and an error page that shows Cognito's text only escaped.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { callbackUrlFor, startStack } from '../helpers/stack.js'
import { assertCleanFailure, startLoginState, storeSize } from './helpers.js'

const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '100' } })
const callback = (query: string): string => `${stack.baseUrl}/auth/callback?${query}`
const tokenRequests = (): number => stack.cognito.requests.filter((r) => r.path === '/oauth2/token').length
const MARKUP = '<img src=x onerror=alert(1)>'

for (const [error, status, title] of [
  ['login_required', 400, /Sign-in was refused/],
  ['access_denied', 403, /Sign-in was cancelled/],
] as const) {
  t.test(`OIDC-22 error=${error} with this browser’s state: no token request, no session, the description escaped`, async (t) => {
    const browser = new Browser()
    const state = await startLoginState(browser, stack)
    const tokens = tokenRequests()
    const sessions = storeSize(stack)
    const query = new URLSearchParams({ error, error_description: `Denied ${MARKUP}`, state })
    const html = await assertCleanFailure(t, stack, browser, await browser.get(callback(query.toString())), status, { title })
    t.notMatch(html, /<img src=x/, 'no markup from error_description reaches the page')
    if (error === 'login_required') t.match(html, /login_required: Denied &lt;img src=x onerror=alert\(1\)&gt;/, 'the description is shown escaped')
    t.equal(tokenRequests(), tokens, 'no token request')
    t.equal(storeSize(stack), sessions, 'no session')
    t.notOk(browser.cookie('localhost', 'signin'), 'the attempt is used up')
  })
}

t.test('OIDC-22 an error answer with another state is not taken as this sign-in’s: its description is not shown', async (t) => {
  const browser = new Browser()
  const state = await startLoginState(browser, stack)
  const tokens = tokenRequests()
  const query = new URLSearchParams({ error: 'access_denied', error_description: 'Call +1 555 0100 now', state: `${state}x` })
  const html = await assertCleanFailure(t, stack, browser, await browser.get(callback(query.toString())), 400, { title: /This sign-in does not match/ })
  t.notMatch(html, /555 0100/, 'the description of a foreign answer is not shown')
  t.equal(tokenRequests(), tokens, 'no token request')
})

for (const [name, change] of [
  ['a wrong state', (url: URL) => url.searchParams.set('state', `${url.searchParams.get('state') ?? ''}x`)],
  ['no state', (url: URL) => url.searchParams.delete('state')],
  ['an empty state', (url: URL) => url.searchParams.set('state', '')],
] as const) {
  t.test(`OIDC-23 a callback with ${name} is refused before the token endpoint; the code stays usable by its owner`, async (t) => {
    const browser = new Browser()
    const url = new URL(await callbackUrlFor(browser, stack))
    const forged = new URL(url)
    change(forged)
    const tokens = tokenRequests()
    const sessions = storeSize(stack)
    await assertCleanFailure(t, stack, browser, await browser.get(forged), 400, {
      secrets: [url.searchParams.get('code')],
      title: /This sign-in does not match/,
    })
    t.equal(tokenRequests(), tokens, 'no token request: the code was not sent to Cognito')
    t.equal(storeSize(stack), sessions, 'no session')
    // The pending sign-in is intact: the real answer still completes it.
    const real = await browser.follow(await browser.get(url), url)
    t.equal(real.response.status, 200)
    t.equal(new URL(real.url).pathname, '/logged-in', 'the real answer signs in')
  })
}

t.test('OIDC-23 a callback with a state when no sign-in was started is refused before the token endpoint', async (t) => {
  const owner = new Browser()
  const url = await callbackUrlFor(owner, stack)
  const stranger = new Browser() // started nothing: no transaction
  const tokens = tokenRequests()
  await assertCleanFailure(t, stack, stranger, await stranger.get(url), 400, {
    secrets: [new URL(url).searchParams.get('code')],
    title: /Your sign-in attempt has expired/,
  })
  t.equal(tokenRequests(), tokens, 'no token request')
})
