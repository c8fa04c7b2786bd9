import t from 'tap'
import { defaultLocalClient, DEMO_USERS, startLocalCognito } from '../../src/local-cognito/index.js'
import { APP, decodeJwt, obtainCode, codeParams, token, basic } from './helpers.js'

const client = defaultLocalClient(APP)
const cognito = await startLocalCognito({ clients: [client] })
t.teardown(() => cognito.close())

t.test('identifiers and defaults', async (t) => {
  t.equal(cognito.userPoolId, 'us-east-1_LocalPool1')
  t.match(cognito.origin, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal(cognito.issuer, `${cognito.origin}/us-east-1_LocalPool1`)
  t.match(client.clientId, /^[a-z0-9]{26}$/)
  t.ok(client.clientSecret && client.clientSecret.length >= 40)
  t.same(client.callbackUrls, [`${APP}/auth/callback`])
  t.same(client.logoutUrls, [`${APP}/logged-out`])
  t.same(client.allowedOAuthFlows, ['code'])
  t.same(client.allowedScopes, ['openid', 'email', 'profile', 'phone', 'aws.cognito.signin.user.admin'])
  t.same(defaultLocalClient(`${APP}/`).callbackUrls, [`${APP}/auth/callback`], 'trailing slash of the base URL is ignored')
  t.same(DEMO_USERS.map((u) => [u.username, u.password]), [['demo', 'Demo-passw0rd'], ['reader', 'Reader-passw0rd'], ['mfa', 'Mfa-passw0rd']])
  t.ok(DEMO_USERS.every((u) => u.description.length > 0))
})

t.test('discovery document: shape 1a with this origin, alphabetical keys', async (t) => {
  const res = await fetch(`${cognito.issuer}/.well-known/openid-configuration`)
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'application/json;charset=UTF-8')
  const doc = (await res.json()) as Record<string, unknown>
  const o = cognito.origin
  t.same(doc, {
    authorization_endpoint: `${o}/oauth2/authorize`,
    end_session_endpoint: `${o}/logout`,
    id_token_signing_alg_values_supported: ['RS256'],
    issuer: cognito.issuer,
    jwks_uri: `${cognito.issuer}/.well-known/jwks.json`,
    response_types_supported: ['code', 'token'],
    revocation_endpoint: `${o}/oauth2/revoke`,
    scopes_supported: ['openid', 'email', 'phone', 'profile'],
    subject_types_supported: ['public'],
    token_endpoint: `${o}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    userinfo_endpoint: `${o}/oauth2/userInfo`,
  })
  const keys = Object.keys(doc)
  t.same(keys, [...keys].sort(), 'keys in alphabetical order')
  t.notOk('code_challenge_methods_supported' in doc)
})

t.test('JWKS: two RSA-2048 keys with 44-char base64 kids; tokens use different kids', async (t) => {
  const res = await fetch(`${cognito.issuer}/.well-known/jwks.json`)
  t.equal(res.status, 200)
  const { keys } = (await res.json()) as { keys: Array<Record<string, string>> }
  t.equal(keys.length, 2)
  for (const k of keys) {
    t.same(Object.keys(k), ['alg', 'e', 'kid', 'kty', 'n', 'use'])
    t.equal(k['alg'], 'RS256')
    t.equal(k['kty'], 'RSA')
    t.equal(k['use'], 'sig')
    t.equal(k['e'], 'AQAB')
    t.match(k['kid'], /^[A-Za-z0-9+/]{43}=$/)
    t.equal(k['n']?.length, 342, '2048-bit modulus')
  }
  t.not(keys[0]?.['kid'], keys[1]?.['kid'])

  const code = await obtainCode(cognito, codeParams(client, { scope: 'openid' }))
  const r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: client.callbackUrls[0] ?? '' }, basic(client.clientId, client.clientSecret ?? ''))
  t.equal(r.status, 200)
  const id = decodeJwt(String(r.json['id_token']))
  const access = decodeJwt(String(r.json['access_token']))
  t.same(Object.keys(id.header), ['kid', 'alg'], 'header is exactly {kid, alg}')
  t.same(Object.keys(access.header), ['kid', 'alg'])
  t.equal(id.header['alg'], 'RS256')
  t.equal(id.header['kid'], keys[0]?.['kid'], 'ID tokens signed with the first key')
  t.equal(access.header['kid'], keys[1]?.['kid'], 'access tokens with the second')
})

t.test('rotateKeys: JWKS serves only new kids and new tokens use them', async (t) => {
  const before = ((await (await fetch(`${cognito.issuer}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)
  await cognito.rotateKeys()
  const after = ((await (await fetch(`${cognito.issuer}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)
  t.equal(after.length, 2)
  t.notOk(after.some((k) => before.includes(k)), 'no old kid left')
  const code = await obtainCode(cognito, codeParams(client, { scope: 'openid' }))
  const r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: client.callbackUrls[0] ?? '' }, basic(client.clientId, client.clientSecret ?? ''))
  t.equal(decodeJwt(String(r.json['id_token'])).header['kid'], after[0])
  t.equal(decodeJwt(String(r.json['access_token'])).header['kid'], after[1])
})

t.test('custom pool id and region', async (t) => {
  const other = await startLocalCognito({ region: 'eu-west-1', users: [] })
  t.teardown(() => other.close())
  t.equal(other.userPoolId, 'eu-west-1_LocalPool1')
  const res = await fetch(`${other.issuer}/.well-known/openid-configuration`)
  t.equal(((await res.json()) as { issuer: string }).issuer, `${other.origin}/eu-west-1_LocalPool1`)
  const wrong = await fetch(`${other.origin}/us-east-1_LocalPool1/.well-known/openid-configuration`)
  t.equal(wrong.status, 404)
})
