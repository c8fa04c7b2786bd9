import t from 'tap'
import * as oidc from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { defaultLocalClient, startLocalCognito, type LocalCognitoClient } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { APP, CALLBACK, atHashOf, confidentialClient, decodeJwt, openForm } from './helpers.js'

const basicClient = defaultLocalClient(APP)
const postClient = confidentialClient('codeflow0post000000000001')
const rotating = confidentialClient('codeflow0rotate0000000001', { refreshTokenRotation: true })
const cognito = await startLocalCognito({ clients: [basicClient, postClient, rotating] })
t.teardown(() => cognito.close())

/** Everything secret seen during the run; `requests` must contain none of it. */
const secrets = new Set<string>(['Demo-passw0rd', 'Reader-passw0rd'])
for (const c of [basicClient, postClient, rotating]) if (c.clientSecret) secrets.add(c.clientSecret)

async function configFor(client: LocalCognitoClient, method: 'basic' | 'post'): Promise<oidc.Configuration> {
  const secret = client.clientSecret ?? ''
  const auth = method === 'basic' ? oidc.ClientSecretBasic(secret) : oidc.ClientSecretPost(secret)
  return oidc.discovery(new URL(cognito.issuer), client.clientId, secret, auth, { execute: [oidc.allowInsecureRequests] })
}

/** The OAuth `error` of a rejected openid-client call ('(resolved)' if it did not reject). */
async function oauthError(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return '(resolved)'
  } catch (e) {
    return String((e as { error?: unknown }).error)
  }
}

interface FlowResult {
  tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>
  nonce: string
  state: string
  callback: URL
}

async function fullFlow(config: oidc.Configuration, username: string, password: string, scope: string): Promise<FlowResult> {
  const verifier = oidc.randomPKCECodeVerifier()
  const challenge = await oidc.calculatePKCECodeChallenge(verifier)
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope, code_challenge: challenge, code_challenge_method: 'S256', state, nonce })
  const browser = new Browser()
  const form = await openForm(url, browser)
  const res = await browser.post(form.action, { _csrf: form.csrf, username, password })
  const callback = new URL(res.headers.get('location') ?? '')
  secrets.add(callback.searchParams.get('code') ?? '')
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })
  for (const v of [tokens.access_token, tokens.id_token, tokens.refresh_token]) if (v) secrets.add(v)
  return { tokens, nonce, state, callback }
}

t.test('full code flow, client_secret_basic: tokens and claims', async (t) => {
  cognito.resetRequests()
  const config = await configFor(basicClient, 'basic')
  const before = cognito.countGrants('authorization_code')
  const { tokens, nonce } = await fullFlow(config, 'demo', 'Demo-passw0rd', 'openid email profile')
  t.equal(cognito.countGrants('authorization_code'), before + 1)
  t.equal(tokens.token_type.toLowerCase(), 'bearer')
  t.equal(tokens.expires_in, 3600)
  t.ok(tokens.refresh_token)

  const tokenCall = cognito.requests.find((r) => r.path === '/oauth2/token')
  t.same(tokenCall, { method: 'POST', path: '/oauth2/token', query: {}, grantType: 'authorization_code', clientAuth: 'basic', status: 200 })

  const idToken = tokens.id_token ?? ''
  const claims = decodeJwt(idToken).payload
  t.same(Object.keys(claims), [
    'at_hash', 'sub', 'cognito:groups', 'email_verified', 'iss', 'cognito:username', 'nonce', 'origin_jti',
    'aud', 'event_id', 'token_use', 'auth_time', 'exp', 'iat', 'jti', 'email', 'name',
  ], 'Cognito claim order')
  t.equal(claims['at_hash'], atHashOf(tokens.access_token), 'at_hash matches the access token')
  t.equal(claims['sub'], '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13')
  t.same(claims['cognito:groups'], ['admin'])
  t.equal(claims['email_verified'], true, 'boolean in the ID token')
  t.equal(claims['iss'], cognito.issuer)
  t.equal(claims['cognito:username'], 'demo')
  t.equal(claims['nonce'], nonce)
  t.equal(claims['aud'], basicClient.clientId, 'aud is a string')
  t.equal(claims['token_use'], 'id')
  t.equal(claims['email'], 'demo@example.com')
  t.equal(claims['name'], 'Demo User')
  t.equal(Number(claims['exp']) - Number(claims['iat']), 3600)
  t.ok(Math.abs(Number(claims['iat']) - Date.now() / 1000) < 5)
  t.notOk('phone_number' in claims, 'phone not requested')

  const access = decodeJwt(tokens.access_token).payload
  t.same(Object.keys(access), [
    'sub', 'cognito:groups', 'iss', 'version', 'client_id', 'origin_jti', 'event_id', 'token_use', 'scope', 'auth_time', 'exp', 'iat', 'jti', 'username',
  ])
  t.notOk('aud' in access, 'no aud in the access token')
  t.equal(access['token_use'], 'access')
  t.equal(access['client_id'], basicClient.clientId)
  t.equal(access['version'], 2)
  t.equal(access['scope'], 'openid email profile')
  t.equal(access['username'], 'demo')
  t.equal(access['origin_jti'], claims['origin_jti'])
  t.equal(access['auth_time'], claims['auth_time'])
  t.not(access['jti'], claims['jti'])

  const refresh = tokens.refresh_token ?? ''
  const parts = refresh.split('.')
  t.equal(parts.length, 5, 'refresh token looks like a JWE')
  t.same(JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString()), { cty: 'JWT', enc: 'A256GCM', alg: 'RSA-OAEP' })
  t.match(refresh, /^eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ\./)

  const jwks = createRemoteJWKSet(new URL(`${cognito.issuer}/.well-known/jwks.json`))
  const verifiedId = await jwtVerify(idToken, jwks, { issuer: cognito.issuer, audience: basicClient.clientId, algorithms: ['RS256'] })
  t.equal(verifiedId.payload.sub, claims['sub'], 'ID token verifies against the JWKS')
  const verifiedAccess = await jwtVerify(tokens.access_token, jwks, { issuer: cognito.issuer, algorithms: ['RS256'] })
  t.equal(verifiedAccess.payload['token_use'], 'access')

  const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims['sub']))
  t.same(info, { sub: claims['sub'], email_verified: 'true', email: 'demo@example.com', name: 'Demo User', username: 'demo' }, 'userInfo with string booleans')
})

