/** GET /api/me with Authorization: Bearer <Cognito access token>, against the real local Cognito. */
import { decodeJwt } from 'jose'
import t, { type Test } from 'tap'
import { jwksFetches, startCognito, startStack, type Stack } from '../helpers/stack.js'
import {
  API_SCOPE_READ,
  API_SCOPE_WRITE,
  algNone,
  appSessionTokens,
  bearer,
  callApi,
  clientCredentialsToken,
  codeFlowTokens,
  machineClient,
  tamperPayload,
  tamperSignature,
  webClient,
  type ApiAnswer,
} from './helpers.js'

const PARTNER = webClient('partner0web0client00000001')
const STRANGER = webClient('stranger0web0client000001')
const ROBOT = machineClient('robot0machine0client00001')
const INTRUDER = machineClient('intruder0machine0client01')
const READER = machineClient('reader0machine0client0001', [API_SCOPE_READ])
const WRITER = machineClient('writer0machine0client0001', [API_SCOPE_WRITE])

const allowedIds = [PARTNER, ROBOT, READER, WRITER].map((c) => c.clientId).join(',')

/** Asserts a refusal: JSON, no redirect, no-store, the RFC 6750 challenge, and the token not echoed. */
function assertRefused(t: Test, answer: ApiAnswer, status: number, error: string, token?: string): void {
  t.equal(answer.status, status, `HTTP ${status}`)
  t.match(answer.headers.get('content-type') ?? '', /^application\/json/, 'JSON')
  t.equal(answer.headers.get('location'), null, 'no redirect')
  t.equal(answer.headers.get('cache-control'), 'no-store')
  t.equal(answer.body.error, error)
  t.type(answer.body.error_description, 'string')
  const challenge = answer.headers.get('www-authenticate') ?? ''
  t.match(challenge, new RegExp(`^Bearer error="${error}", error_description="[^"]+"`))
  if (token) {
    const signature = token.split('.')[2] ?? token
    t.notOk(answer.text.includes(signature) || challenge.includes(signature), 'the token is not echoed')
  }
}

/** The stack with the extra clients (the app and its local Cognito on the stack's one clock). */
async function stackWithClients(t: Test, env: Record<string, string> = {}): Promise<Stack> {
  return startStack(t, {
    env: { API_ALLOWED_CLIENT_IDS: allowedIds, ...env },
    cognito: { clients: [PARTNER, STRANGER, ROBOT, INTRUDER, READER, WRITER] },
  })
}

t.test('an access token from the app’s own code flow', async (t) => {
  const stack = await stackWithClients(t)
  const { accessToken } = await appSessionTokens(stack)
  const me = await callApi(stack, bearer(accessToken))
  t.equal(me.status, 200)
  t.equal(me.headers.get('cache-control'), 'no-store')
  t.same(me.body, {
    sub: '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13',
    username: 'demo',
    email: null,
    emailVerified: null,
    name: null,
    groups: ['admin'],
    authenticatedBy: 'bearer',
    clientId: stack.clientId,
    scopes: ['openid', 'email', 'profile'],
  })
  t.notOk(stack.logs.join('\n').includes(accessToken), 'the token is not logged')
})

t.test('OIDC-26 another web client of the pool: accepted when allowed, refused otherwise', async (t) => {
  const stack = await stackWithClients(t)
  const partner = await codeFlowTokens(stack.cognito, PARTNER, { username: 'reader', password: 'Reader-passw0rd' })
  const ok = await callApi(stack, bearer(partner.accessToken))
  t.equal(ok.status, 200)
  t.equal(ok.body.username, 'reader')
  t.equal(ok.body.clientId, PARTNER.clientId)
  t.same(ok.body.groups, [])

  const stranger = await codeFlowTokens(stack.cognito, STRANGER)
  assertRefused(t, await callApi(stack, bearer(stranger.accessToken)), 401, 'invalid_token', stranger.accessToken)

  // The ID token of an allowed client is not an access token.
  const idAnswer = await callApi(stack, bearer(partner.idToken))
  assertRefused(t, idAnswer, 401, 'invalid_token', partner.idToken)
  t.match(idAnswer.body.error_description, /access token/i)
})

