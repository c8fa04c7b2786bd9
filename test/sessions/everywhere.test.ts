/**
 * "Sign out everywhere" (Cognito's GlobalSignOut, then every session here, then Cognito's /logout) and
 * the re-authentication it asks for (requireRecentSignIn): two browsers of one person on two instances
 * sharing Redis and one local Cognito.
 */
import t, { type Test } from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { logLines, page, postForm, reauthenticate, refreshAccepted, status, tokensOf } from '../helpers/sessions.js'
import { sessionIdOf, signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'

const DEMO_SUB = '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13'
const READER_SUB = '8f47d2b0-9c3a-70e4-b516-2d8c4e71a9f5'
const READER = { username: 'reader', password: 'Reader-passw0rd' }
const ELEVEN_MINUTES = 11 * 60_000

/** As a pool whose app client allows the admin scope and an app that asks for it. */
const ADMIN_SCOPES = 'openid email profile aws.cognito.signin.user.admin'
const redisEnv = (prefix: string, extra: Record<string, string> = {}) => ({
  SESSION_STORE: 'redis',
  REDIS_URL,
  REDIS_KEY_PREFIX: prefix,
  COGNITO_SCOPES: ADMIN_SCOPES,
  ...extra,
})

/** Two instances sharing Redis and one local Cognito (one clock), as behind a load balancer. */
async function twoInstances(t: Test, extra: Record<string, string> = {}): Promise<[Stack, Stack]> {
  const prefix = uniquePrefix('everywhere')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const { cognito, clock } = await startSharedCognito(t)
  const a = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix, extra) })
  const b = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix, extra), appBaseUrl: a.config.web.baseUrl })
  return [a, b]
}

function globalSignOutCalls(stack: Stack): Array<{ status: number; error?: string }> {
  return stack.cognito.requests.filter((r) => r.method === 'POST' && r.path === '/')
}

/** Confirms "sign out everywhere" from its page: the POST's answer (not followed). */
async function confirmEverywhere(browser: Browser, stack: Stack): Promise<Response> {
  const confirm = await page(browser, stack, '/account/sessions/end-everywhere')
  if (confirm.status !== 200 || !confirm.html.includes('action="/account/sessions/end-everywhere"')) {
    throw new Error(`the confirmation page answered ${confirm.status}`)
  }
  return postForm(browser, stack, '/account/sessions/end-everywhere', { _csrf: csrfTokenOf(confirm.html), returnTo: '/account/sessions/end-everywhere' })
}

t.test('sign out everywhere with the admin scope: GlobalSignOut first, every session here ended on both instances, every refresh token refused, then Cognito /logout', async (t) => {
  if (!(await requireRedis(t))) return
  const [a, b] = await twoInstances(t)
  const laptop = new Browser()
  const phone = new Browser()
  await signIn(laptop, a)
  await signIn(phone, b)
  const laptopTokens = await tokensOf(a, laptop)
  const phoneTokens = await tokensOf(a, phone)
  const devices = await page(laptop, a, '/account/sessions')
  t.match(devices.html, 'href="/account/sessions/end-everywhere"', 'the devices page links to it')

  const answer = await confirmEverywhere(laptop, a)
  t.equal(answer.status, 303)
  const location = new URL(answer.headers.get('location') as string)
  t.equal(`${location.origin}${location.pathname}`, `${a.cognito.origin}/logout`, 'then through Cognito\'s /logout (its own sign-in session ends too)')
  t.equal(location.searchParams.get('logout_uri'), `${a.baseUrl}/logged-out`)

  const calls = globalSignOutCalls(a)
  t.equal(calls.length, 1, 'Cognito\'s GlobalSignOut was called once')
  t.equal(calls[0]?.status, 200, 'and accepted the access token (called before any revocation)')
  t.notOk(await refreshAccepted(a, phoneTokens.refreshToken), 'the other device\'s refresh token is refused')
  t.notOk(await refreshAccepted(a, laptopTokens.refreshToken), 'this device\'s refresh token is refused')

  const back = await laptop.follow(answer, `${a.baseUrl}/account/sessions/end-everywhere`)
  t.equal(back.url, `${a.baseUrl}/logged-out`)
  const html = await back.response.text()
  t.match(html, 'Cognito signed you out of every other app', 'the signed-out page says other apps were signed out')
  t.equal(await status(laptop, a), 302, 'this browser is anonymous')
  t.equal(await status(phone, a), 302, 'the other browser is anonymous on instance A')
  t.equal(await status(phone, b), 302, 'and on instance B')
  t.equal((await page(laptop, a, '/logged-out')).html.includes('Cognito signed you out'), false, 'the note is shown once')

  // Cognito's own session ended: signing in again shows its form (signIn fails otherwise).
  const again = await signIn(laptop, a)
  t.equal(new URL(again.url).pathname, '/logged-in', 'signing in again goes through Cognito\'s form')

  const event = logLines(a).find((line) => line.msg === 'signed out everywhere')
  t.match(event, { sub: DEMO_SUB, ended: 1, cognito: 'signed-out' }, 'the event names the person, how many sessions and Cognito\'s answer')
  const dump = a.logs.join('\n') + b.logs.join('\n')
  for (const id of [laptopTokens.refreshToken, laptopTokens.accessToken, phoneTokens.refreshToken]) t.notOk(dump.includes(id), 'no token in the logs')
})

