/**
 * The authorization request and its transaction (RFC 9700 §2.1.1, §4.2.4, §4.5, §4.7): PKCE S256 on
 * every authorization URL with a verifier that only the server knows, checks taken from the stored
 * transaction rather than from what comes back, per-request randomness, one-time state, and codes
 * injected into someone else's callback.
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import { callbackUrlFor, signIn, startStack } from '../helpers/stack.js'
import { RecordingBrowser, recordFetches } from './bcp-helpers.js'
import { assertCleanFailure, assertNobodySignedIn, startLoginState, storeSize } from './helpers.js'

const sent = recordFetches(t)
const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '100000', COGNITO_IDENTITY_PROVIDERS: 'Google' } })
const s256 = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url')

/** Opens the sealed transaction a /login answer set in `browser`. */
async function transactionOf(browser: Browser) {
  const transaction = await stack.app.cognito.transactions.open(browser.cookie('localhost', 'signin'))
  if (!transaction) throw new Error('no transaction cookie')
  return transaction
}

/** Follows an authorization URL to the hosted form and submits it; returns the callback URL Cognito sent. */
async function codeFor(browser: Browser, authorize: URL, username = 'reader', password = 'Reader-passw0rd'): Promise<URL> {
  const toForm = await browser.follow(await browser.get(authorize), authorize)
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username, password })
  await submitted.arrayBuffer()
  const location = submitted.headers.get('location')
  if (submitted.status !== 302 || !location) throw new Error(`sign-in form answered ${submitted.status}`)
  return new URL(location, form.action)
}

t.test('BCP-01 every authorization URL carries PKCE S256 of a server-side verifier, and the token request sends that verifier', async (t) => {
  for (const start of ['/login', '/signup', '/login?provider=Google', '/login?returnTo=%2Fadmin']) {
    const browser = new Browser()
    const response = await browser.get(`${stack.baseUrl}${start}`)
    await response.arrayBuffer()
    t.equal(response.status, 302, `${start}: to Cognito`)
    const authorize = new URL(response.headers.get('location') ?? '')
    const transaction = await transactionOf(browser)
    t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', `${start}: S256`)
    t.ok(transaction.codeVerifier.length >= 43, `${start}: a verifier of at least 256 bits`)
    t.equal(authorize.searchParams.get('code_challenge'), s256(transaction.codeVerifier), `${start}: the challenge is S256 of the stored verifier`)
    t.notOk(authorize.href.includes(transaction.codeVerifier), `${start}: the verifier itself is not in the URL`)
  }

  // A whole sign-in: the verifier goes to the token endpoint and nowhere a browser or the log can see.
  const browser = new RecordingBrowser()
  const logsBefore = stack.logs.length
  const start = await browser.get(`${stack.baseUrl}/login`)
  await start.arrayBuffer()
  const { codeVerifier } = await transactionOf(browser)
  const sentBefore = sent.length
  const callback = await codeFor(browser, new URL(start.headers.get('location') ?? ''), 'demo', 'Demo-passw0rd')
  const back = await browser.follow(await browser.get(callback), callback)
  t.equal(new URL(back.url).pathname, '/logged-in', 'signed in')
  await back.response.text()
  const tokenRequests = sent.slice(sentBefore).filter((r) => r.url.pathname === '/oauth2/token')
  t.equal(tokenRequests.length, 1, 'one token request')
  const form = new URLSearchParams(tokenRequests[0]?.body)
  t.equal(form.get('grant_type'), 'authorization_code')
  t.equal(form.get('code_verifier'), codeVerifier, 'the token request carries the stored verifier')
  t.equal(stack.cognito.requests.filter((r) => r.grantType === 'authorization_code').at(-1)?.status, 200, 'and Cognito accepted it')
  const elsewhere = sent.slice(sentBefore).filter((r) => r.url.pathname !== '/oauth2/token')
  t.notOk(elsewhere.some((r) => r.url.href.includes(codeVerifier) || r.body.includes(codeVerifier)), 'no other request carries it')
  t.notOk(browser.everything().includes(codeVerifier), 'not in any page, header, redirect or cookie the browser got')
  t.notOk(stack.logs.slice(logsBefore).join('\n').includes(codeVerifier), 'not in the log')
})

