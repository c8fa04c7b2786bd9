/**
 * Sessions around sign-in: unknown ids are not adopted (and are logged), a session tossed into a
 * browser is replaced at sign-in with nothing carried over (CSRF secret included), another user's
 * session is replaced whole, an abandoned sign-in is no session, cookie changes reach the browser on
 * every path (errors included) with no caching, and the cookie stays small whatever the ID token holds.
 */
import { sign } from '@fastify/cookie'
import { randomBytes } from 'node:crypto'
import type { Session } from 'fastify'
import t from 'tap'
import { Browser, csrfTokenOf, parseSignInForm, type HostedForm } from '../helpers/browser.js'
import { sessionIdOf, signIn, startStack } from '../helpers/stack.js'

const SECRET = 'test-session-secret-that-is-long-enough-0123456789'
const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '1000', SESSION_IDLE_TIMEOUT: '10m' }, cognito: { accessTokenTtlSeconds: 300 } })
const READER_SUB = '8f47d2b0-9c3a-70e4-b516-2d8c4e71a9f5'
const DEMO_SUB = '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13'
/** The fields a signed-in session may hold: what sign-in sets, and nothing from before it. */
const SIGNED_IN_FIELDS = ['cookie', 'user', 'tokens', 'owner', 'userAgent', 'signedInAt', 'lastSeenAt', 'absoluteExpiresAt', '_csrf', 'csrfToken']

/** Starts a sign-in in `browser` and stops at the hosted form (a tab left open). */
async function pendingForm(browser: Browser): Promise<HostedForm> {
  const page = await browser.navigate(`${stack.baseUrl}/login`)
  return parseSignInForm(await page.response.text(), page.url)
}

/** Submits a hosted form and follows back through the app; returns the callback's own answer too. */
async function submit(browser: Browser, form: HostedForm, username: string, password: string) {
  const posted = await browser.post(form.action, { _csrf: form.csrf, username, password })
  const callbackUrl = new URL(posted.headers.get('location') ?? '', form.action).href
  const callback = await browser.get(callbackUrl)
  const end = await browser.follow(callback, callbackUrl)
  return { callback, end, html: await end.response.text() }
}

function storeSet(id: string, session: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => stack.app.sessionStore.set(id, session as unknown as Session, (e) => (e ? reject(e) : resolve())))
}

function setCookieLine(response: Response, name: string): string | undefined {
  return response.headers.getSetCookie().filter((line) => line.startsWith(`${name}=`)).at(-1)
}

function isClearing(line: string | undefined): boolean {
  return line !== undefined && /Expires=Thu, 01 Jan 1970/i.test(line)
}

t.test('SES-03 a session id the server never issued is ignored, not adopted, and logged', async (t) => {
  const planted = randomBytes(24).toString('base64url')
  const browser = new Browser()
  browser.setCookie('localhost', 'sid', encodeURIComponent(sign(planted, SECRET)))
  const logsBefore = stack.logs.length
  const page = await browser.get(`${stack.baseUrl}/logged-in`)
  await page.arrayBuffer()
  t.equal(page.status, 302, 'not served as a session')
  t.ok(isClearing(setCookieLine(page, 'sid')), 'the unknown id is cleared from the browser')
  const lines = stack.logs.slice(logsBefore).filter((line) => line.includes('names no live session'))
  t.equal(lines.length, 1, 'the event is logged')
  t.notOk(lines.some((line) => line.includes(planted)), 'without the id')

  browser.setCookie('localhost', 'sid', encodeURIComponent(sign(planted, SECRET)))
  t.equal((await signIn(browser, stack)).response.status, 200)
  const issued = sessionIdOf(browser) as string
  t.not(issued, planted, 'sign-in issues a fresh id')
  t.equal(await stack.app.sessionStore.read(planted), null, 'nothing was ever stored under the planted id')
})

