/**
 * Cookies and sessions: `__Host-` + Secure on https, SameSite=Lax + HttpOnly, a fresh session id at
 * sign-in (no fixation), a single-use transaction cookie that expires in minutes, no server-side state
 * for anonymous traffic, and tampered, forged or unknown session cookies read as "nobody".
 */
import { randomBytes } from 'node:crypto'
import { sign } from '@fastify/cookie'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadPoolConfig } from '../../src/config/index.js'
import { defaultLocalClient } from '../../src/local-cognito/index.js'
import { TRANSACTION_TTL_SECONDS, createTransactionSealer } from '../../src/auth/transaction.js'
import { Browser, csrfTokenOf, parseSignInForm } from '../helpers/browser.js'
import { TestClock } from '../helpers/clock.js'
import { signIn, startCognito, startStack } from '../helpers/stack.js'
import { assertNobodySignedIn, storeSize } from './helpers.js'

const SECRET = 'test-session-secret-that-is-long-enough-0123456789'

function cookieLine(setCookie: string[] | string | undefined, name: string): string | undefined {
  const lines = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []
  return lines.filter((line) => line.startsWith(`${name}=`)).at(-1)
}

t.test('SES-01, SES-14 on an https base URL: __Host- cookies, Secure, HSTS (whole sign-in through inject)', async (t) => {
  const base = 'https://app.example.com'
  const client = defaultLocalClient(base)
  const cognito = await startCognito(t, { clients: [client] })
  const config = loadPoolConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    APP_BASE_URL: base,
    COGNITO_ISSUER: cognito.issuer,
    COGNITO_CLIENT_ID: client.clientId,
    COGNITO_CLIENT_SECRET: client.clientSecret ?? '',
    SESSION_SECRET: SECRET,
    TRUST_PROXY: 'true',
  })
  const app = await buildApp(config)
  t.teardown(() => app.close())
  await app.ready()
  await app.cognito.provider.getConfiguration()
  const proxied = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example.com' }

  const home = await app.inject({ url: '/', headers: proxied })
  t.match(home.headers['strict-transport-security'], /max-age=31536000; includeSubDomains/, 'HSTS on https')
  t.match(home.headers['content-security-policy'], /upgrade-insecure-requests/)

  const login = await app.inject({ url: '/login', headers: proxied })
  t.equal(login.statusCode, 302)
  const tx = cookieLine(login.headers['set-cookie'], '__Host-signin')
  t.ok(tx, 'the transaction cookie has the __Host- prefix')
  t.match(tx, /; Secure/i)
  t.match(tx, /; HttpOnly/i)
  t.match(tx, /; SameSite=Lax/i)
  t.match(tx, /; Path=\//)
  t.notMatch(tx, /Domain=/i, 'no Domain attribute (required by __Host-)')
  t.notOk(cookieLine(login.headers['set-cookie'], 'signin'), 'no unprefixed cookie')

  // Through the hosted UI like a browser, then back to the app's callback through inject.
  const browser = new Browser()
  const form = await browser.navigate(login.headers.location as string)
  const { action, csrf } = parseSignInForm(await form.response.text(), form.url)
  const posted = await browser.post(action, { _csrf: csrf, username: 'demo', password: 'Demo-passw0rd' })
  const callbackUrl = new URL(posted.headers.get('location') ?? '')
  t.equal(callbackUrl.origin, base)
  const txValue = (tx ?? '').split(';')[0] ?? ''
  const back = await app.inject({ url: `${callbackUrl.pathname}${callbackUrl.search}`, headers: { ...proxied, cookie: txValue } })
  t.equal(back.statusCode, 303)
  t.equal(back.headers.location, '/logged-in')
  t.equal(back.headers['cache-control'], 'no-store', 'the callback answer is not cached')
  const sid = cookieLine(back.headers['set-cookie'], '__Host-sid')
  t.ok(sid, 'the session cookie has the __Host- prefix')
  t.match(sid, /; Secure/i)
  t.match(sid, /; HttpOnly/i)
  t.match(sid, /; SameSite=Lax/i)
  t.match(sid, /; Path=\//)
  t.notMatch(sid, /Domain=/i)
  const cleared = cookieLine(back.headers['set-cookie'], '__Host-signin')
  t.match(cleared, /Expires=Thu, 01 Jan 1970/i, 'the transaction cookie is cleared')
  t.match(cleared, /; Secure/i, 'cleared with Secure, or browsers ignore the update of a __Host- cookie')

  const page = await app.inject({ url: '/logged-in', headers: { ...proxied, cookie: (sid ?? '').split(';')[0] ?? '' } })
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')

  // SES-14: a stale session cookie (its session is gone) is cleared in a way the browser accepts.
  const sidPair = (sid ?? '').split(';')[0] ?? ''
  const out = await app.inject({ method: 'POST', url: '/logout', headers: { ...proxied, cookie: sidPair }, payload: { _csrf: 'x' } })
  t.equal(out.statusCode, 403, 'without its token the sign-out is refused (the session stays)')
  const stale = await app.inject({ url: '/', headers: { ...proxied, cookie: sidPair } })
  t.equal(stale.statusCode, 200)
  t.notOk(cookieLine(stale.headers['set-cookie'], '__Host-sid'), 'a live session cookie is left alone')
  const id = decodeURIComponent(sidPair.slice('__Host-sid='.length)).split('.')[0] ?? ''
  await new Promise<void>((resolve, reject) => app.sessionStore.destroy(id, (error) => (error ? reject(error) : resolve())))
  const gone = await app.inject({ url: '/', headers: { ...proxied, cookie: sidPair } })
  const clearing = cookieLine(gone.headers['set-cookie'], '__Host-sid')
  t.match(clearing, /Expires=Thu, 01 Jan 1970/i, 'SES-14: the stale __Host-sid is cleared')
  t.match(clearing, /; Secure/i, 'with Secure, or the browser ignores the clear of a __Host- cookie')
  t.match(clearing, /; HttpOnly/i)
  t.match(clearing, /; Path=\//)
  t.notMatch(clearing, /Domain=/i)
})

t.test('on http (local development): plain names, no Secure, no HSTS', async (t) => {
  const stack = await startStack(t)
  const response = await fetch(`${stack.baseUrl.replace('localhost', '127.0.0.1')}/login`, { redirect: 'manual' })
  t.notOk(response.headers.get('strict-transport-security'))
  const tx = cookieLine(response.headers.getSetCookie(), 'signin')
  t.ok(tx)
  t.notMatch(tx, /Secure/i)
  const maxAge = Number(/Max-Age=(\d+)/i.exec(tx ?? '')?.[1])
  t.ok(maxAge > 0 && maxAge <= 10 * 60, `the transaction cookie lives minutes, not longer (Max-Age=${maxAge})`)
})

t.test('the sealed transaction expires by itself and cannot be opened with another secret', async (t) => {
  const transaction = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/logged-in' }
  t.ok(TRANSACTION_TTL_SECONDS <= 15 * 60, 'minutes, not hours')
  const clock = new TestClock()
  const short = createTransactionSealer(SECRET, clock, 60)
  const sealed = await short.seal(transaction)
  t.same(await short.open(sealed), transaction, 'opens while fresh')
  t.equal(await createTransactionSealer(`${SECRET}-other`, clock).open(sealed), undefined, 'another secret cannot open it')
  clock.advance(59_000)
  t.same(await short.open(sealed), transaction, 'still opens just before its lifetime ends')
  clock.advance(2_000)
  t.equal(await short.open(sealed), undefined, 'expired after its lifetime')
})

t.test('SES-06 session fixation: an id planted before sign-in is not the one after', async (t) => {
  const stack = await startStack(t)
  const planted = randomBytes(24).toString('base64url')
  const browser = new Browser()
  // A correctly signed cookie (the attacker knows the format, here even the secret) naming an id.
  browser.setCookie('localhost', 'sid', encodeURIComponent(sign(planted, SECRET)))
  const result = await signIn(browser, stack)
  t.equal(result.response.status, 200)
  const after = decodeURIComponent(browser.cookie('localhost', 'sid') ?? '')
  const afterId = after.slice(0, after.lastIndexOf('.'))
  t.ok(afterId, 'signed in with a session cookie')
  t.not(afterId, planted, 'a fresh session id was issued at sign-in')
  t.equal(await stack.app.sessionStore.read(planted), null, 'nothing is stored under the planted id')

  // An attacker's own existing (anonymous-then-signed-in) session id is not reused for the victim either.
  const attacker = new Browser()
  await signIn(attacker, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const attackerSid = attacker.cookie('localhost', 'sid') ?? ''
  const victim = new Browser()
  victim.setCookie('localhost', 'sid', attackerSid)
  await victim.get(`${stack.baseUrl}/`).then((r) => r.arrayBuffer())
  const page = await victim.get(`${stack.baseUrl}/logout`)
  t.equal(page.status, 200)
  const out = await victim.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(await page.text()) })
  t.equal(out.status, 303)
  const fresh = await signIn(victim, stack)
  t.equal(fresh.response.status, 200)
  t.not(victim.cookie('localhost', 'sid'), attackerSid, 'the victim gets a session of their own')
})