t.test('sign out everywhere without the admin scope: every session here ends and its refresh token is revoked; the page says other apps were not signed out', async (t) => {
  if (!(await requireRedis(t))) return
  const [a, b] = await twoInstances(t, { COGNITO_SCOPES: 'openid email profile' })
  const laptop = new Browser()
  const phone = new Browser()
  await signIn(laptop, a)
  await signIn(phone, b)
  const phoneTokens = await tokensOf(a, phone)

  const answer = await confirmEverywhere(laptop, b)
  t.equal(answer.status, 303)
  t.equal(globalSignOutCalls(a).length, 0, 'GlobalSignOut is not called without the scope')
  t.notOk(await refreshAccepted(a, phoneTokens.refreshToken), 'the other session\'s refresh token was revoked here')
  const back = await laptop.follow(answer, `${b.baseUrl}/account/sessions/end-everywhere`)
  t.match(await back.response.text(), 'Other apps that use the same sign-in were not signed out')
  t.equal(await status(phone, a), 302, 'the other browser is anonymous on A')
  t.equal(await status(phone, b), 302, 'and on B')
  t.match(logLines(b).find((line) => line.msg === 'signed out everywhere'), { sub: DEMO_SUB, ended: 1, cognito: 'no-scope' })
})

t.test('SES-18 sign out everywhere when Cognito refuses the GlobalSignOut: the sessions here still end, and the page says other apps stay signed in', async (t) => {
  if (!(await requireRedis(t))) return
  const [a, b] = await twoInstances(t)
  const laptop = new Browser()
  const phone = new Browser()
  await signIn(laptop, a)
  await signIn(phone, b)
  // Another app signed the person out everywhere already: Cognito now refuses this access token.
  const { accessToken } = await tokensOf(a, laptop)
  const earlier = await fetch(new URL('/', a.cognito.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.GlobalSignOut' },
    body: JSON.stringify({ AccessToken: accessToken }),
  })
  t.equal(earlier.status, 200, 'the earlier GlobalSignOut (another app\'s) succeeded')

  const answer = await confirmEverywhere(laptop, a)
  t.equal(answer.status, 303)
  t.match(globalSignOutCalls(a).at(-1), { status: 400, error: 'NotAuthorizedException' }, 'Cognito refused the revoked access token')
  const back = await laptop.follow(answer, `${a.baseUrl}/account/sessions/end-everywhere`)
  t.match(await back.response.text(), 'Cognito could not sign you out of other apps just now')
  t.equal(await status(phone, b), 302, 'the other browser is anonymous')
  t.match(logLines(a).find((line) => line.msg === 'signed out everywhere here; Cognito\'s global sign-out failed'), {
    sub: DEMO_SUB,
    cognito: 'failed',
    reason: 'NotAuthorizedException',
  })
})

t.test('an old sign-in is sent through Cognito\'s form before sign out everywhere, and comes back to finish it', async (t) => {
  if (!(await requireRedis(t))) return
  const [a, b] = await twoInstances(t)
  const laptop = new Browser()
  const phone = new Browser()
  await signIn(laptop, a)
  await signIn(phone, b)
  const oldId = sessionIdOf(laptop) as string
  a.clock.advance(ELEVEN_MINUTES)

  const asked = await page(laptop, a, '/account/sessions/end-everywhere')
  t.equal(asked.status, 200)
  t.match(asked.html, 'Confirm it’s you', 'the confirmation page asks to sign in again')
  t.notMatch(asked.html, 'action="/account/sessions/end-everywhere"', 'and offers no way to go on without it')

  // A form posted from a page left open: refused (403) with the same offer, nothing ended.
  const stale = await postForm(laptop, a, '/account/sessions/end-everywhere', { _csrf: csrfTokenOf(asked.html), returnTo: '/account/sessions/end-everywhere' })
  t.equal(stale.status, 403)
  t.match(await stale.text(), 'Confirm it’s you')
  t.equal(await status(phone, b), 200, 'the other device is still signed in')
  t.equal(globalSignOutCalls(a).length, 0, 'and Cognito was not asked')

  let signedInMeanwhile = 0
  const back = await reauthenticate(laptop, a, {
    csrf: csrfTokenOf(asked.html),
    returnTo: '/account/sessions/end-everywhere',
    before: async () => { signedInMeanwhile = await status(laptop, a) },
  })
  t.match(back.started.headers.get('location'), `${a.cognito.origin}/logout?`, 'through Cognito\'s /logout, which always ends in its form')
  t.equal(signedInMeanwhile, 200, 'still signed in here meanwhile')
  t.equal(back.url, `${a.baseUrl}/account/sessions/end-everywhere`, 'back to the page it was on')
  const html = await back.response.text()
  t.match(html, 'action="/account/sessions/end-everywhere"', 'which now offers to go on')
  t.not(sessionIdOf(laptop), oldId, 'a new session id after signing in again')
  t.ok(logLines(a).some((line) => line.msg === 're-authenticated' && line.sub === DEMO_SUB), 'the re-authentication is logged')

  const done = await postForm(laptop, a, '/account/sessions/end-everywhere', { _csrf: csrfTokenOf(html), returnTo: '/account/sessions/end-everywhere' })
  t.equal(done.status, 303, 'sign out everywhere goes through')
  t.equal(await status(phone, b), 302, 'the other device is signed out')
})