t.test('SES-06, SES-07 a session tossed into the victim’s browser is replaced at sign-in: new id, old entry gone, new CSRF secret, nothing carried over', async (t) => {
  // The attacker's own signed-in session, with a CSRF token for its forms.
  const attacker = new Browser()
  const attackerPage = await signIn(attacker, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const attackerToken = csrfTokenOf(attackerPage.html)
  const attackerCookie = attacker.cookie('localhost', 'sid') as string
  const attackerId = sessionIdOf(attacker) as string
  const attackerSecret = (await stack.app.sessionStore.read(attackerId))?._csrf
  t.ok(attackerSecret, 'the attacker’s session holds a CSRF secret')
  // And a pre-login session with data of its own, planted in the store.
  const preLoginId = randomBytes(24).toString('base64url')
  await storeSet(preLoginId, { _csrf: 'pre-login-csrf-secret', csrfToken: 'pre-login-token', returnTo: '/admin', planted: 'by the attacker' })

  for (const [what, tossed, oldId] of [
    ['the attacker’s signed-in session', attackerCookie, attackerId],
    ['a pre-login session with data', encodeURIComponent(sign(preLoginId, SECRET)), preLoginId],
  ] as const) {
    const victim = new Browser()
    const form = await pendingForm(victim) // the victim has a sign-in open…
    victim.setCookie('localhost', 'sid', tossed) // …when the cookie is tossed in
    const { end, html } = await submit(victim, form, 'demo', 'Demo-passw0rd')
    t.equal(end.response.status, 200, `${what}: the victim is signed in`)
    t.match(html, /data-field="username">demo</, `${what}: as themself`)
    const newId = sessionIdOf(victim) as string
    t.not(newId, oldId, `${what}: a new session id`)
    t.equal(await stack.app.sessionStore.read(oldId), null, `${what}: the old id no longer exists in the store`)
    const session = (await stack.app.sessionStore.read(newId)) as unknown as Record<string, unknown>
    t.same(Object.keys(session).filter((key) => !SIGNED_IN_FIELDS.includes(key)), [], `${what}: no field carried over`)
    t.equal((session.user as { sub: string }).sub, DEMO_SUB)
    t.ok(session._csrf, `${what}: a CSRF secret of its own`)
    t.not(session._csrf, attackerSecret, `${what}: not the attacker’s CSRF secret`)
    t.not(session._csrf, 'pre-login-csrf-secret', `${what}: not the pre-login CSRF secret`)
    // The attacker's token does not work on the victim's session.
    const forged = await victim.post(`${stack.baseUrl}/logout`, { _csrf: attackerToken })
    t.equal(forged.status, 403, `${what}: the attacker’s CSRF token is refused`)
    t.equal((await victim.get(`${stack.baseUrl}/logged-in`)).status, 200, `${what}: the victim is still signed in`)
  }
})

t.test('SES-08 user B signs in over user A’s session in the same browser: the session is new and A’s data is gone', async (t) => {
  const browser = new Browser()
  const tabB = await pendingForm(browser) // a tab at the sign-in form, left open
  const a = await signIn(browser, stack) // A (demo) signs in in another tab
  t.match(a.html, /data-field="username">demo</)
  const idA = sessionIdOf(browser) as string
  const sessionA = await stack.app.sessionStore.read(idA)
  const tokensA = sessionA?.tokens

  const { callback, end, html } = await submit(browser, tabB, 'reader', 'Reader-passw0rd') // B signs in in the open tab
  t.equal(callback.status, 303)
  t.equal(end.response.status, 200)
  t.match(html, /data-field="username">reader</, 'B’s page')
  t.notMatch(html, /demo@example\.com|Demo User/, 'nothing of A on it')
  const idB = sessionIdOf(browser) as string
  t.not(idB, idA, 'a new session id')
  t.equal(await stack.app.sessionStore.read(idA), null, 'A’s session is gone from the store')
  const sessionB = await stack.app.sessionStore.read(idB)
  t.equal(sessionB?.user?.sub, READER_SUB, 'the session is B’s')
  t.same(sessionB?.user?.groups, [], 'without A’s groups')
  t.not(sessionB?.tokens?.refreshToken, tokensA?.refreshToken, 'without A’s refresh token')
  t.not(sessionB?.tokens?.accessToken, tokensA?.accessToken, 'without A’s access token')
  t.not(sessionB?.csrfToken, sessionA?.csrfToken, 'without A’s CSRF token')
  t.equal((await browser.get(`${stack.baseUrl}/admin`)).status, 403, 'A’s admin group does not carry over')
})

t.test('SES-09 an abandoned sign-in (or a session without the signed-in fields) does not pass the guard', async (t) => {
  const browser = new Browser()
  const login = await browser.get(`${stack.baseUrl}/login?returnTo=%2Fadmin`)
  await login.arrayBuffer()
  const sealed = browser.cookie('localhost', 'signin') as string
  t.ok(sealed, 'a sign-in was started and abandoned')
  const guarded = async (b: Browser, what: string) => {
    for (const path of ['/logged-in', '/admin']) {
      const page = await b.get(`${stack.baseUrl}${path}`)
      await page.arrayBuffer()
      t.equal(page.status, 302, `${what}: ${path} is not served`)
      t.match(page.headers.get('location') ?? '', /^\/login\?returnTo=/, `${what}: ${path} sends to sign in`)
    }
    const api = await b.get(`${stack.baseUrl}/api/me`)
    await api.arrayBuffer()
    t.equal(api.status, 401, `${what}: /api/me refuses`)
  }
  await guarded(browser, 'the pending sign-in cookie')

  // The sealed transaction moved into the session cookie.
  const moved = new Browser()
  moved.setCookie('localhost', 'sid', sealed)
  await guarded(moved, 'the sign-in cookie as the session cookie')

  // Sessions that exist in the store but lack the signed-in fields.
  const halfWays: Array<[string, Record<string, unknown>]> = [
    ['a session with data but no user', { csrfToken: 'x', _csrf: 'y', returnTo: '/admin' }],
    ['a user but no tokens', { user: { sub: DEMO_SUB, username: 'demo', groups: ['admin'] } }],
  ]
  for (const [what, values] of halfWays) {
    const id = randomBytes(24).toString('base64url')
    await storeSet(id, values)
    const b = new Browser()
    b.setCookie('localhost', 'sid', encodeURIComponent(sign(id, SECRET)))
    await guarded(b, what)
  }
})

t.test('SES-14, SES-15 every response that sets or clears a cookie sends it, error pages included, and none is cached', async (t) => {
  const browser = new Browser()
  const check = (response: Response, what: string) => t.equal(response.headers.get('cache-control'), 'no-store', `${what}: Cache-Control no-store`)

  const login = await browser.get(`${stack.baseUrl}/login`)
  await login.arrayBuffer()
  t.ok(setCookieLine(login, 'signin') && !isClearing(setCookieLine(login, 'signin')), '/login sets the sign-in cookie')
  check(login, '/login')

  // A refused sign-in: its error page clears the used sign-in cookie itself.
  const state = new URL(login.headers.get('location') ?? '').searchParams.get('state') ?? ''
  const refused = await browser.get(`${stack.baseUrl}/auth/callback?error=access_denied&state=${state}`)
  t.equal(refused.status, 403)
  t.ok(isClearing(setCookieLine(refused, 'signin')), 'the error page clears the sign-in cookie')
  check(refused, 'the callback error page')

  // A successful sign-in: the session cookie is set on the callback's redirect.
  const form = await pendingForm(browser)
  const { callback, end, html } = await submit(browser, form, 'demo', 'Demo-passw0rd')
  t.ok(setCookieLine(callback, 'sid') && !isClearing(setCookieLine(callback, 'sid')), 'the callback sets the session cookie')
  t.ok(isClearing(setCookieLine(callback, 'signin')), 'and clears the used sign-in cookie')
  check(callback, 'the callback')
  check(end.response, '/logged-in')

  // Sign-out clears it.
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(html) })
  t.equal(out.status, 303)
  t.ok(isClearing(setCookieLine(out, 'sid')), 'sign-out clears the session cookie')
  check(out, 'sign-out')

  // A stale cookie on a 404 page: the error page clears it.
  const stale = new Browser()
  await signIn(stale, stack)
  const staleCookie = stale.cookie('localhost', 'sid') as string
  await stack.app.sessionStore.destroy(sessionIdOf(stale) as string, () => undefined)
  const missing = await stale.get(`${stack.baseUrl}/no-such-page`)
  t.equal(missing.status, 404)
  t.ok(isClearing(setCookieLine(missing, 'sid')), 'the 404 page clears a stale session cookie')
  check(missing, 'the 404 page')

  // Idle expiry on a protected page: the redirect to sign in clears it.
  const idle = new Browser()
  await signIn(idle, stack)
  stack.clock.advance(10 * 60_000 + 5_000)
  const expired = await idle.get(`${stack.baseUrl}/logged-in`)
  t.equal(expired.status, 302)
  t.ok(isClearing(setCookieLine(expired, 'sid')), 'the expiry redirect clears the session cookie')
  check(expired, 'the expiry redirect')

  // Cognito refuses the refresh: the "session ended" error page clears it.
  const ended = new Browser()
  await signIn(ended, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const tokens = (await stack.app.sessionStore.read(sessionIdOf(ended) as string))?.tokens
  stack.cognito.setUserEnabled('reader', false)
  t.teardown(() => stack.cognito.setUserEnabled('reader', true))
  stack.clock.advanceTo((tokens?.accessExpiresAt as number) - 30_000)
  const endedPage = await ended.get(`${stack.baseUrl}/logged-in`)
  t.equal(endedPage.status, 401)
  t.ok(isClearing(setCookieLine(endedPage, 'sid')), 'the session-ended error page clears the session cookie')
  check(endedPage, 'the session-ended page')
  t.not(staleCookie, '')
})