t.test('full code flow, client_secret_post, user without groups and unverified email', async (t) => {
  cognito.resetRequests()
  const config = await configFor(postClient, 'post')
  const { tokens } = await fullFlow(config, 'reader', 'Reader-passw0rd', 'openid email phone aws.cognito.signin.user.admin')
  const tokenCall = cognito.requests.find((r) => r.path === '/oauth2/token')
  t.equal(tokenCall?.clientAuth, 'post')
  t.equal(tokenCall?.status, 200)
  const claims = tokens.claims()
  t.ok(claims)
  t.notOk(claims && 'cognito:groups' in claims, 'no groups claim for a user without groups')
  t.equal(claims?.['email_verified'], false)
  t.equal(claims?.['cognito:username'], 'reader')
  t.notOk(claims && 'name' in claims, 'profile not requested')
  const access = decodeJwt(tokens.access_token).payload
  t.notOk('cognito:groups' in access)
  t.equal(access['scope'], 'openid email phone aws.cognito.signin.user.admin')

  const res = await new Browser().get(`${cognito.origin}/oauth2/userinfo`, { authorization: `Bearer ${tokens.access_token}` })
  t.equal(res.status, 200, 'lower-case path works too')
  t.equal(res.headers.get('content-type'), 'application/json;charset=UTF-8')
  t.equal(res.headers.get('cache-control'), 'no-cache, no-store, max-age=0, must-revalidate')
  t.equal(res.headers.get('access-control-allow-origin'), '*')
  t.ok(res.headers.get('x-amz-cognito-request-id'))
  t.same(await res.json(), { sub: claims?.sub, email_verified: 'false', email: 'reader@example.com', username: 'reader' })
  const viaPost = await fetch(`${cognito.origin}/oauth2/userInfo`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(viaPost.status, 200, 'POST accepted')
})

t.test('phone and custom attributes; openid alone releases all attributes', async (t) => {
  cognito.addUser({
    username: 'phoney', password: 'Phoney-passw0rd', email: 'p@example.com', emailVerified: true, phoneNumber: '+12065551212',
    attributes: { 'custom:tier': 'gold', phone_number_verified: 'true' }, groups: [],
  })
  const config = await configFor(basicClient, 'basic')
  const onlyOpenid = await fullFlow(config, 'phoney', 'Phoney-passw0rd', 'openid')
  const c: Record<string, unknown> = onlyOpenid.tokens.claims() ?? {}
  t.equal(c['email'], 'p@example.com')
  t.equal(c['phone_number'], '+12065551212')
  t.equal(c['phone_number_verified'], true)
  t.equal(c['custom:tier'], 'gold')
  const phoneOnly = await fullFlow(config, 'phoney', 'Phoney-passw0rd', 'openid phone')
  const p: Record<string, unknown> = phoneOnly.tokens.claims() ?? {}
  t.equal(p['phone_number'], '+12065551212')
  t.notOk('email' in p)
  t.notOk('custom:tier' in p)
  const info = await oidc.fetchUserInfo(config, phoneOnly.tokens.access_token, String(p['sub']))
  t.same(info, { sub: p['sub'], phone_number: '+12065551212', phone_number_verified: 'true', username: 'phoney' })
})

t.test('refresh without rotation: new ID + access tokens, no refresh_token, auth_time kept, no nonce', async (t) => {
  const config = await configFor(basicClient, 'basic')
  const { tokens } = await fullFlow(config, 'demo', 'Demo-passw0rd', 'openid email')
  const first: Record<string, unknown> = tokens.claims() ?? {}
  const before = cognito.countGrants('refresh_token')
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '')
  secrets.add(refreshed.access_token)
  if (refreshed.id_token) secrets.add(refreshed.id_token)
  t.equal(cognito.countGrants('refresh_token'), before + 1)
  t.equal(refreshed.refresh_token, undefined, 'no new refresh token')
  const c: Record<string, unknown> = refreshed.claims() ?? {}
  t.equal(c['auth_time'], first['auth_time'])
  t.equal(c['origin_jti'], first['origin_jti'])
  t.notOk('nonce' in c, 'no nonce after refresh')
  t.not(c['jti'], first['jti'])
  t.equal(c['at_hash'], atHashOf(refreshed.access_token))
  t.equal(decodeJwt(refreshed.access_token).payload['scope'], 'openid email')
  t.notOk(cognito.isRefreshTokenRevoked(tokens.refresh_token ?? ''))
  const again = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '')
  t.ok(again.access_token, 'the refresh token stays usable')
})