t.test('a different person at the re-authentication form gets a session of their own, never the old one', async (t) => {
  if (!(await requireRedis(t))) return
  const [a] = await twoInstances(t)
  const laptop = new Browser()
  await signIn(laptop, a)
  const demoId = sessionIdOf(laptop) as string
  a.clock.advance(ELEVEN_MINUTES)
  const asked = await page(laptop, a, '/account/sessions/end-everywhere')
  const back = await reauthenticate(laptop, a, { csrf: csrfTokenOf(asked.html), returnTo: '/account/sessions/end-everywhere', ...READER })
  t.equal(back.url, `${a.baseUrl}/logged-in`, 'the other person lands on their own account page, not the page the first one was on')
  t.match(await back.response.text(), 'Rita Reader')
  t.equal(await a.app.sessionStore.read(demoId), null, 'the first person\'s session is gone')
  const mine = await a.app.sessionStore.read(sessionIdOf(laptop) as string)
  t.equal(mine?.user?.sub, READER_SUB, 'the browser holds a session of the other person')
  t.equal(mine?.owner, READER_SUB)
  const devices = await page(laptop, a, '/account/sessions')
  t.equal([...devices.html.matchAll(/data-device="/g)].length, 1, 'their devices page lists only their own session')
  t.ok(logLines(a).some((line) => line.msg?.toString().startsWith('another person signed in at re-authentication') && line.sub === READER_SUB && line.expected === DEMO_SUB))
})

t.test('re-authentication: bad input and refusals', async (t) => {
  if (!(await requireRedis(t))) return
  const [a] = await twoInstances(t)
  const laptop = new Browser()
  const anonymous = new Browser()
  const home = await page(anonymous, a, '/')
  const noSession = await postForm(anonymous, a, '/reauthenticate', { _csrf: 'x', returnTo: '/account/sessions' })
  t.equal(noSession.status, 403, 'an anonymous post without a valid CSRF token is refused')
  t.equal(home.status, 200)

  await signIn(laptop, a)
  const csrf = csrfTokenOf((await page(laptop, a, '/logged-in')).html)
  const crossSite = await laptop.post(`${a.baseUrl}/reauthenticate`, { _csrf: csrf, returnTo: '/account/sessions' }, { 'sec-fetch-site': 'cross-site' })
  t.equal(crossSite.status, 403, 'a cross-site post is refused')
  const noToken = await postForm(laptop, a, '/reauthenticate', { returnTo: '/account/sessions' })
  t.equal(noToken.status, 403, 'a post without the CSRF token is refused')
  const back = await reauthenticate(laptop, a, { csrf, returnTo: 'https://evil.example/steal' })
  t.equal(back.started.status, 303)
  t.equal(back.url, `${a.baseUrl}/logged-in`, 'a returnTo off this site is replaced by the signed-in page')

  // A recent sign-in goes straight to the page; requireRecentSignIn refuses a bad maxAge.
  t.equal((await page(laptop, a, '/account/sessions/end-everywhere')).status, 200)
  t.throws(() => a.app.requireRecentSignIn(0), RangeError)
})

t.test('a re-authentication that Cognito answered without asking again (an old auth_time) does not count: a clear page, and the session stays as it was', async (t) => {
  if (!(await requireRedis(t))) return
  const [a] = await twoInstances(t)
  const laptop = new Browser()
  await signIn(laptop, a)
  const id = sessionIdOf(laptop) as string
  a.clock.advance(ELEVEN_MINUTES)
  const asked = await page(laptop, a, '/account/sessions/end-everywhere')
  t.teardown(() => { a.cognito.faults.idTokenClaims = undefined })
  const back = await reauthenticate(laptop, a, {
    csrf: csrfTokenOf(asked.html),
    returnTo: '/account/sessions/end-everywhere',
    // As if Cognito had answered from its own session: the new ID token carries the old sign-in's time.
    before: () => { a.cognito.faults.idTokenClaims = { auth_time: Math.floor((a.clock.now() - ELEVEN_MINUTES) / 1000) } },
  })
  t.equal(back.response.status, 401)
  const html = await back.response.text()
  t.match(html, 'Your sign-in was not confirmed')
  t.notMatch(html, /at .*\.ts:\d+/, 'no stack trace')
  t.equal(sessionIdOf(laptop), id, 'the session is the one from before')
  t.equal(await status(laptop, a), 200, 'still signed in')
  const again = await page(laptop, a, '/account/sessions/end-everywhere')
  t.match(again.html, 'Confirm it’s you', 'and still asked to confirm')
  t.ok(logLines(a).some((line) => String(line.msg).startsWith('re-authentication refused') && line.sub === DEMO_SUB))
})