t.test('SES-17 an ID token with 300 cognito:groups: the cookie holds only the id, far under 4096 bytes', async (t) => {
  // 300 groups: the ID token grows past 8 KB. (Much longer lists make the access token too big for the
  // local Cognito's userInfo endpoint, whose request headers are capped at Node's 16 KB.)
  const groups = Array.from({ length: 300 }, (_, i) => `department-${String(i).padStart(4, '0')}`)
  stack.cognito.setUserGroups('demo', groups)
  t.teardown(() => stack.cognito.setUserGroups('demo', ['admin']))
  const browser = new Browser()
  const result = await signIn(browser, stack)
  t.equal(result.response.status, 200, 'signed in, no 431 and no error')
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  t.equal(session?.user?.groups.length, 300, 'the groups are in the server-side session')
  const idToken = session?.tokens?.idToken ?? ''
  t.ok(idToken.length > 2 * 4096, `the ID token is ${idToken.length} bytes: it could not travel in a cookie`)
  for (const line of browser.setCookies) t.ok(line.length < 4096, `Set-Cookie of ${line.length} bytes`)
  const sid = browser.cookie('localhost', 'sid') as string
  t.ok(sid.length < 200, `the session cookie is ${sid.length} bytes: just the signed id`)
  t.notOk(browser.setCookies.some((line) => /department-/.test(line)), 'no group in any cookie')
  t.notOk([...browser.cookies('localhost').keys()].some((name) => /\.\d+$|chunk/i.test(name)), 'no chunked cookies')
  const again = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(again.status, 200, 'the next page view is served')
})


