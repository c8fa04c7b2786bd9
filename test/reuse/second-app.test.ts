/**
 * Proof of reuse: a second, minimal Fastify app, with its own paths (everything under /account) and
 * JSON answers instead of pages, registers only the session plugin and the sign-in component, and
 * signs people in against the local Cognito: sign-in, a refresh when the access token has expired
 * (the clock is moved, nobody sleeps), a 403 for a missing group, and sign-out.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import cognitoAuth, { type CognitoAuth } from '../../src/auth/index.js'
import { type LocalCognito } from '../../src/local-cognito/index.js'
import { MemorySessionStore, sessionPlugin } from '../../src/session/index.js'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import { TestClock } from '../helpers/clock.js'
import { freePort, startCognito, type Teardown } from '../helpers/stack.js'

const SECRET = 'second-app-secret-that-is-long-enough-0123456789'
const CLIENT_ID = 'secondapp0client0id000001'
const CLIENT_SECRET = 'second-app-client-secret-0123456789abcdef'

interface SecondApp {
  app: FastifyInstance
  base: string
  cognito: LocalCognito
  clock: TestClock
}

async function startSecondApp(t: Teardown): Promise<SecondApp> {
  const clock = new TestClock()
  const port = await freePort()
  const base = `http://localhost:${port}`
  const cognito = await startCognito(t, {
    now: () => clock.now(),
    clients: [
      {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        callbackUrls: [`${base}/account/auth/callback`],
        logoutUrls: [`${base}/account/bye`],
        allowedScopes: ['openid', 'email', 'profile'],
        allowedOAuthFlows: ['code'],
      },
    ],
  })

  const app = Fastify()
  const store = new MemorySessionStore({ now: () => clock.now() })
  // The host's own error answers (set before the routes it covers are registered): JSON, with what the component says its errors mean.
  app.setErrorHandler((error, _request, reply) => {
    const described = app.cognito.describeError(error)
    return reply.code(described?.statusCode ?? 500).send({ error: described?.title ?? 'error' })
  })
  await app.register(sessionPlugin, { secret: SECRET, secureCookies: false, idleTimeoutMs: 86_400_000, maxAgeMs: 7 * 86_400_000, store, clock })
  await app.register(cognitoAuth, {
    issuer: cognito.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseUrl: base,
    secret: SECRET,
    prefix: '/account',
    paths: { signedOut: '/account/bye', afterSignIn: '/account/me' },
    clock,
    onForbidden: (_request, reply, { user, groups }) => reply.send({ forbidden: true, sub: user.sub, needs: groups }),
  })
  await app.register(async (scope) => {
    scope.addHook('onRequest', scope.requireUser)
    scope.get('/account/me', async (request) => ({ username: request.session.user?.username, groups: request.session.user?.groups }))
    scope.get('/account/admin', { onRequest: scope.requireGroup('admin') }, async () => ({ admin: true }))
  })
  app.get('/account/bye', async () => ({ signedOut: true }))
  app.get('/account/csrf', async (request, reply) => ({ token: request.session.user ? app.sessionCsrfToken(request, reply) : null }))
  t.teardown(() => app.close())
  await app.listen({ port, host: '127.0.0.1' })
  return { app, base, cognito, clock }
}

async function signInAs(second: SecondApp, browser: Browser, username: string, password: string): Promise<Response> {
  const toForm = await browser.navigate(`${second.base}/account/me`)
  t.ok(toForm.url.startsWith(second.cognito.origin), 'an anonymous visit is sent to the hosted sign-in page')
  t.equal(toForm.hops[0]?.location, `/account/login?returnTo=${encodeURIComponent('/account/me')}`, 'through the component’s own login path')
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username, password })
  return (await browser.follow(submitted, form.action)).response
}

t.test('a second app registers only the session and sign-in plugins, under /account, and signs people in', async (t) => {
  const second = await startSecondApp(t)
  const auth: CognitoAuth = second.app.cognito
  t.equal(auth.redirectUri, `${second.base}/account/auth/callback`, 'the callback under the prefix')
  t.equal(auth.postLogoutRedirectUri, `${second.base}/account/bye`)
  t.notOk(second.app.hasRoute({ method: 'GET', url: '/login' }), 'nothing at the default paths')

  const browser = new Browser()
  const me = await signInAs(second, browser, 'demo', 'Demo-passw0rd')
  t.equal(me.status, 200)
  t.same(await me.json(), { username: 'demo', groups: ['admin'] }, 'signed in and back on the page asked for')
  const callback = second.cognito.requests.find((r) => r.path.endsWith('/oauth2/authorize'))
  t.ok(callback, 'the authorize request reached the local Cognito')

  // The access token expires (an hour later): the next page view refreshes it at Cognito, once.
  const refreshesBefore = second.cognito.requests.filter((r) => r.path.endsWith('/oauth2/token')).length
  second.clock.advance(3_600_000 + 1000)
  const later = await browser.get(`${second.base}/account/me`)
  t.equal(later.status, 200, 'still signed in after the access token expired')
  t.same(await later.json(), { username: 'demo', groups: ['admin'] })
  const refreshesAfter = second.cognito.requests.filter((r) => r.path.endsWith('/oauth2/token')).length
  t.equal(refreshesAfter, refreshesBefore + 1, 'one refresh grant')
  t.equal((await browser.get(`${second.base}/account/me`)).status, 200)
  t.equal(second.cognito.requests.filter((r) => r.path.endsWith('/oauth2/token')).length, refreshesAfter, 'fresh again: no more calls')

  const admin = await browser.get(`${second.base}/account/admin`)
  t.equal(admin.status, 200, 'demo is in admin')

  // Sign-out: the component's POST with the session's CSRF token, then Cognito's /logout back to /account/bye.
  const { token } = (await (await browser.get(`${second.base}/account/csrf`)).json()) as { token: string }
  const out = await browser.post(`${second.base}/account/logout`, { _csrf: token })
  t.equal(out.status, 303)
  const logout = new URL(out.headers.get('location') ?? '')
  t.equal(logout.origin, second.cognito.origin)
  t.equal(logout.searchParams.get('logout_uri'), `${second.base}/account/bye`)
  const bye = await browser.follow(out, `${second.base}/account/logout`)
  t.same(await bye.response.json(), { signedOut: true })
  const after = await browser.get(`${second.base}/account/me`)
  t.equal(after.status, 302, 'signed out: sent to sign in again')
})

t.test('the second app answers a missing group with its own 403, and a refused sign-in with its own error', async (t) => {
  const second = await startSecondApp(t)
  const browser = new Browser()
  const me = await signInAs(second, browser, 'reader', 'Reader-passw0rd')
  t.same(await me.json(), { username: 'reader', groups: [] })
  const admin = await browser.get(`${second.base}/account/admin`)
  t.equal(admin.status, 403)
  const body = (await admin.json()) as { forbidden: boolean; needs: string[] }
  t.same({ forbidden: body.forbidden, needs: body.needs }, { forbidden: true, needs: ['admin'] }, 'the host’s onForbidden answered')

  const stale = await new Browser().get(`${second.base}/account/auth/callback?code=x&state=y`)
  t.equal(stale.status, 400)
  t.same(await stale.json(), { error: 'Your sign-in attempt has expired' }, 'the component’s error, in the host’s own format')
})

t.test('registered wrongly, the component says what is missing', async (t) => {
  const pool = { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz', clientId: 'c', clientSecret: 's', baseUrl: 'https://app.example.com', secret: SECRET }
  const store = new MemorySessionStore({ sweepIntervalMs: 0 })
  const withSessions = async (): Promise<FastifyInstance> => {
    const app = Fastify()
    await app.register(sessionPlugin, { secret: SECRET, secureCookies: false, idleTimeoutMs: 60_000, maxAgeMs: 120_000, store })
    return app
  }
  const alone = Fastify()
  alone.register(cognitoAuth, pool)
  await t.rejects(async () => { await alone.ready() }, /cognito-session/, 'without the session plugin: its name in the error')
  const noSecret = await withSessions()
  noSecret.register(cognitoAuth, { ...pool, clientSecret: '' })
  await t.rejects(async () => { await noSecret.ready() }, /the option "clientSecret" is required/)
  const shortSecret = await withSessions()
  shortSecret.register(cognitoAuth, { ...pool, secret: 'short' })
  await t.rejects(async () => { await shortSecret.ready() }, /"secret" must be at least 32 characters/)
  const right = await withSessions()
  right.register(cognitoAuth, pool)
  await t.resolves(async () => { await right.ready() }, 'with the session plugin and the options it needs, it loads')
  t.ok(right.hasRoute({ method: 'GET', url: '/auth/callback' }), 'at its default paths')
  await right.close()
})