t.test('LOAD-05, LOAD-06 anonymous traffic creates no server-side state', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '1000' } })
  const before = storeSize(stack)
  for (let i = 0; i < 200; i++) {
    const response = await stack.app.inject({ url: i % 2 ? '/login' : '/login?returnTo=%2Flogged-in' })
    t.equal(response.statusCode, 302)
    if (cookieLine(response.headers['set-cookie'], 'sid')) t.fail('a session cookie was set')
  }
  for (const url of ['/', '/logged-out', '/logout', '/nope', '/logged-in']) {
    const response = await stack.app.inject({ url })
    t.notOk(cookieLine(response.headers['set-cookie'], 'sid'), `${url} sets no session cookie`)
  }
  t.equal(storeSize(stack), before, 'the session store did not grow')
})

t.test('SES-04, SES-05 tampered, forged and unknown session cookies read as nobody', async (t) => {
  const stack = await startStack(t)
  const owner = new Browser()
  await signIn(owner, stack)
  const real = decodeURIComponent(owner.cookie('localhost', 'sid') ?? '')
  const dot = real.lastIndexOf('.')
  const id = real.slice(0, dot)
  const signature = real.slice(dot + 1)
  const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)

  const variants: Array<[string, string]> = [
    ['id changed, signature kept', `${flip(id)}.${signature}`],
    ['signature changed', `${id}.${flip(signature)}`],
    ['no signature', id],
    ['signed with another secret', sign(id, 'another-secret-that-is-long-enough-0123456789')],
    ['an id that does not exist, correctly signed', sign(randomBytes(24).toString('base64url'), SECRET)],
    ['garbage', '%%%.;,'],
    ['very long', `${'a'.repeat(3000)}.${signature}`],
  ]
  const sessions = storeSize(stack)
  for (const [name, value] of variants) {
    const browser = new Browser()
    browser.setCookie('localhost', 'sid', /^[\w.%-]*$/.test(value) ? encodeURIComponent(value) : value)
    const page = await browser.get(`${stack.baseUrl}/logged-in`)
    await page.arrayBuffer()
    t.equal(page.status, 302, `${name}: /logged-in is not served`)
    t.match(page.headers.get('location') ?? '', /^\/login\?/, `${name}: sent to sign in`)
    const home = await browser.get(`${stack.baseUrl}/`)
    t.equal(home.status, 200, `${name}: the home page still works`)
    t.match(await home.text(), /id="greeting">Welcome</, `${name}: shown as anonymous`)
  }
  t.equal(storeSize(stack), sessions, 'no session created by bad cookies')
  const ownerPage = await owner.get(`${stack.baseUrl}/logged-in`)
  t.equal(ownerPage.status, 200, 'the real session still works')
  await assertNobodySignedIn(t, stack, new Browser())
})