t.test('SES-13 a session cookie replayed after sign-out is anonymous: store entry deleted, refresh token revoked, cookie cleared under its own name and path', async (t) => {
  const browser = new Browser()
  const page = await signIn(browser, stack)
  const cookie = browser.cookie('localhost', 'sid') as string
  const id = sessionIdOf(browser) as string
  const refreshToken = (await stack.app.sessionStore.read(id))?.tokens?.refreshToken as string
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(page.html) })
  t.equal(out.status, 303)
  const cleared = setCookieLine(out, 'sid') ?? ''
  t.ok(isClearing(cleared), 'the cookie is cleared')
  t.match(cleared, /; Path=\//, 'with the same path')
  t.match(cleared, /; HttpOnly/i)
  t.match(cleared, /; SameSite=Lax/i)
  t.notMatch(cleared, /Domain=/i)
  t.equal(await stack.app.sessionStore.read(id), null, 'the store entry is deleted')
  t.ok(stack.cognito.isRefreshTokenRevoked(refreshToken), 'the refresh token is revoked at Cognito')
  const replay = new Browser()
  replay.setCookie('localhost', 'sid', cookie)
  const again = await replay.get(`${stack.baseUrl}/logged-in`)
  t.equal(again.status, 302, 'the captured cookie no longer signs anyone in')
  t.match(again.headers.get('location') ?? '', /^\/login\?returnTo=/)
})
