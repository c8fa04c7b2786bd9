/**
 * Cognito failing in the middle of a sign-in: the token endpoint refusing connections, answering
 * 5xx, garbage or nothing; a code that is expired or already used; userInfo failing after the token
 * exchange; clocks apart; a transaction past its lifetime. Each ends in a clean page with a way
 * forward and nobody signed in.
 */
import t from 'tap'
import { TRANSACTION_TTL_SECONDS } from '../../src/auth/transaction.js'
import { Browser } from '../helpers/browser.js'
import { TestClock } from '../helpers/clock.js'
import { callbackUrlFor, signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'
import { assertCleanFailure, signInWithFaults, storeSize } from './helpers.js'

/** Counts the app's outbound requests to a path of the local Cognito (every call goes through global fetch). */
function countOutbound(t: { teardown(fn: () => unknown): void }, path: string): () => number {
  let count = 0
  const original = globalThis.fetch
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (new URL(url).pathname === path) count++
    return original(input, init)
  }
  t.teardown(() => {
    globalThis.fetch = original
  })
  return () => count
}

const tryAgainLink = /<a class="button" href="\/login">Try again<\/a>/

t.test('FLT-04 the token endpoint refuses connections when the callback arrives: error page with try again, transaction used up, no session', async (t) => {
  const stack = await startStack(t)
  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => void rejections.push(reason)
  process.on('unhandledRejection', onRejection)
  t.teardown(() => void process.off('unhandledRejection', onRejection))

  const browser = new Browser()
  const url = await callbackUrlFor(browser, stack)
  t.ok(browser.cookie('localhost', 'signin'), 'a sign-in is pending')
  const sessions = storeSize(stack)
  // The person is at Cognito; Cognito goes away before the browser comes back.
  await stack.cognito.close()

  const response = await browser.get(url)
  const html = await assertCleanFailure(t, stack, browser, response, 502, {
    secrets: [new URL(url).searchParams.get('code')],
    title: /Cognito could not be reached/,
  })
  t.match(html, tryAgainLink, 'offers to try again')
  t.notOk(browser.cookie('localhost', 'signin'), 'the transaction is used up')
  t.equal(storeSize(stack), sessions, 'no session was stored')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(rejections, [], 'no unhandled promise rejection')
})

