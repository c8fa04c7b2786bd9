import t from 'tap'
import * as oidc from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { defaultLocalClient, startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { APP, CALLBACK, basic, codeParams, decodeJwt, obtainCode, token } from './helpers.js'

const client = defaultLocalClient(APP)
const secret = client.clientSecret ?? ''
const cognito = await startLocalCognito({ clients: [client] })
t.teardown(() => cognito.close())
const jwks = createRemoteJWKSet(new URL(`${cognito.issuer}/.well-known/jwks.json`))

async function tokens(scope = 'openid email', extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const code = await obtainCode(cognito, codeParams(client, { scope, ...extra }))
  const r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, secret))
  if (r.status !== 200) throw new Error(`token endpoint answered ${r.status}: ${r.text}`)
  return r.json
}
const idTokenOf = async (extra: Record<string, string> = {}): Promise<string> => String((await tokens('openid email', extra))['id_token'])

async function config(): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(cognito.issuer), client.clientId, secret, oidc.ClientSecretBasic(secret), { execute: [oidc.allowInsecureRequests] })
}

/** Run the openid-client code grant against whatever the emulator currently does. */
async function clientGrant(cfg: oidc.Configuration, nonce = oidc.randomNonce()): Promise<Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>> {
  const state = oidc.randomState()
  const code = await obtainCode(cognito, codeParams(client, { scope: 'openid email', state, nonce }))
  const callback = new URL(`${CALLBACK}?${new URLSearchParams({ code, state })}`)
  return oidc.authorizationCodeGrant(cfg, callback, { expectedState: state, expectedNonce: nonce })
}

t.test('all faults are off by default', async (t) => {
  t.same(cognito.faults, {})
  const id = await idTokenOf()
  await t.resolves(jwtVerify(id, jwks, { issuer: cognito.issuer, audience: client.clientId }))
})