t.test('BCP-02 a callback whose authorization request was stripped of state, nonce or code_challenge is refused by the stored transaction', async (t) => {
  const strip = async (names: string[]) => {
    const browser = new Browser()
    const response = await browser.get(`${stack.baseUrl}/login`)
    await response.arrayBuffer()
    const authorize = new URL(response.headers.get('location') ?? '')
    for (const name of names) authorize.searchParams.delete(name)
    return { browser, callback: await codeFor(browser, authorize), transaction: await transactionOf(browser) }
  }

  // Without state: Cognito sends the code back without one; the transaction demands it.
  const noState = await strip(['state'])
  t.equal(noState.callback.searchParams.get('state'), null, 'the callback arrives without state')
  let grants = stack.cognito.countGrants('authorization_code')
  await assertCleanFailure(t, stack, noState.browser, await noState.browser.get(noState.callback), 400, {
    secrets: [noState.callback.searchParams.get('code')],
    title: /This sign-in does not match/,
  })
  t.equal(stack.cognito.countGrants('authorization_code'), grants, 'the code was not even exchanged')

  // Without code_challenge: the exchange still sends the stored verifier, and Cognito refuses the downgrade.
  const noPkce = await strip(['code_challenge', 'code_challenge_method'])
  const sentBefore = sent.length
  const before = storeSize(stack)
  await assertCleanFailure(t, stack, noPkce.browser, await noPkce.browser.get(noPkce.callback), 400, {
    secrets: [noPkce.callback.searchParams.get('code')],
  })
  const exchange = sent.slice(sentBefore).find((r) => r.url.pathname === '/oauth2/token')
  t.equal(new URLSearchParams(exchange?.body).get('code_verifier'), noPkce.transaction.codeVerifier, 'the stored verifier was sent anyway')
  t.equal(stack.cognito.requests.filter((r) => r.grantType === 'authorization_code').at(-1)?.status, 400, 'and the exchange refused')
  t.equal(storeSize(stack), before, 'no session')

  // Without nonce: the ID token carries none; the transaction expects one.
  const noNonce = await strip(['nonce'])
  grants = stack.cognito.countGrants('authorization_code')
  await assertCleanFailure(t, stack, noNonce.browser, await noNonce.browser.get(noNonce.callback), 502, {
    secrets: [noNonce.callback.searchParams.get('code')],
    title: /Cognito gave an unexpected answer/,
  })
  t.equal(stack.cognito.countGrants('authorization_code'), grants + 1, 'the code was exchanged, and the ID token refused')
})

t.test('BCP-03 state is one-time and at least 128 bits; the back button after sign-in makes no second exchange', async (t) => {
  const browser = new Browser()
  const state = await startLoginState(browser, stack)
  t.ok(Buffer.from(state, 'base64url').length >= 16, `state carries at least 128 bits (${state.length} base64url characters)`)

  const url = await callbackUrlFor(browser, stack)
  const first = await browser.follow(await browser.get(url), url)
  t.equal(new URL(first.url).pathname, '/logged-in', 'the first use signs in')
  await first.response.arrayBuffer()
  const sid = browser.cookie('localhost', 'sid')
  const grants = stack.cognito.countGrants('authorization_code')
  const sessions = storeSize(stack)

  // The back button: already signed in, so home; no code exchange, no new session.
  const back = await browser.get(url)
  await back.arrayBuffer()
  t.equal(back.status, 303)
  t.equal(back.headers.get('location'), '/logged-in?signed-in=already')
  t.equal(browser.cookie('localhost', 'sid'), sid, 'the same session')
  t.equal(stack.cognito.countGrants('authorization_code'), grants, 'no second code exchange')
  t.equal(storeSize(stack), sessions, 'no new session')

  // Another browser replaying the same URL gets nothing.
  const other = new Browser()
  await assertCleanFailure(t, stack, other, await other.get(url), 400, { title: /Your sign-in attempt has expired/ })
  t.equal(stack.cognito.countGrants('authorization_code'), grants, 'still no second code exchange')
})

t.test('BCP-04 1000 /login calls give 1000 distinct state, nonce and verifier triples', async (t) => {
  const states = new Set<string>()
  const nonces = new Set<string>()
  const verifiers = new Set<string>()
  for (let i = 0; i < 1000; i++) {
    const response = await stack.app.inject({ url: '/login' })
    if (response.statusCode !== 302) {
      t.fail(`/login answered ${response.statusCode}`)
      break
    }
    const authorize = new URL(response.headers.location as string)
    const transaction = await stack.app.cognito.transactions.open(response.cookies.find((c) => c.name === 'signin')?.value)
    states.add(authorize.searchParams.get('state') ?? '')
    nonces.add(authorize.searchParams.get('nonce') ?? '')
    verifiers.add(transaction?.codeVerifier ?? '')
    if (transaction?.state !== authorize.searchParams.get('state')) t.fail('the transaction holds the state it sent')
  }
  t.equal(states.size, 1000, 'distinct states')
  t.equal(nonces.size, 1000, 'distinct nonces')
  t.equal(verifiers.size, 1000, 'distinct verifiers')
  t.notOk(states.has('') || nonces.has('') || verifiers.has(''), 'none missing')
  t.equal(new Set([...states, ...nonces, ...verifiers]).size, 3000, 'no value reused across the three')

  // A state minted in browser A means nothing in browser B, even with B's own sign-in pending.
  const a = new Browser()
  const url = await callbackUrlFor(a, stack)
  const b = new Browser()
  await startLoginState(b, stack)
  const grants = stack.cognito.countGrants('authorization_code')
  await assertCleanFailure(t, stack, b, await b.get(url), 400, { title: /This sign-in does not match/ })
  t.equal(stack.cognito.countGrants('authorization_code'), grants, 'A’s code was not exchanged in B')
})