t.test('client-credentials tokens: an allowed machine client, and one that is not', async (t) => {
  const stack = await stackWithClients(t)
  const token = await clientCredentialsToken(stack.cognito, ROBOT, API_SCOPE_READ)
  const me = await callApi(stack, bearer(token))
  t.equal(me.status, 200)
  t.same(me.body, {
    sub: ROBOT.clientId,
    username: null,
    email: null,
    emailVerified: null,
    name: null,
    groups: [],
    authenticatedBy: 'bearer',
    clientId: ROBOT.clientId,
    scopes: [API_SCOPE_READ],
  })

  const intruder = await clientCredentialsToken(stack.cognito, INTRUDER)
  const refused = await callApi(stack, bearer(intruder))
  assertRefused(t, refused, 401, 'invalid_token', intruder)
  t.match(refused.body.error_description, /app client/)
})

t.test('API_REQUIRED_SCOPE: present passes, missing is 403 insufficient_scope', async (t) => {
  const stack = await stackWithClients(t, { API_REQUIRED_SCOPE: API_SCOPE_READ })
  const reader = await clientCredentialsToken(stack.cognito, READER)
  t.equal((await callApi(stack, bearer(reader))).status, 200)

  const writer = await clientCredentialsToken(stack.cognito, WRITER)
  const answer = await callApi(stack, bearer(writer))
  assertRefused(t, answer, 403, 'insufficient_scope', writer)
  t.match(answer.headers.get('www-authenticate') ?? '', /, scope="myapi\/read"$/)

  // A person's token from the app's own flow has no custom scope either.
  const { accessToken } = await appSessionTokens(stack)
  assertRefused(t, await callApi(stack, bearer(accessToken)), 403, 'insufficient_scope', accessToken)
})

