/** The Bearer verifier on its own, against a real local Cognito: the checks the HTTP tests cannot isolate. */
import t from 'tap'
import { BearerError, BearerVerifier, bearerChallenge, bearerTokenOf } from '../../src/auth/bearer.js'
import { startCognito } from '../helpers/stack.js'
import { clientCredentialsToken, machineClient } from '../api/helpers.js'
import { systemClock } from '../../src/lib/clock.js'
import { JwksCache } from '../../src/auth/jwks.js'
import type { LocalCognito } from '../../src/local-cognito/index.js'

const ROBOT = machineClient('robot0machine0client00001')

/** The pool's keys as the app keeps them (the one JWKS cache). */
function keysOf(cognito: LocalCognito): JwksCache {
  return new JwksCache({ jwksUri: () => `${cognito.issuer}/.well-known/jwks.json`, timeoutMs: 2000, allowInsecureRequests: true, clock: systemClock })
}

async function refusal(promise: Promise<unknown>): Promise<BearerError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof BearerError) return error
    throw error
  }
  throw new Error('expected a refusal')
}

t.test('iss must be the configured issuer, even with a signature that verifies', async (t) => {
  const cognito = await startCognito(t, { clients: [ROBOT] })
  const token = await clientCredentialsToken(cognito, ROBOT)
  const options = {
    allowedClientIds: [ROBOT.clientId],
    jwks: keysOf(cognito),
    clock: systemClock,
  }
  const right = new BearerVerifier({ ...options, issuer: cognito.issuer })
  const principal = await right.verify(token)
  t.same(principal, { sub: ROBOT.clientId, username: null, clientId: ROBOT.clientId, scopes: ['myapi/read', 'myapi/write'], groups: [] })

  const wrong = new BearerVerifier({ ...options, issuer: `${cognito.origin}/us-east-1_SomeOtherPool` })
  const error = await refusal(wrong.verify(token))
  t.equal(error.code, 'invalid_token')
  t.equal(error.status, 401)
  t.match(error.description, /not issued by this user pool/)
  t.notOk(error.message.includes(token), 'the message never carries the token')
})

t.test('an empty allow-list accepts nobody', async (t) => {
  const cognito = await startCognito(t, { clients: [ROBOT] })
  const token = await clientCredentialsToken(cognito, ROBOT)
  const verifier = new BearerVerifier({
    issuer: cognito.issuer,
    allowedClientIds: [],
    jwks: keysOf(cognito),
    clock: systemClock,
  })
  t.equal((await refusal(verifier.verify(token))).code, 'invalid_token')
})

t.test('JWKS that does not answer in time: temporarily unavailable', async (t) => {
  const cognito = await startCognito(t, { clients: [ROBOT] })
  const token = await clientCredentialsToken(cognito, ROBOT)
  cognito.faults.unavailable = true
  const verifier = new BearerVerifier({
    issuer: cognito.issuer,
    allowedClientIds: [ROBOT.clientId],
    jwks: keysOf(cognito),
    clock: systemClock,
  })
  const error = await refusal(verifier.verify(token))
  t.equal(error.status, 503)
  t.equal(error.code, 'temporarily_unavailable')
})

t.test('the Authorization header parser', async (t) => {
  t.equal(bearerTokenOf(undefined), undefined)
  t.equal(bearerTokenOf('Basic abc'), undefined, 'another scheme is not a Bearer credential')
  t.equal(bearerTokenOf('Bearer abc.def.ghi'), 'abc.def.ghi')
  t.equal(bearerTokenOf('bearer   abc.def.ghi  '), 'abc.def.ghi', 'the scheme is case-insensitive')
  for (const header of ['Bearer', 'Bearer a b', 'Bearer a,b', 'Bearer "x"']) {
    t.throws(() => bearerTokenOf(header), { code: 'invalid_request', status: 400 }, header)
  }
})

t.test('the WWW-Authenticate challenge', async (t) => {
  t.equal(bearerChallenge(), 'Bearer')
  t.equal(
    bearerChallenge(new BearerError('insufficient_scope', 403, 'needs "x"', 'x')),
    'Bearer error="insufficient_scope", error_description="needs x", scope="x"',
    'quotes cannot break out of the quoted string',
  )
})
