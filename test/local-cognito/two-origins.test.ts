/**
 * The issuer on an origin of its own, as in production (cognito-idp.<region>.amazonaws.com beside the
 * pool's domain): discovery names the domain's endpoints, each origin answers only its own paths, and
 * the app signs in, refreshes and signs out across the two.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { freePort, signIn, startStack } from '../helpers/stack.js'

t.test('two origins: the issuer apart from the OAuth endpoints and pages; the app works across them', async (t) => {
  const stack = await startStack(t, { cognito: { issuerPort: 0 } })
  const { cognito } = stack
  t.not(cognito.issuerOrigin, cognito.origin, 'two origins')
  t.equal(cognito.issuer, `${cognito.issuerOrigin}/${cognito.userPoolId}`)

  const document = (await (await fetch(`${cognito.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>
  t.equal(document['issuer'], cognito.issuer)
  t.equal(document['jwks_uri'], `${cognito.issuer}/.well-known/jwks.json`, 'keys on the issuer\'s origin')
  for (const name of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'revocation_endpoint', 'end_session_endpoint']) {
    t.equal(new URL(document[name] as string).origin, cognito.origin, `${name} on the domain`)
  }

  // Each origin answers only its own paths: a URL built from the wrong one fails, as in production.
  t.equal((await fetch(`${cognito.issuerOrigin}/oauth2/authorize`)).status, 404, 'no sign-in pages on the issuer\'s origin')
  t.equal((await fetch(`${cognito.issuerOrigin}/oauth2/token`, { method: 'POST' })).status, 404, 'no token endpoint there')
  t.equal((await fetch(`${cognito.origin}/${cognito.userPoolId}/.well-known/jwks.json`)).status, 404, 'no keys on the domain')
  t.equal((await fetch(`${cognito.origin}/`, { method: 'POST' })).status, 404, 'no user pool API on the domain')

  const browser = new Browser()
  const result = await signIn(browser, stack)
  t.equal(result.response.status, 200, 'signed in')
  t.equal(new URL(result.url).pathname, '/logged-in')
  stack.clock.advance(3_600_000 - 30_000) // within the refresh margin of the hour-long access token
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'refreshed across the two origins')
  t.equal(cognito.countGrants('refresh_token'), 1)
})

t.test('a busy issuer port is an error, not a move', async (t) => {
  const { createServer } = await import('node:net')
  const blocker = createServer().listen(await freePort(), '127.0.0.1')
  t.teardown(() => void blocker.close())
  await new Promise((resolve) => blocker.once('listening', resolve))
  const { startLocalCognito } = await import('../../src/local-cognito/index.js')
  await t.rejects(startLocalCognito({ issuerPort: (blocker.address() as { port: number }).port }), { code: 'EADDRINUSE' })
})
