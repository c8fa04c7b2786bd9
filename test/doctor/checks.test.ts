/** runDoctor against a real local Cognito: configured right, and wrong in each way it can tell. */
import t from 'tap'
import { loadPoolConfig } from '../../src/config/index.js'
import { allPassed, runDoctor } from '../../src/doctor/checks.js'
import { formatReport } from '../../src/doctor/report.js'
import { freePort, startCognito } from '../helpers/stack.js'
import {
  CALLBACK,
  RIGHT_CLIENT,
  SIGNED_OUT,
  assertOutcomes,
  client,
  configFor,
  resultOf,
  rewritingDiscovery,
} from './helpers.js'

const NO_CALLBACK = client('doctor0no0callback0000001', { callbackUrls: ['http://localhost:3000/other/callback'] })
const NO_SIGN_OUT = client('doctor0no0signout00000001', { logoutUrls: ['http://localhost:3000/bye'] })
const NO_CODE_GRANT = client('doctor0no0codegrant000001', { allowedOAuthFlows: ['client_credentials'], allowedScopes: ['api/read'] })

const cognito = await startCognito(t, { clients: [RIGHT_CLIENT, NO_CALLBACK, NO_SIGN_OUT, NO_CODE_GRANT] })

t.test('configured right: every check passes', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT)
  const results = await runDoctor(config)
  assertOutcomes(t, results, {})
  t.ok(allPassed(results))
  for (const result of results) t.equal(result.fix, undefined, `${result.id} has no fix`)

  // No one was signed in and no code was issued: only the probes the doctor makes.
  t.equal(cognito.countGrants('authorization_code'), 0, 'no token was issued')
  const report = formatReport(config, results)
  t.match(report, /✓ The callback URL is registered on the app client/)
  t.match(report, /All 10 checks passed\./)
  t.notOk(report.includes(RIGHT_CLIENT.clientSecret ?? '?'), 'the secret is not printed')
})

t.test('an issuer with another pool id: discovery 404, everything else not checked', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT, { COGNITO_ISSUER: `${cognito.origin}/us-east-1_NotThisPool` })
  const results = await runDoctor(config)
  const skipped = { issuer: 'skip', jwks: 'skip', domain: 'skip', revocation: 'skip', callback: 'skip', 'code-grant': 'skip', scopes: 'skip', logout: 'skip', 'client-secret': 'skip' } as const
  assertOutcomes(t, results, { discovery: 'fail', ...skipped })
  const discovery = resultOf(results, 'discovery')
  t.match(discovery.detail, /HTTP 404/)
  t.match(discovery.fix, /no user pool at this issuer: check the pool id and its region in COGNITO_USER_POOL_ID \(or COGNITO_ISSUER\)/)
  t.notOk(allPassed(results))
})

t.test('discovery naming another issuer than the configured one', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT)
  const other = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Elsewhere1'
  const sentSecret: string[] = []
  const rewriting = rewritingDiscovery((doc) => ({ ...doc, issuer: other }))
  const recording: typeof fetch = (input, init) => {
    if (new Headers(init?.headers).has('authorization')) sentSecret.push(String(input))
    return rewriting(input, init)
  }
  const results = await runDoctor(config, { fetch: recording })
  assertOutcomes(t, results, { issuer: 'fail', 'client-secret': 'skip' })
  t.same(sentSecret, [], 'the client secret is sent to no endpoint of an unverified discovery document')
  t.match(resultOf(results, 'client-secret').detail, /the client secret is sent only to that pool/)
  const issuer = resultOf(results, 'issuer')
  t.match(issuer.detail, other)
  t.match(issuer.fix, `so that the issuer is exactly ${other}`)
})