t.test('BCP-05 a stolen code injected into the victim’s callback with the victim’s own state signs nobody in', async (t) => {
  // The attacker's own code, for the attacker's own authorization request (their challenge, their nonce).
  const attacker = new Browser()
  const attackerStart = await attacker.get(`${stack.baseUrl}/login`)
  await attackerStart.arrayBuffer()
  const stolen = (await codeFor(attacker, new URL(attackerStart.headers.get('location') ?? ''))).searchParams.get('code') ?? ''

  const victim = new Browser()
  const victimState = await startLoginState(victim, stack)
  const before = storeSize(stack)
  const requestsBefore = stack.cognito.requests.length
  const injected = `${stack.baseUrl}/auth/callback?code=${encodeURIComponent(stolen)}&state=${encodeURIComponent(victimState)}`
  await assertCleanFailure(t, stack, victim, await victim.get(injected), 400, { secrets: [stolen], title: /Your sign-in has expired/ })
  const seen = stack.cognito.requests.slice(requestsBefore)
  t.same(seen.filter((r) => r.path === '/oauth2/token').map((r) => r.status), [400], 'Cognito refused the exchange (PKCE mismatch)')
  t.notOk(seen.some((r) => r.path === '/oauth2/userInfo'), 'no token was used')
  t.equal(storeSize(stack), before, 'no session')

  // An attacker who copied the victim's code_challenge into their own request: PKCE passes, the nonce does not.
  const victim2 = new Browser()
  const victimStart = await victim2.get(`${stack.baseUrl}/login`)
  await victimStart.arrayBuffer()
  const victimAuthorize = new URL(victimStart.headers.get('location') ?? '')
  const attacker2 = new Browser()
  const ownStart = await attacker2.get(`${stack.baseUrl}/login`)
  await ownStart.arrayBuffer()
  const forged = new URL(ownStart.headers.get('location') ?? '')
  forged.searchParams.set('code_challenge', victimAuthorize.searchParams.get('code_challenge') ?? '')
  const code = (await codeFor(attacker2, forged)).searchParams.get('code') ?? ''
  const requestsBefore2 = stack.cognito.requests.length
  const url = `${stack.baseUrl}/auth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(victimAuthorize.searchParams.get('state') ?? '')}`
  await assertCleanFailure(t, stack, victim2, await victim2.get(url), 502, { secrets: [code], title: /Cognito gave an unexpected answer/ })
  const seen2 = stack.cognito.requests.slice(requestsBefore2)
  t.same(seen2.filter((r) => r.path === '/oauth2/token').map((r) => r.status), [200], 'Cognito issued tokens (the challenge matched)')
  t.notOk(seen2.some((r) => r.path === '/oauth2/userInfo'), 'but no token was used: the nonce check failed first')
  t.equal(storeSize(stack), before, 'no session')
})

t.test('BCP-06 the attacker’s complete callback URL opened in the victim’s browser does not sign the victim in as the attacker', async (t) => {
  const attacker = new Browser()
  const url = await callbackUrlFor(attacker, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const code = new URL(url).searchParams.get('code')
  const grants = stack.cognito.countGrants('authorization_code')

  // An anonymous victim with nothing pending, and one with a sign-in of their own pending.
  const fresh = new Browser()
  await assertCleanFailure(t, stack, fresh, await fresh.get(url), 400, { secrets: [code] })
  const pending = new Browser()
  await startLoginState(pending, stack)
  await assertCleanFailure(t, stack, pending, await pending.get(url), 400, { secrets: [code], title: /This sign-in does not match/ })

  // A signed-in victim stays who they are.
  const signedIn = new Browser()
  await signIn(signedIn, stack)
  const grantsNow = stack.cognito.countGrants('authorization_code')
  const sid = signedIn.cookie('localhost', 'sid')
  const response = await signedIn.get(url)
  await response.arrayBuffer()
  t.not(response.status, 200)
  t.equal(signedIn.cookie('localhost', 'sid'), sid, 'the victim keeps their own session')
  const page = await (await signedIn.get(`${stack.baseUrl}/logged-in`)).text()
  t.match(page, /data-field="username">demo</, 'still the victim')
  t.notMatch(page, /data-field="username">reader</)
  t.equal(stack.cognito.countGrants('authorization_code'), grantsNow, 'the attacker’s code was never exchanged')
  t.equal(grantsNow, grants + 1, '(only the victim’s own sign-in was)')

  // And a fresh browser is anonymous: no session leaked to anyone.
  await assertNobodySignedIn(t, stack, new Browser())
})