t.test('sign-in faults on one stack', async (t) => {
  // Many sign-ins from one address: above the default per-IP limit. Calls to Cognito give up after 1 s.
  const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '200', COGNITO_TIMEOUT: '1s' } })

  t.test('FLT-05 token endpoint 5xx, garbage or no answer: a bounded 502/504 page, the body never echoed, the code exchanged once', async (t) => {
    const tokenRequests = countOutbound(t, '/oauth2/token')
    const marker = 'UPSTREAM-BODY-7f3a9c'
    const cases: Array<[string, { status?: number; body?: string; delayMs?: number }, number, RegExp]> = [
      ['HTTP 500 with an HTML body', { status: 500, body: `<html><body>${marker} stack at x.js:1</body></html>` }, 502, /unexpected answer/],
      ['HTTP 502 with an OAuth error and a description', { status: 502, body: `{"error":"server_error","error_description":"${marker}"}` }, 502, /unexpected answer/],
      ['HTTP 200 with an HTML body', { status: 200, body: `<!doctype html><p>${marker}</p>` }, 502, /unexpected answer/],
      ['HTTP 200 with truncated JSON', { status: 200, body: `{"access_token":"${marker}","id_token":"ey` }, 502, /unexpected answer/],
      ['no answer within COGNITO_TIMEOUT', { delayMs: 2_500 }, 504, /Cognito is not answering/],
    ]
    for (const [name, tokenEndpoint, status, title] of cases) {
      const sessions = storeSize(stack)
      const before = tokenRequests()
      const started = Date.now()
      const { browser, response, html, code } = await signInWithFaults(stack, { tokenEndpoint })
      const elapsed = Date.now() - started
      t.equal(response.status, status, `${name}: ${status}`)
      await assertCleanFailure(t, stack, browser, response, status, { html, secrets: [code, marker], title })
      t.notOk(html.includes(marker), `${name}: the upstream body is not on the page`)
      t.equal(tokenRequests() - before, 1, `${name}: the code was sent to the token endpoint once, not retried`)
      t.equal(storeSize(stack), sessions, `${name}: no session`)
      t.ok(elapsed < 2_500, `${name}: answered in bounded time (${elapsed} ms)`)
    }
    const lines = stack.logs.join('\n')
    t.notOk(lines.includes(marker), 'nor is it in the log')
    t.equal((await signIn(new Browser(), stack)).response.status, 200, 'sign-in works once the endpoint recovers')
  })

  t.test('FLT-06 an expired or already used code (slow person, double submit): 400 with a start-again link, no 500, the code not logged', async (t) => {
    // Slow: the person comes back after the code's 5 minutes at Cognito, within the transaction's 10.
    const slow = new Browser()
    const url = await callbackUrlFor(slow, stack)
    const code = new URL(url).searchParams.get('code') ?? ''
    const logsBefore = stack.logs.length
    stack.clock.advance(6 * 60_000)
    const expired = await slow.get(url)
    const html = await assertCleanFailure(t, stack, slow, expired, 400, { secrets: [code], title: /Your sign-in has expired/ })
    t.match(html, tryAgainLink, 'a start-again link')
    const lines = stack.logs.slice(logsBefore)
    t.ok(lines.some((l) => /"msg":"Your sign-in has expired"/.test(l) && /"message":"Cognito refused the grant"/.test(l)), 'the refusal is logged')
    t.notOk(lines.some((l) => /"level":50/.test(l)), 'not as a server error')
    t.notOk(lines.join('\n').includes(code), 'the code is not logged')

    // Double submit: the same callback twice at once from one browser. At most one signs in (at the
    // local Cognito, the replayed code also revokes the tokens the first one gave, as the OAuth BCP
    // advises, so often neither does); every refused one is a clean "start again", never a 500.
    const eager = new Browser()
    const twice = await callbackUrlFor(eager, stack)
    const answers = await Promise.all([eager.get(twice), eager.get(twice)])
    t.ok(answers.every((r) => r.status === 303 || r.status === 400), `no 500 (${answers.map((r) => r.status).join(', ')})`)
    t.ok(answers.filter((r) => r.status === 303).length <= 1, 'at most one completes')
    for (const refused of answers.filter((r) => r.status === 400)) {
      const page = await refused.text()
      t.match(page, /Your sign-in has expired/)
      t.match(page, tryAgainLink, 'with a start-again link')
    }
    const again = await eager.navigate(`${stack.baseUrl}/login`)
    t.equal(again.response.status, 200, 'following it (or being signed in already) ends on the signed-in page')
    t.equal(new URL(again.url).pathname, '/logged-in')
    t.notOk(stack.logs.join('\n').includes(new URL(twice).searchParams.get('code') ?? ''), 'that code is not logged either')
  })

  t.test('FLT-07 userInfo fails after the token exchange: the sign-in fails (502/504) and the tokens are dropped, no session', async (t) => {
    const cases: Array<[string, { status?: number; body?: string; delayMs?: number }, number]> = [
      ['userInfo answers 500', { status: 500, body: '{"error":"server_error"}' }, 502],
      ['userInfo answers 503 with HTML', { status: 503, body: '<html>Service Unavailable</html>' }, 502],
      ['userInfo does not answer within COGNITO_TIMEOUT', { delayMs: 2_500 }, 504],
    ]
    for (const [name, userinfoEndpoint, status] of cases) {
      const sessions = storeSize(stack)
      const grants = stack.cognito.countGrants('authorization_code')
      stack.cognito.resetRequests()
      const { browser, response, html, code } = await signInWithFaults(stack, { userinfoEndpoint })
      t.equal(response.status, status, `${name}: ${status}`)
      await assertCleanFailure(t, stack, browser, response, status, { html, secrets: [code] })
      t.equal(stack.cognito.countGrants('authorization_code'), grants + 1, `${name}: the code was exchanged for tokens`)
      t.ok(stack.cognito.requests.some((r) => r.path === '/oauth2/token'), `${name}: the token endpoint answered`)
      t.equal(storeSize(stack), sessions, `${name}: but no session, not even a half-built one, was stored`)
    }
    t.equal((await signIn(new Browser(), stack)).response.status, 200, 'sign-in works once userInfo answers')
  })

  t.test('FLT-17 a callback after the transaction lifetime: 400 with a restart link, the code not exchanged', async (t) => {
    const browser = new Browser()
    const url = await callbackUrlFor(browser, stack)
    const grants = stack.cognito.countGrants('authorization_code')
    stack.clock.advance((TRANSACTION_TTL_SECONDS + 1) * 1000)
    const response = await browser.get(url)
    const html = await assertCleanFailure(t, stack, browser, response, 400, {
      secrets: [new URL(url).searchParams.get('code')],
      title: /Your sign-in attempt has expired/,
    })
    t.match(html, tryAgainLink, 'a link to start again')
    t.equal(stack.cognito.countGrants('authorization_code'), grants, 'the code was not exchanged')
  })
})

t.test('FLT-15 clocks apart: inside the tolerances sign-in works; beyond them the ID token is refused with a clear log line', async (t) => {
  // Cognito and the app on clocks of their own; ID tokens live 60 s.
  const { cognito, clock: cognitoClock } = await startSharedCognito(t, { idTokenTtlSeconds: 60 })
  const appClock = new TestClock()
  const stack: Stack = await startStack(t, { sharedCognito: cognito, clock: appClock, env: { RATE_LIMIT_SIGNIN: '100' } })
  const attempt = async () => {
    const logsBefore = stack.logs.length
    const browser = new Browser()
    const result = await signIn(browser, stack)
    return { ...result, browser, lines: stack.logs.slice(logsBefore) }
  }

  // The app's clock behind Cognito's: the ID token's iat looks in the future (tolerance 120 s).
  cognitoClock.advance(119_000)
  const behind = await attempt()
  t.equal(behind.response.status, 200, 'app 119 s behind: signed in')
  cognitoClock.advance(2_000)
  const tooFarBehind = await attempt()
  await assertCleanFailure(t, stack, tooFarBehind.browser, tooFarBehind.response, 502, { html: tooFarBehind.html })
  t.ok(tooFarBehind.lines.some((l) => l.includes('the ID token was issued in the future')), 'app 121 s behind: refused, and the log says why')

  // The app's clock ahead of Cognito's: the 60 s ID token looks expired (tolerance 30 s).
  appClock.advance(121_000 + 60_000 + 29_000)
  const ahead = await attempt()
  t.equal(ahead.response.status, 200, 'app 89 s ahead (29 s past the token’s exp): signed in')
  appClock.advance(2_000)
  const tooFarAhead = await attempt()
  await assertCleanFailure(t, stack, tooFarAhead.browser, tooFarAhead.response, 502, { html: tooFarAhead.html })
  t.ok(tooFarAhead.lines.some((l) => l.includes('the ID token has expired')), 'app 91 s ahead (31 s past exp): refused, and the log says why')
})