t.test('expired, tampered, unsigned and garbage tokens: 401 invalid_token', async (t) => {
  const stack = await stackWithClients(t)
  const expiring = await clientCredentialsToken(stack.cognito, ROBOT)
  t.equal((await callApi(stack, bearer(expiring))).status, 200)
  const expiresAt = Number(decodeJwt(expiring).exp) * 1000
  t.ok(expiresAt - stack.clock.now() > 3_590_000, 'a token of the normal hour')

  stack.clock.advanceTo(expiresAt - 10_000)
  t.equal((await callApi(stack, bearer(expiring))).status, 200, '10 s before its exp: still accepted')
  // Past exp and the 5 s clock tolerance.
  stack.clock.advanceTo(expiresAt + 10_000)
  const expiredAnswer = await callApi(stack, bearer(expiring))
  assertRefused(t, expiredAnswer, 401, 'invalid_token', expiring)
  t.match(expiredAnswer.body.error_description, /expired/)

  // A token issued now (on the moved clock) for the tampering cases.
  const good = await clientCredentialsToken(stack.cognito, ROBOT)
  t.equal((await callApi(stack, bearer(good))).status, 200)

  const badSignature = tamperSignature(good)
  const sigAnswer = await callApi(stack, bearer(badSignature))
  assertRefused(t, sigAnswer, 401, 'invalid_token', badSignature)
  t.match(sigAnswer.body.error_description, /signature/)

  // Claims changed after signing (e.g. a longer life): the signature no longer matches.
  const extended = tamperPayload(good, { exp: Math.floor(stack.clock.now() / 1000) + 86_400 * 365 })
  assertRefused(t, await callApi(stack, bearer(extended)), 401, 'invalid_token', extended)

  const unsigned = algNone(good)
  const noneAnswer = await callApi(stack, bearer(unsigned))
  assertRefused(t, noneAnswer, 401, 'invalid_token')
  t.match(noneAnswer.body.error_description, /RS256/)

  for (const garbage of ['garbage', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', `${'x'.repeat(9000)}`]) {
    assertRefused(t, await callApi(stack, bearer(garbage)), 401, 'invalid_token')
  }
})

t.test('a token from another user pool (another emulator) is refused', async (t) => {
  const stack = await stackWithClients(t)
  const elsewhere = await startCognito(t, { userPoolId: 'us-east-1_OtherPool9', clients: [ROBOT] })
  const foreign = await clientCredentialsToken(elsewhere, ROBOT)
  const answer = await callApi(stack, bearer(foreign))
  assertRefused(t, answer, 401, 'invalid_token', foreign)
})

t.test('FLT-09 key rotation: a token signed with the new key verifies after one JWKS refetch', async (t) => {
  const stack = await stackWithClients(t, { API_JWKS_REFETCH_COOLDOWN: '0s' })
  const before = await clientCredentialsToken(stack.cognito, ROBOT)
  t.equal((await callApi(stack, bearer(before))).status, 200)
  t.equal((await callApi(stack, bearer(before))).status, 200)
  t.equal(jwksFetches(stack.cognito), 1, 'the key set is fetched once and cached')

  await stack.cognito.rotateKeys()
  const after = await clientCredentialsToken(stack.cognito, ROBOT)
  t.equal((await callApi(stack, bearer(after))).status, 200, 'the new key is found')
  t.equal(jwksFetches(stack.cognito), 2, 'the unknown kid caused one refetch')
  t.equal((await callApi(stack, bearer(after))).status, 200)
  t.equal(jwksFetches(stack.cognito), 2, 'then cached again')

  // The retired key is gone from the pool's JWKS: tokens it signed no longer verify.
  assertRefused(t, await callApi(stack, bearer(before)), 401, 'invalid_token', before)
})

t.test('unknown key ids do not hammer Cognito: one refetch per cooldown', async (t) => {
  const stack = await stackWithClients(t)
  const good = await clientCredentialsToken(stack.cognito, ROBOT)
  t.equal((await callApi(stack, bearer(good))).status, 200)
  const elsewhere = await startCognito(t, { clients: [ROBOT] })
  for (let i = 0; i < 5; i++) {
    const foreign = await clientCredentialsToken(elsewhere, ROBOT)
    assertRefused(t, await callApi(stack, bearer(foreign)), 401, 'invalid_token', foreign)
  }
  t.equal(jwksFetches(stack.cognito), 1, 'within the default 30 s cooldown nothing is refetched')
})

t.test('Cognito unreachable for the JWKS: 503 JSON, then fine again', async (t) => {
  const stack = await stackWithClients(t)
  const token = await clientCredentialsToken(stack.cognito, ROBOT)
  stack.cognito.faults.unavailable = true
  const answer = await callApi(stack, bearer(token))
  t.equal(answer.status, 503)
  t.match(answer.headers.get('content-type') ?? '', /^application\/json/)
  t.equal(answer.headers.get('location'), null)
  t.equal(answer.headers.get('cache-control'), 'no-store')
  t.equal(answer.body.error, 'temporarily_unavailable')
  t.notOk(answer.text.includes(token.split('.')[2] ?? ''), 'the token is not echoed')

  stack.cognito.faults.unavailable = false
  t.equal((await callApi(stack, bearer(token))).status, 200)
})

t.test('a closed Cognito port before the first JWKS fetch: 503', async (t) => {
  const stack = await stackWithClients(t)
  const token = await clientCredentialsToken(stack.cognito, ROBOT)
  await stack.cognito.close()
  const answer = await callApi(stack, bearer(token))
  t.equal(answer.status, 503)
  t.equal(answer.body.error, 'temporarily_unavailable')
})

t.test('FLT-10: while the JWKS cannot be fetched, known keys keep verifying; unknown ones fail; one try per cooldown', async (t) => {
  const stack = await stackWithClients(t)
  const token = await clientCredentialsToken(stack.cognito, ROBOT)
  t.equal((await callApi(stack, bearer(token))).status, 200)
  t.equal(jwksFetches(stack.cognito), 1)

  // Eleven minutes on (the key set is older than its 10 minutes; the token lives an hour), Cognito is down.
  stack.clock.advance(11 * 60_000)
  stack.cognito.faults.unavailable = true
  const fresh = await clientCredentialsToken(stack.cognito, ROBOT).catch(() => undefined)
  t.equal(fresh, undefined, 'Cognito is really down')
  for (let i = 0; i < 5; i++) t.equal((await callApi(stack, bearer(token))).status, 200, 'a known key still verifies')
  t.equal(jwksFetches(stack.cognito), 2, 'one try to fetch the keys again, not one per request')

  const elsewhere = await startCognito(t, { clients: [ROBOT] })
  const foreign = await clientCredentialsToken(elsewhere, ROBOT)
  const refused = await callApi(stack, bearer(foreign))
  t.ok(refused.status === 401 || refused.status === 503, `a token naming an unknown key fails (${refused.status})`)

  // Back up: after the cooldown the set is fetched again.
  stack.cognito.faults.unavailable = false
  stack.clock.advance(31_000)
  t.equal((await callApi(stack, bearer(token))).status, 200)
  t.equal(jwksFetches(stack.cognito), 3, 'fetched again once Cognito answers')
})
