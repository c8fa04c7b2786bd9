/**
 * Attacks on /auth/callback: errors sent back by Cognito, a missing, tampered or foreign transaction
 * cookie, a code from another browser, a replayed callback URL, a guessed state.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { callbackUrlFor, signIn, startStack } from '../helpers/stack.js'
import { assertCleanFailure, startLoginState, storeSize } from './helpers.js'

const stack = await startStack(t)
const callback = (query: string): string => `${stack.baseUrl}/auth/callback?${query}`

t.test('error=access_denied with the right state: 403, sign-in cancelled', async (t) => {
  const browser = new Browser()
  const state = await startLoginState(browser, stack)
  const response = await browser.get(callback(`error=access_denied&state=${encodeURIComponent(state)}`))
  await assertCleanFailure(t, stack, browser, response, 403, { title: /Sign-in was cancelled/ })
  t.notOk(browser.cookie('localhost', 'signin'), 'the transaction cookie is gone')
})

t.test('WEB-03 a Lambda trigger refusal (PreSignUp) is shown, escaped, as a 400', async (t) => {
  const browser = new Browser()
  const state = await startLoginState(browser, stack)
  const response = await browser.get(
    callback(
      `error_description=PreSignUp+failed+with+error+%3Cimg+src%3Dx+onerror%3Dalert(1)%3E+not+allowed.+&error=invalid_request&state=${encodeURIComponent(state)}`,
    ),
  )
  const html = await assertCleanFailure(t, stack, browser, response, 400, { title: /Sign-in was refused/ })
  t.match(html, /invalid_request: PreSignUp failed with error &lt;img src=x onerror=alert\(1\)&gt; not allowed\./, 'the reason is shown, escaped')
  t.notMatch(html, /<img src=x/, 'no markup from the query reaches the page')
})

t.test('an error with a state that is not this browser’s is not taken at face value', async (t) => {
  const browser = new Browser()
  const state = await startLoginState(browser, stack)
  const response = await browser.get(callback(`error=access_denied&state=${encodeURIComponent(`${state.slice(0, -1)}x`)}`))
  await assertCleanFailure(t, stack, browser, response, 400, { title: /This sign-in does not match/ })
})

t.test('a callback with no transaction cookie: 400', async (t) => {
  const browser = new Browser()
  const url = await callbackUrlFor(browser, stack)
  browser.deleteCookie('localhost', 'signin')
  const before = stack.cognito.countGrants('authorization_code')
  const response = await browser.get(url)
  await assertCleanFailure(t, stack, browser, response, 400, {
    secrets: [new URL(url).searchParams.get('code')],
    title: /Your sign-in attempt has expired/,
  })
  t.equal(stack.cognito.countGrants('authorization_code'), before, 'the code was not even exchanged')
})

t.test('a callback with a tampered transaction cookie: 400', async (t) => {
  const browser = new Browser()
  const url = await callbackUrlFor(browser, stack)
  const sealed = browser.cookie('localhost', 'signin') ?? ''
  const parts = sealed.split('.')
  // Flip one character of the ciphertext: the authenticated encryption no longer opens.
  const ciphertext = parts[3] ?? ''
  parts[3] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1)
  browser.setCookie('localhost', 'signin', parts.join('.'))
  const response = await browser.get(url)
  await assertCleanFailure(t, stack, browser, response, 400, { title: /Your sign-in attempt has expired/ })
  browser.setCookie('localhost', 'signin', 'not-a-jwe')
  await assertCleanFailure(t, stack, browser, await browser.get(url), 400)
})

t.test('a code from another browser’s attempt fails: state is bound to this browser’s cookie', async (t) => {
  const victim = new Browser()
  const url = await callbackUrlFor(victim, stack)
  const attacker = new Browser()
  await startLoginState(attacker, stack) // the attacker holds a transaction cookie of its own attempt
  const response = await attacker.get(url)
  await assertCleanFailure(t, stack, attacker, response, 400, {
    secrets: [new URL(url).searchParams.get('code')],
    title: /This sign-in does not match/,
  })
  // The victim's own attempt is unharmed.
  const back = await victim.follow(await victim.get(url), url)
  t.equal(back.response.status, 200, 'the browser that started the sign-in completes it')
  t.equal(new URL(back.url).pathname, '/logged-in')
})

t.test('a transaction cookie from another attempt (an older tab) does not match', async (t) => {
  const browser = new Browser()
  await startLoginState(browser, stack)
  const older = browser.cookie('localhost', 'signin') ?? ''
  const url = await callbackUrlFor(browser, stack)
  browser.setCookie('localhost', 'signin', older)
  await assertCleanFailure(t, stack, browser, await browser.get(url), 400, { title: /This sign-in does not match/ })
})

t.test('a guessed state (same length, last character changed) is refused', async (t) => {
  const browser = new Browser()
  const url = new URL(await callbackUrlFor(browser, stack))
  const state = url.searchParams.get('state') ?? ''
  url.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('a') ? 'b' : 'a'}`)
  await assertCleanFailure(t, stack, browser, await browser.get(url), 400, { title: /This sign-in does not match/ })
  url.searchParams.delete('state')
  browser.setCookie('localhost', 'signin', '') // start again below
  const fresh = new Browser()
  const freshUrl = new URL(await callbackUrlFor(fresh, stack))
  freshUrl.searchParams.delete('state')
  await assertCleanFailure(t, stack, fresh, await fresh.get(freshUrl), 400, { title: /This sign-in does not match/ })
})

t.test('a callback with a state but no code and no error: 400', async (t) => {
  const browser = new Browser()
  const state = await startLoginState(browser, stack)
  await assertCleanFailure(t, stack, browser, await browser.get(callback(`state=${state}`)), 400, {
    title: /Sign-in answer incomplete/,
  })
})

t.test('BCP-03: a replayed callback URL after a successful sign-in signs nobody in again', async (t) => {
  const browser = new Browser()
  const url = await callbackUrlFor(browser, stack)
  const sealed = browser.cookie('localhost', 'signin') ?? ''
  const done = await browser.follow(await browser.get(url), url)
  t.equal(done.response.status, 200)
  const sid = browser.cookie('localhost', 'sid')
  t.ok(sid, 'signed in')
  t.notOk(browser.cookie('localhost', 'signin'), 'the transaction cookie was used up')
  const sessions = storeSize(stack)

  // Same browser, same URL again (the back button): the transaction is gone; home, no second exchange.
  const grants = stack.cognito.countGrants('authorization_code')
  const again = await browser.get(url)
  await again.arrayBuffer()
  t.equal(again.status, 303, 'already signed in: sent on, not shown an error')
  t.equal(again.headers.get('location'), '/logged-in?signed-in=already')
  const landing = await (await browser.get(new URL(again.headers.get('location') as string, stack.baseUrl).href)).text()
  t.match(landing, 'You are already signed in.', 'told why they are here')
  t.equal(stack.cognito.countGrants('authorization_code'), grants, 'no second code exchange')
  t.equal(browser.cookie('localhost', 'sid'), sid, 'the existing session is untouched')
  t.equal(storeSize(stack), sessions, 'no new session')

  // An attacker who captured both the URL and the transaction cookie: Cognito refuses the used code.
  const thief = new Browser()
  thief.setCookie('localhost', 'signin', sealed)
  await assertCleanFailure(t, stack, thief, await thief.get(url), 400, {
    secrets: [new URL(url).searchParams.get('code'), sid],
    title: /Your sign-in has expired/,
  })
  // Without the cookie at all.
  const other = new Browser()
  await assertCleanFailure(t, stack, other, await other.get(url), 400)
  t.equal(storeSize(stack), sessions, 'still no new session')

  const still = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(still.status, 200, 'the real user is still signed in')
})

t.test('the transaction cookie is single-use even when the sign-in fails', async (t) => {
  const browser = new Browser()
  const state = await startLoginState(browser, stack)
  const response = await browser.get(callback(`error=access_denied&state=${state}`))
  t.equal(response.status, 403)
  const cleared = browser.setCookies.filter((line) => line.startsWith('signin='))
  t.match(cleared.at(-1) ?? '', /Expires=Thu, 01 Jan 1970|Max-Age=0/i, 'the callback clears the transaction cookie')
  t.equal((await signIn(browser, stack)).response.status, 200, 'a new attempt works')
})

t.test('WEB-03: a callback error without a state shows no text of the query: only a bounded error code', async (t) => {
  const browser = new Browser()
  await startLoginState(browser, stack) // a sign-in is pending in this browser
  const spoof = `Your account is locked. Call +1 555 0100 to unlock it. ${'x'.repeat(10_000)}`
  const logsBefore = stack.logs.length
  const response = await browser.get(callback(`error=${encodeURIComponent(spoof)}&error_description=${encodeURIComponent(spoof.slice(0, 300))}`))
  const html = await response.text()
  t.equal(response.status, 400)
  t.match(html, /Sign-in was refused/)
  t.match(html, /\(unknown_error\)/, 'a code that is not an OAuth error code is not shown')
  t.notMatch(html, /account is locked|555 0100/, 'no attacker text on the page')
  t.ok(html.length < 8_000, `the page stays small (${html.length} characters)`)
  const lines = stack.logs.slice(logsBefore)
  t.ok(lines.length > 0, 'the refusal is logged')
  t.notOk(lines.some((line) => line.includes('x'.repeat(200))), 'but not the long text')
  t.ok(lines.every((line) => line.length < 4_000), 'log lines stay short')
  const known = await browser.get(callback('error=access_denied'))
  t.match(await known.text(), /Sign-in was cancelled/, 'a real OAuth error code still reads as what it is')
})

t.test('FLT-17: a cross-site visit to the callback, or one with another state, leaves the pending sign-in in place', async (t) => {
  const browser = new Browser()
  const toForm = await browser.navigate(`${stack.baseUrl}/login`)
  const pending = browser.cookie('localhost', 'signin')
  t.ok(pending, 'a sign-in is pending')
  for (const query of ['', 'code=stolen&state=not-this-one', 'error=access_denied', 'error=server_error&state=other']) {
    const response = await browser.get(callback(query))
    t.ok(response.status === 400 || response.status === 403, `?${query}: refused (${response.status})`)
    t.equal(browser.cookie('localhost', 'signin'), pending, `?${query}: the pending sign-in is kept`)
  }
  // The person finishes the sign-in they started.
  const { parseSignInForm } = await import('../helpers/browser.js')
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  const back = await browser.follow(submitted, form.action)
  t.equal(back.response.status, 200)
  t.equal(new URL(back.url).pathname, '/logged-in', 'signed in')
  t.notOk(browser.cookie('localhost', 'signin'), 'and the transaction used up')
})

t.test('BCP-01: a transaction without a PKCE verifier never reaches a token request', async (t) => {
  const browser = new Browser()
  const sealed = await stack.app.cognito.transactions.seal({ state: 'a-state-of-its-own', nonce: 'n', codeVerifier: '', returnTo: '/logged-in' })
  browser.setCookie('localhost', 'signin', sealed)
  const grantsBefore = stack.cognito.countGrants('authorization_code')
  const response = await browser.get(callback('code=some-code&state=a-state-of-its-own'))
  await assertCleanFailure(t, stack, browser, response, 400, { title: /Your sign-in attempt has expired/ })
  t.equal(stack.cognito.countGrants('authorization_code'), grantsBefore, 'no code exchange was attempted')
})

t.test('a sign-in cancelled at Cognito by someone already signed in (another tab) goes on to where that tab was going, with a note', async (t) => {
  const browser = new Browser()
  // This tab starts a sign-in; another tab of the same browser signs in meanwhile.
  const state = await startLoginState(browser, stack, '/login?returnTo=%2Fadmin')
  await signIn(browser, stack)
  const grants = stack.cognito.countGrants('authorization_code')
  const answer = await browser.get(callback(`error=access_denied&state=${encodeURIComponent(state)}`))
  await answer.arrayBuffer()
  t.equal(answer.status, 303)
  t.equal(answer.headers.get('location'), '/admin?signed-in=already')
  t.equal(stack.cognito.countGrants('authorization_code'), grants, 'nothing exchanged')
  const page = await browser.get(new URL('/admin?signed-in=already', stack.baseUrl).href)
  t.equal(page.status, 200, 'still signed in')
  t.match(await page.text(), 'You are already signed in.')
})

t.test('the note cannot be made to say anything else, and anonymous visitors never see it', async (t) => {
  const anonymous = await (await fetch(`${stack.baseUrl}/?signed-in=already`)).text()
  t.notMatch(anonymous, 'already signed in')
  const browser = new Browser()
  await signIn(browser, stack)
  const other = await (await browser.get(`${stack.baseUrl}/logged-in?signed-in=%3Cb%3Eevil%3C%2Fb%3E`)).text()
  t.notMatch(other, /class="notice"|evil/)
})
