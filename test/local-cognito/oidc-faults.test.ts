/** The local Cognito's faults for the OIDC catalogue: a discovery document changed on its way, an ID token whose signature does not verify. */
import { createRemoteJWKSet, jwtVerify } from 'jose'
import t from 'tap'
import { defaultLocalClient, startLocalCognito } from '../../src/local-cognito/index.js'
import { APP, CALLBACK, basic, codeParams, decodeJwt, obtainCode, token } from './helpers.js'

const client = defaultLocalClient(APP)
const secret = client.clientSecret ?? ''
const cognito = await startLocalCognito({ clients: [client] })
t.teardown(() => cognito.close())
const discoveryUrl = `${cognito.issuer}/.well-known/openid-configuration`
const discovery = async (): Promise<Record<string, unknown>> => (await (await fetch(discoveryUrl)).json()) as Record<string, unknown>

async function idToken(): Promise<string> {
  const code = await obtainCode(cognito, codeParams(client, { scope: 'openid email' }))
  const r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, secret))
  if (r.status !== 200) throw new Error(`token endpoint answered ${r.status}: ${r.text}`)
  return String(r.json['id_token'])
}

t.test('discovery: by default Cognito’s shape, without authorization_response_iss_parameter_supported', async (t) => {
  const doc = await discovery()
  t.equal(doc['issuer'], cognito.issuer)
  t.notOk('authorization_response_iss_parameter_supported' in doc, 'Cognito does not advertise RFC 9207')
  t.same(Object.keys(doc), Object.keys(doc).sort(), 'keys in alphabetical order')
})

t.test('discovery fault: fields changed, added and removed; off again restores the document', async (t) => {
  cognito.faults = {
    discovery: { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Elsewhere1', authorization_response_iss_parameter_supported: true, end_session_endpoint: undefined },
  }
  const doc = await discovery()
  t.equal(doc['issuer'], 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Elsewhere1')
  t.equal(doc['authorization_response_iss_parameter_supported'], true)
  t.notOk('end_session_endpoint' in doc, 'undefined removes a field')
  t.equal(doc['token_endpoint'], `${cognito.origin}/oauth2/token`, 'other fields untouched')
  cognito.faults = {}
  const restored = await discovery()
  t.equal(restored['issuer'], cognito.issuer)
  t.equal(restored['end_session_endpoint'], `${cognito.origin}/logout`)
  t.notOk('authorization_response_iss_parameter_supported' in restored)
})

t.test('idTokenSigning: bad-signature keeps the pool’s kid and alg, and does not verify', async (t) => {
  const jwks = createRemoteJWKSet(new URL(`${cognito.issuer}/.well-known/jwks.json`))
  cognito.faults = { idTokenSigning: 'bad-signature' }
  const bad = await idToken()
  cognito.faults = {}
  const good = await idToken()
  t.same(decodeJwt(bad).header, decodeJwt(good).header, 'same header: the ID key’s kid, RS256')
  t.equal(bad.split('.')[2]?.length, good.split('.')[2]?.length, 'a signature of the right length')
  await t.rejects(jwtVerify(bad, jwks, { issuer: cognito.issuer }), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' })
  await t.resolves(jwtVerify(good, jwks, { issuer: cognito.issuer }), 'back to normal')
})

t.test('jwks: id-key-only serves the ID token’s key alone, with or without its kid', async (t) => {
  const jwksUrl = `${cognito.issuer}/.well-known/jwks.json`
  const keys = async () => ((await (await fetch(jwksUrl)).json()) as { keys: Array<Record<string, unknown>> }).keys
  const both = await keys()
  t.equal(both.length, 2, 'by default the ID and the access keys')
  const idKid = decodeJwt(await idToken()).header['kid']
  cognito.faults = { jwks: 'id-key-only' }
  const one = await keys()
  t.same(one.map((k) => k['kid']), [idKid], 'only the ID token’s key')
  cognito.faults = { jwks: 'id-key-only-without-kid' }
  const bare = await keys()
  t.equal(bare.length, 1)
  t.notOk('kid' in (bare[0] ?? {}), 'without kid')
  t.equal(bare[0]?.['n'], one[0]?.['n'], 'the same key')
  cognito.faults = {}
  t.equal((await keys()).length, 2, 'back to normal')
})
