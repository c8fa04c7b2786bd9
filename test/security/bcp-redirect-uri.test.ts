/**
 * Request headers cannot move the app's URLs (RFC 9700 §2.1, §4.1, §4.13): `Host`,
 * `X-Forwarded-Host`/`-Proto`, `Forwarded` and their `_` spellings change neither the redirect_uri
 * sent to Cognito and to its token endpoint, nor any URL the app sends a browser to after sign-in or
 * sign-out, nor the cookie's Secure decision or who is signed in; with or without a trusted proxy.
 */
import t from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { callbackUrlFor, startStack } from '../helpers/stack.js'
import { recordFetches } from './bcp-helpers.js'

const sent = recordFetches(t)

const SPOOFED: Record<string, string> = {
  host: 'evil.example',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  x_forwarded_host: 'evil.example',
  x_forwarded_proto: 'https',
  forwarded: 'host=evil.example;proto=https',
  'x-forwarded-uri': '/',
  'x-original-url': '/',
  'x-rewrite-url': '/',
  'x-forwarded-prefix': '//evil.example',
}

for (const trustProxy of ['false', 'true', '1']) {
  t.test(`BCP-07, WEB-11 redirect_uri and post-login URLs never come from request headers (TRUST_PROXY=${trustProxy})`, async (t) => {
    const stack = await startStack(t, { env: { TRUST_PROXY: trustProxy, RATE_LIMIT_SIGNIN: '1000' } })
    const configured = `${stack.baseUrl}/auth/callback`
    t.equal(stack.app.cognito.redirectUri, configured, 'the configured redirect URI')
    const noEvil = (value: string | null | undefined, what: string) => t.notMatch(value ?? '', /evil\.example|https:\/\/localhost/, `${what}: no spoofed host or scheme`)

    // The authorization request (inject: the Host header is whatever the test says).
    for (const path of ['/login', '/signup', '/login?returnTo=%2Flogged-in']) {
      const response = await stack.app.inject({ url: path, headers: SPOOFED })
      t.equal(response.statusCode, 302)
      const authorize = new URL(response.headers.location as string)
      t.equal(authorize.origin, stack.cognito.origin, `${path}: to Cognito`)
      t.equal(authorize.searchParams.get('redirect_uri'), configured, `${path}: redirect_uri is the configured one`)
      const cookie = ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((line) => line.includes('signin='))
      t.match(cookie, /^signin=/, `${path}: the cookie name follows the configured http base URL`)
      t.notMatch(cookie, /;\s*Secure/i, `${path}: X-Forwarded-Proto does not decide Secure`)
    }

    // A whole sign-in whose callback request carries the spoofed headers.
    const browser = new Browser()
    const callback = await callbackUrlFor(browser, stack)
    const sentBefore = sent.length
    const back = await browser.get(callback, SPOOFED)
    await back.arrayBuffer()
    t.equal(back.status, 303, 'signed in')
    t.equal(back.headers.get('location'), '/logged-in', 'sent on to a path of this site, not to a header’s host')
    const exchange = sent.slice(sentBefore).find((r) => r.url.pathname === '/oauth2/token')
    t.equal(new URLSearchParams(exchange?.body).get('redirect_uri'), configured, 'the token request carries the configured redirect_uri')
    t.equal(stack.cognito.requests.filter((r) => r.grantType === 'authorization_code').at(-1)?.status, 200, 'which Cognito matched exactly')

    // Pages and redirects after sign-in.
    const page = await browser.get(`${stack.baseUrl}/logged-in`, SPOOFED)
    const html = await page.text()
    t.equal(page.status, 200, 'the spoofed headers change nothing about who is signed in')
    noEvil(html, '/logged-in page')
    const already = await browser.get(`${stack.baseUrl}/login?returnTo=%2Flogged-in`, SPOOFED)
    await already.arrayBuffer()
    t.equal(already.headers.get('location'), '/logged-in', 'signed in: /login sends on to a path')

    // Sign-out: Cognito's logout URL carries the configured sign-out URL.
    const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(html) }, SPOOFED)
    await out.arrayBuffer()
    t.equal(out.status, 303)
    const logout = new URL(out.headers.get('location') ?? '')
    t.equal(logout.origin, stack.cognito.origin)
    t.equal(logout.searchParams.get('logout_uri'), `${stack.baseUrl}/logged-out`, 'logout_uri is the configured one')

    // The guard: an anonymous visitor is sent to sign in on a relative URL, whatever X-Forwarded-Uri says.
    const anonymous = await stack.app.inject({ url: '/logged-in', headers: SPOOFED })
    t.equal(anonymous.statusCode, 302, 'X-Forwarded-Uri/X-Original-URL do not open a protected page')
    t.equal(anonymous.headers.location, '/login?returnTo=%2Flogged-in')
    for (const [name, value] of Object.entries(anonymous.headers)) noEvil(String(value), `header ${name}`)
  })
}

t.test('BCP-07 on an https base URL behind a proxy, a forged X-Forwarded-Proto: http does not downgrade anything', async (t) => {
  const base = 'https://app.example.com'
  const stack = await startStack(t, { appBaseUrl: base, env: { TRUST_PROXY: '1' } })
  const response = await stack.app.inject({ url: '/login', headers: { ...SPOOFED, 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example' } })
  t.equal(new URL(response.headers.location as string).searchParams.get('redirect_uri'), `${base}/auth/callback`)
  const cookie = ([] as string[]).concat(response.headers['set-cookie'] ?? []).join('\n')
  t.match(cookie, /^__Host-signin=.*;\s*Secure/im, 'still a __Host- cookie with Secure')
  t.match(response.headers['strict-transport-security'], /max-age=31536000/, 'still HSTS')
  // Through the hosted sign-in: Cognito sends the code back to the configured https URL.
  const browser = new Browser()
  const callback = new URL(await callbackUrlFor(browser, stack))
  t.equal(callback.origin + callback.pathname, `${base}/auth/callback`, 'Cognito sends the code to the configured URL only')
})