t.test('refresh with rotation: new refresh token, the old one revoked', async (t) => {
  const config = await configFor(rotating, 'basic')
  const { tokens } = await fullFlow(config, 'demo', 'Demo-passw0rd', 'openid')
  const old = tokens.refresh_token ?? ''
  const refreshed = await oidc.refreshTokenGrant(config, old)
  const next = refreshed.refresh_token ?? ''
  secrets.add(next)
  secrets.add(refreshed.access_token)
  t.ok(next)
  t.not(next, old)
  t.ok(cognito.isRefreshTokenRevoked(old))
  t.notOk(cognito.isRefreshTokenRevoked(next))
  t.equal(await oauthError(oidc.refreshTokenGrant(config, old)), 'invalid_grant', 'old one refused')
  const third = await oidc.refreshTokenGrant(config, next)
  t.ok(third.refresh_token)
  if (third.refresh_token) secrets.add(third.refresh_token)
})

t.test('revocation: refresh fails, userInfo 401, access token family dead', async (t) => {
  const config = await configFor(basicClient, 'basic')
  const { tokens } = await fullFlow(config, 'demo', 'Demo-passw0rd', 'openid email')
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '')
  secrets.add(refreshed.access_token)
  cognito.resetRequests()
  await oidc.tokenRevocation(config, tokens.refresh_token ?? '')
  const revokeCall = cognito.requests.find((r) => r.path === '/oauth2/revoke')
  t.same(revokeCall, { method: 'POST', path: '/oauth2/revoke', query: {}, clientAuth: 'basic', status: 200 })
  t.ok(cognito.isRefreshTokenRevoked(tokens.refresh_token ?? ''))
  t.equal(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token ?? '')), 'invalid_grant')

  for (const at of [tokens.access_token, refreshed.access_token]) {
    const res = await new Browser().get(`${cognito.origin}/oauth2/userInfo`, { authorization: `Bearer ${at}` })
    t.equal(res.status, 401)
    t.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token", error_description="Access token is expired, disabled, or deleted, or the user has globally signed out."')
  }
  await t.rejects(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck))

  // revoking again, or an unknown token: still 200
  const again = await fetch(`${cognito.origin}/oauth2/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${basicClient.clientId}:${basicClient.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ token: tokens.refresh_token ?? '' }).toString(),
  })
  t.equal(again.status, 200)
  t.equal(await again.text(), '')
  t.equal(again.headers.get('access-control-allow-origin'), '*')
})

t.test('revoke endpoint errors', async (t) => {
  const url = `${cognito.origin}/oauth2/revoke`
  const auth = { authorization: `Basic ${Buffer.from(`${basicClient.clientId}:${basicClient.clientSecret}`).toString('base64')}` }
  const send = (form: Record<string, string>, headers: Record<string, string> = auth): Promise<Response> =>
    new Browser().post(url, form, headers)
  let res = await send({})
  t.equal(res.status, 400)
  t.same(await res.json(), { error: 'invalid_request' })
  res = await send({ token: 'x' }, { authorization: `Basic ${Buffer.from(`${basicClient.clientId}:wrong`).toString('base64')}` })
  t.equal(res.status, 401)
  t.same(await res.json(), { error: 'invalid_client' })
  res = await send({ token: 'x', client_id: basicClient.clientId }, {})
  t.equal(res.status, 401, 'confidential client without its secret')
  const config = await configFor(basicClient, 'basic')
  const { tokens } = await fullFlow(config, 'demo', 'Demo-passw0rd', 'openid')
  res = await send({ token: tokens.access_token })
  t.equal(res.status, 400)
  t.same(await res.json(), { error: 'unsupported_token_type' })
  res = await send({ token: tokens.refresh_token ?? '' }, { authorization: `Basic ${Buffer.from(`${postClient.clientId}:${postClient.clientSecret}`).toString('base64')}` })
  t.equal(res.status, 200, 'another client: 200 …')
  t.notOk(cognito.isRefreshTokenRevoked(tokens.refresh_token ?? ''), '… but nothing revoked')
  res = await send({ token: 'not-a-token' })
  t.equal(res.status, 200, 'unknown token: 200')
})

t.test('userInfo errors', async (t) => {
  const url = `${cognito.origin}/oauth2/userInfo`
  let res = await new Browser().get(url)
  t.equal(res.status, 400)
  t.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_request", error_description="Bad OAuth2 request at UserInfo Endpoint"')
  res = await new Browser().get(url, { authorization: 'Bearer garbage' })
  t.equal(res.status, 401)
  const config = await configFor(basicClient, 'basic')
  const { tokens } = await fullFlow(config, 'demo', 'Demo-passw0rd', 'openid')
  res = await new Browser().get(url, { authorization: `Bearer ${tokens.id_token}` })
  t.equal(res.status, 401, 'an ID token is refused')
  const [h, p, s] = tokens.access_token.split('.')
  const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>
  payload['username'] = 'reader'
  const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`
  res = await new Browser().get(url, { authorization: `Bearer ${forged}` })
  t.equal(res.status, 401, 'tampered payload')
  cognito.addUser({ username: 'shortlived', password: 'Short-passw0rd' })
  const other = await fullFlow(config, 'shortlived', 'Short-passw0rd', 'openid')
  cognito.setUserEnabled('shortlived', false)
  res = await new Browser().get(url, { authorization: `Bearer ${other.tokens.access_token}` })
  t.equal(res.status, 401, 'disabled user')
  t.equal(await oauthError(oidc.refreshTokenGrant(config, other.tokens.refresh_token ?? '')), 'invalid_grant', 'disabled user cannot refresh')
  cognito.setUserEnabled('shortlived', true)
  res = await new Browser().get(url, { authorization: `Bearer ${other.tokens.access_token}` })
  t.equal(res.status, 200, 're-enabled')
})