t.test('a pool without a domain (endpoints on the issuer host)', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT)
  const noDomain = rewritingDiscovery((doc) => {
    const issuer = String(doc.issuer)
    return {
      ...doc,
      authorization_endpoint: `${issuer}/authorize`,
      end_session_endpoint: `${issuer}/logout`,
      revocation_endpoint: `${issuer}/revoke`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userInfo`,
    }
  })
  const results = await runDoctor(config, { fetch: noDomain })
  assertOutcomes(t, results, {
    domain: 'fail',
    revocation: 'skip',
    callback: 'skip',
    'code-grant': 'skip',
    scopes: 'skip',
    logout: 'skip',
    'client-secret': 'skip',
  })
  t.match(resultOf(results, 'domain').fix, /Give the user pool a domain/)
})

t.test('an older discovery document without revocation_endpoint', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT)
  const older = rewritingDiscovery(({ revocation_endpoint: _r, end_session_endpoint: _e, ...doc }) => doc)
  const results = await runDoctor(config, { fetch: older })
  assertOutcomes(t, results, { revocation: 'fail' })
  t.match(resultOf(results, 'revocation').fix, /Enable token revocation/)
  t.match(resultOf(results, 'logout').detail, SIGNED_OUT, 'the logout URL falls back to the domain, and is registered')
})

t.test('the callback URL is not registered on the app client', async (t) => {
  const config = configFor(cognito, NO_CALLBACK)
  const results = await runDoctor(config)
  assertOutcomes(t, results, { callback: 'fail', 'code-grant': 'skip', scopes: 'skip' })
  const callback = resultOf(results, 'callback')
  t.match(callback.detail, /error=redirect_mismatch/)
  t.match(callback.fix, `add ${CALLBACK} to Allowed callback URLs`)
})

t.test('the sign-out URL is not registered on the app client', async (t) => {
  const config = configFor(cognito, NO_SIGN_OUT)
  const results = await runDoctor(config)
  assertOutcomes(t, results, { logout: 'fail' })
  const logout = resultOf(results, 'logout')
  t.match(logout.detail, /HTTP 400/)
  t.match(logout.fix, `add ${SIGNED_OUT} to Allowed sign-out URLs`)
})

t.test('the wrong client secret', async (t) => {
  const wrongSecret = 'not-the-secret-0123456789abcdefghijklmnopqrstuv'
  const config = configFor(cognito, RIGHT_CLIENT, { COGNITO_CLIENT_SECRET: wrongSecret })
  const results = await runDoctor(config)
  assertOutcomes(t, results, { 'client-secret': 'fail' })
  const secret = resultOf(results, 'client-secret')
  t.match(secret.detail, /invalid_client/)
  t.match(secret.fix, /COGNITO_CLIENT_SECRET is not this app client's secret/)
  const everything = JSON.stringify(results) + formatReport(config, results)
  t.notOk(everything.includes(wrongSecret), 'the configured secret appears nowhere')
})

t.test('a scope the pool does not know', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT, { COGNITO_SCOPES: 'openid bogus/scope' })
  const results = await runDoctor(config)
  assertOutcomes(t, results, { scopes: 'fail' })
  const scopes = resultOf(results, 'scopes')
  t.match(scopes.detail, /error=invalid_scope/)
  t.match(scopes.fix, /Check COGNITO_SCOPES/)
})

t.test('an app client without the authorization code grant', async (t) => {
  const config = configFor(cognito, NO_CODE_GRANT)
  const results = await runDoctor(config)
  assertOutcomes(t, results, { 'code-grant': 'fail', scopes: 'skip' })
  const grant = resultOf(results, 'code-grant')
  t.match(grant.detail, /error=unauthorized_client/)
  t.match(grant.fix, /Authorization code grant/)
})

t.test('an unknown client id', async (t) => {
  const config = configFor(cognito, client('doctor0unknown0client00001'))
  const results = await runDoctor(config)
  assertOutcomes(t, results, { callback: 'fail', 'code-grant': 'skip', scopes: 'skip', logout: 'fail', 'client-secret': 'fail' })
  t.match(resultOf(results, 'callback').fix, /Check COGNITO_CLIENT_ID/)
  t.match(resultOf(results, 'client-secret').fix, /COGNITO_CLIENT_ID is not a client of this pool/)
})

t.test('Cognito unreachable (a closed port)', async (t) => {
  const port = await freePort()
  const config = loadPoolConfig({
    NODE_ENV: 'test',
    COGNITO_ISSUER: `http://127.0.0.1:${port}/us-east-1_LocalPool1`,
    COGNITO_CLIENT_ID: RIGHT_CLIENT.clientId,
    COGNITO_CLIENT_SECRET: RIGHT_CLIENT.clientSecret,
    COGNITO_TIMEOUT: '2s',
  })
  const results = await runDoctor(config)
  const skipped = { issuer: 'skip', jwks: 'skip', domain: 'skip', revocation: 'skip', callback: 'skip', 'code-grant': 'skip', scopes: 'skip', logout: 'skip', 'client-secret': 'skip' } as const
  assertOutcomes(t, results, { discovery: 'fail', ...skipped })
  const discovery = resultOf(results, 'discovery')
  t.match(discovery.detail, /could not connect \(ECONNREFUSED\)/)
  t.match(discovery.fix, `this machine can reach 127.0.0.1:${port}`)
  t.equal(resultOf(results, 'jwks').detail, 'needs the discovery document')
})

t.test('the client secret goes only over https: a token endpoint on plain http elsewhere is not sent it', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT)
  const sentTo: string[] = []
  const rewriting = rewritingDiscovery((doc) => ({ ...doc, token_endpoint: 'http://auth.example.com/oauth2/token' }))
  const recording: typeof fetch = (input, init) => {
    if (new Headers(init?.headers).has('authorization')) sentTo.push(String(input))
    return rewriting(input, init)
  }
  const results = await runDoctor(config, { fetch: recording })
  const secret = resultOf(results, 'client-secret')
  t.equal(secret.status, 'skip')
  t.match(secret.detail, /http:\/\/auth\.example\.com is not https: the client secret is not sent there/)
  t.same(sentTo, [], 'no request carried the secret')
  t.notOk(allPassed(results))
})

t.test('an endless answer is not read: every answer is capped', async (t) => {
  const config = configFor(cognito, RIGHT_CLIENT)
  const huge: typeof fetch = async (input, init) => {
    if (String(input).endsWith('/.well-known/openid-configuration')) {
      return new Response(new ReadableStream({ pull: (controller) => controller.enqueue(new Uint8Array(64 * 1024).fill(32)) }), { status: 200 })
    }
    return fetch(input, init)
  }
  const results = await runDoctor(config, { fetch: huge })
  const discovery = resultOf(results, 'discovery')
  t.equal(discovery.status, 'fail')
  t.match(discovery.detail, /the answer is larger than 256 KiB/)
})