t.test('idTokenSigning: unknown-key', async (t) => {
  cognito.faults.idTokenSigning = 'unknown-key'
  const id = await idTokenOf()
  const { header } = decodeJwt(id)
  t.equal(header['alg'], 'RS256')
  const served = ((await (await fetch(`${cognito.issuer}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)
  t.match(header['kid'], /^[A-Za-z0-9+/]{43}=$/)
  t.notOk(served.includes(String(header['kid'])), 'kid not in the JWKS')
  await t.rejects(jwtVerify(id, jwks, { issuer: cognito.issuer }), { code: 'ERR_JWKS_NO_MATCHING_KEY' })
  cognito.faults.idTokenSigning = undefined
  await t.resolves(jwtVerify(await idTokenOf(), jwks, { issuer: cognito.issuer }), 'back to normal')
})

t.test('idTokenSigning: none', async (t) => {
  cognito.faults.idTokenSigning = 'none'
  const id = await idTokenOf()
  t.same(decodeJwt(id).header, { alg: 'none' })
  t.equal(id.split('.')[2], '', 'empty signature')
  await t.rejects(clientGrant(await config()), { code: 'OAUTH_INVALID_RESPONSE' }, 'openid-client refuses alg none')
  cognito.faults.idTokenSigning = undefined
})

t.test('idTokenSigning: hs256-client-secret', async (t) => {
  cognito.faults.idTokenSigning = 'hs256-client-secret'
  const id = await idTokenOf()
  t.same(decodeJwt(id).header, { kid: decodeJwt(id).header['kid'], alg: 'HS256' })
  const { payload } = await jwtVerify(id, new TextEncoder().encode(secret), { algorithms: ['HS256'] })
  t.equal(payload.aud, client.clientId, 'HMAC with the client secret verifies')
  await t.rejects(clientGrant(await config()), { code: 'OAUTH_INVALID_RESPONSE' }, 'openid-client expects RS256')
  cognito.faults.idTokenSigning = undefined
})

t.test('idTokenClaims: overrides and removals', async (t) => {
  cognito.faults.idTokenClaims = { iss: 'https://evil.example.com/pool', aud: [client.clientId, 'other'], nonce: undefined, exp: 1 }
  const { payload } = decodeJwt(await idTokenOf({ nonce: 'n1' }))
  t.equal(payload['iss'], 'https://evil.example.com/pool')
  t.same(payload['aud'], [client.clientId, 'other'])
  t.notOk('nonce' in payload, 'undefined removes a claim')
  t.equal(payload['exp'], 1)
  t.equal(payload['sub'], '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13', 'other claims untouched')

  const cfg = await config()
  cognito.faults.idTokenClaims = { iss: 'https://evil.example.com/pool' }
  await t.rejects(clientGrant(cfg), { code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' }, 'wrong iss refused by openid-client')
  cognito.faults.idTokenClaims = { aud: 'someone-else' }
  await t.rejects(clientGrant(cfg), { code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' }, 'wrong aud refused')
  cognito.faults.idTokenClaims = { exp: Math.floor(Date.now() / 1000) - 3600 }
  await t.rejects(clientGrant(cfg), { code: 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' }, 'expired ID token refused')
  cognito.faults.idTokenClaims = { nonce: 'not-the-nonce' }
  await t.rejects(clientGrant(cfg), { code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' }, 'wrong nonce refused')
  cognito.faults.idTokenClaims = { iat: Math.floor(Date.now() / 1000) + 3600 }
  const future = decodeJwt(await idTokenOf()).payload
  t.ok(Number(future['iat']) > Date.now() / 1000 + 3000, 'iat in the future')
  cognito.faults.idTokenClaims = undefined
  await t.resolves(clientGrant(cfg), 'normal again')
})

t.test('omitKid', async (t) => {
  cognito.faults.omitKid = true
  const id = await idTokenOf()
  t.same(decodeJwt(id).header, { alg: 'RS256' })
  const access = decodeJwt(String((await tokens())['access_token'])).header
  t.ok(access['kid'], 'access tokens keep their kid')
  cognito.faults.omitKid = false
  t.same(Object.keys(decodeJwt(await idTokenOf()).header), ['kid', 'alg'])
})

t.test('userinfoSub', async (t) => {
  const cfg = await config()
  const result = await clientGrant(cfg)
  const sub = result.claims()?.sub ?? ''
  cognito.faults.userinfoSub = 'a-different-sub'
  const res = await new Browser().get(`${cognito.origin}/oauth2/userInfo`, { authorization: `Bearer ${result.access_token}` })
  t.equal(res.status, 200)
  t.equal(((await res.json()) as { sub: string }).sub, 'a-different-sub')
  await t.rejects(oidc.fetchUserInfo(cfg, result.access_token, sub), 'openid-client detects the sub mismatch')
  cognito.faults.userinfoSub = undefined
  const info = await oidc.fetchUserInfo(cfg, result.access_token, sub)
  t.equal(info.sub, sub)
})

t.test('tokenEndpoint: status / body / delay', async (t) => {
  const code = await obtainCode(cognito, codeParams(client))
  cognito.faults.tokenEndpoint = { status: 500, body: '<html>boom</html>' }
  let r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, secret))
  t.equal(r.status, 500)
  t.equal(r.text, '<html>boom</html>')
  cognito.faults.tokenEndpoint = { body: '{"access_token":' }
  r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, secret))
  t.equal(r.status, 200)
  t.equal(r.text, '{"access_token":', 'truncated JSON with 200')
  cognito.faults.tokenEndpoint = { delayMs: 100 }
  const started = Date.now()
  r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, secret))
  t.ok(Date.now() - started >= 95, 'delayed')
  t.equal(r.status, 200, 'then answered normally; the code was not consumed by the faults')
  cognito.faults.tokenEndpoint = { delayMs: 2000 }
  const controller = AbortSignal.timeout(200)
  await t.rejects(
    fetch(`${cognito.origin}/oauth2/token`, { method: 'POST', signal: controller, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=x' }),
    'a client timeout fires before the answer',
  )
  cognito.faults.tokenEndpoint = undefined
})

t.test('unavailable: every endpoint answers 503', async (t) => {
  cognito.faults.unavailable = true
  for (const url of [
    `${cognito.issuer}/.well-known/openid-configuration`,
    `${cognito.issuer}/.well-known/jwks.json`,
    `${cognito.origin}/oauth2/authorize?${new URLSearchParams(codeParams(client))}`,
    `${cognito.origin}/login`,
    `${cognito.origin}/oauth2/userInfo`,
  ]) {
    const res = await new Browser().get(url)
    t.equal(res.status, 503, url)
  }
  const r = await token(cognito, { grant_type: 'client_credentials' }, basic(client.clientId, secret))
  t.equal(r.status, 503)
  await t.rejects(config(), 'discovery fails')
  cognito.faults.unavailable = false
  await t.resolves(config(), 'recovers when switched off')
})

t.test('the faults object can be replaced wholesale', async (t) => {
  cognito.faults = { omitKid: true }
  t.same(decodeJwt(await idTokenOf()).header, { alg: 'RS256' })
  cognito.faults = {}
  t.ok(decodeJwt(await idTokenOf()).header['kid'])
})