t.test('access token expiry at userInfo', async (t) => {
  let clock = Date.now()
  const timed = await startLocalCognito({ clients: [basicClient], now: () => clock, accessTokenTtlSeconds: 300 })
  t.teardown(() => timed.close())
  const config = await oidc.discovery(new URL(timed.issuer), basicClient.clientId, basicClient.clientSecret, oidc.ClientSecretBasic(basicClient.clientSecret ?? ''), { execute: [oidc.allowInsecureRequests] })
  const { tokens } = await fullFlow(config, 'demo', 'Demo-passw0rd', 'openid')
  t.equal(tokens.expires_in, 300)
  const access = decodeJwt(tokens.access_token).payload
  t.equal(Number(access['exp']) - Number(access['iat']), 300)
  clock += 301 * 1000
  const res = await new Browser().get(`${timed.origin}/oauth2/userInfo`, { authorization: `Bearer ${tokens.access_token}` })
  t.equal(res.status, 401)
})

t.test('requests never hold secrets', async (t) => {
  const log = JSON.stringify(cognito.requests)
  t.ok(cognito.requests.length > 0)
  secrets.delete('')
  t.ok(secrets.size > 10)
  for (const s of secrets) t.notOk(log.includes(s), `log free of ${s.slice(0, 12)}…`)
  t.notOk(/Basic |Bearer |eyJ/.test(log), 'no Authorization header values or JWTs')
})
