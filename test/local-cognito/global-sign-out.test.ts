/**
 * The user pool API's GlobalSignOut on the issuer's origin, as Cognito answers it: authorized by the
 * person's access token with the `aws.cognito.signin.user.admin` scope; afterwards every refresh token
 * of that person, for every app client, is refused, and the user pool API refuses the old access
 * tokens; other people's tokens are untouched.
 */
import t from 'tap'
import { startLocalCognito } from '../../src/local-cognito/index.js'
import { CALLBACK, basic, codeParams, confidentialClient, obtainCode, token } from './helpers.js'

const web = confidentialClient('gsoweb0client000000000001')
const other = confidentialClient('gsoother0client0000000001')
let clock = Date.now()
const cognito = await startLocalCognito({ clients: [web, other], now: () => clock })
t.teardown(() => cognito.close())

/** Tokens for `username` from `client`, with the given scopes. */
async function tokensFor(client: typeof web, scope: string, username = 'demo', password = 'Demo-passw0rd') {
  const code = await obtainCode(cognito, codeParams(client, { scope }), username, password)
  const r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, client.clientSecret ?? ''))
  if (r.status !== 200) throw new Error(`token endpoint answered ${r.status}`)
  return { access: String(r.json['access_token']), refresh: String(r.json['refresh_token']) }
}

function refresh(client: typeof web, refreshToken: string) {
  return token(cognito, { grant_type: 'refresh_token', refresh_token: refreshToken }, basic(client.clientId, client.clientSecret ?? ''))
}

async function globalSignOut(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${new URL(cognito.issuer).origin}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.GlobalSignOut', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: response.status, type: response.headers.get('content-type'), json: (await response.json()) as Record<string, unknown> }
}

const ADMIN = 'openid email aws.cognito.signin.user.admin'

t.test('GlobalSignOut revokes every refresh token of that person, for every app client, and no one else\'s', async (t) => {
  const mine = await tokensFor(web, ADMIN)
  const mineElsewhere = await tokensFor(other, 'openid email')
  const someoneElse = await tokensFor(web, ADMIN, 'reader', 'Reader-passw0rd')
  t.equal((await refresh(web, mine.refresh)).status, 200, 'refreshable before')

  clock += 1000
  const answer = await globalSignOut({ AccessToken: mine.access })
  t.equal(answer.status, 200)
  t.equal(answer.type, 'application/x-amz-json-1.1')
  t.same(answer.json, {})
  t.ok(cognito.requests.some((r) => r.method === 'POST' && r.path === '/' && r.status === 200), 'the call is recorded')

  t.equal((await refresh(web, mine.refresh)).json['error'], 'invalid_grant', 'this app\'s refresh token is refused')
  t.equal((await refresh(other, mineElsewhere.refresh)).json['error'], 'invalid_grant', 'and another app client\'s')
  t.equal((await refresh(web, someoneElse.refresh)).status, 200, 'another person\'s still works')

  const again = await globalSignOut({ AccessToken: mine.access })
  t.same(again, { status: 400, type: 'application/x-amz-json-1.1', json: { __type: 'NotAuthorizedException', message: 'Access Token has been revoked' } }, 'the old access token is revoked for the user pool API')

  clock += 1000
  const fresh = await tokensFor(web, ADMIN)
  t.equal((await refresh(web, fresh.refresh)).status, 200, 'a new sign-in afterwards gets working tokens')
})

t.test('GlobalSignOut needs the aws.cognito.signin.user.admin scope', async (t) => {
  const plain = await tokensFor(web, 'openid email profile')
  const answer = await globalSignOut({ AccessToken: plain.access })
  t.same(answer, { status: 400, type: 'application/x-amz-json-1.1', json: { __type: 'NotAuthorizedException', message: 'Access Token does not have required scopes' } })
  t.equal((await refresh(web, plain.refresh)).status, 200, 'nothing was revoked')
})

t.test('GlobalSignOut refuses what Cognito refuses', async (t) => {
  const tokens = await tokensFor(web, ADMIN)
  t.same((await globalSignOut({ AccessToken: 'not-a-token' })).json, { __type: 'NotAuthorizedException', message: 'Invalid Access Token' })
  const [h, p] = tokens.access.split('.')
  t.same((await globalSignOut({ AccessToken: `${h}.${p}.${'A'.repeat(342)}` })).json, { __type: 'NotAuthorizedException', message: 'Invalid Access Token' }, 'a forged signature')
  t.equal((await globalSignOut({})).json['__type'], 'InvalidParameterException')
  t.equal((await globalSignOut('{')).json['__type'], 'SerializationException')
  t.equal((await globalSignOut({ AccessToken: tokens.access }, { 'x-amz-target': 'AWSCognitoIdentityProviderService.DeleteUser' })).json['__type'], 'UnknownOperationException')
  clock += 2 * 3600_000
  t.same((await globalSignOut({ AccessToken: tokens.access })).json, { __type: 'NotAuthorizedException', message: 'Access Token has expired' })
})
