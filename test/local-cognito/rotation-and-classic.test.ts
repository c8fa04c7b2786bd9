/**
 * Two settings of a real pool: refresh-token rotation with its grace period (RetryGracePeriodSeconds),
 * and the classic hosted UI, which ignores `prompt` where managed login honours it.
 */
import t from 'tap'
import { localCognitoOptionsFromEnv, startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { CALLBACK, authorizeUrl, basic, codeParams, confidentialClient, obtainCode, signIn, token } from './helpers.js'

const client = confidentialClient('rotation0client0000000001')
const auth = basic(client.clientId, client.clientSecret ?? '')

t.test('rotation with a 10 s grace: each refresh gives a new token; the old one works 10 s more, then dies', async (t) => {
  let clock = Date.now()
  const cognito = await startLocalCognito({ clients: [client], now: () => clock, refreshTokenRotation: { graceSeconds: 10 } })
  t.teardown(() => cognito.close())
  const code = await obtainCode(cognito, codeParams(client, { scope: 'openid email' }))
  const first = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, auth)
  const original = String(first.json['refresh_token'])

  const refreshed = await token(cognito, { grant_type: 'refresh_token', refresh_token: original }, auth)
  t.equal(refreshed.status, 200)
  const next = String(refreshed.json['refresh_token'])
  t.ok(next && next !== original, 'a new refresh token')

  clock += 9_000
  const retry = await token(cognito, { grant_type: 'refresh_token', refresh_token: original }, auth)
  t.equal(retry.status, 200, 'within the grace period the old one still works (a retry, another instance)')
  clock += 2_000
  const late = await token(cognito, { grant_type: 'refresh_token', refresh_token: original }, auth)
  t.equal(late.json['error'], 'invalid_grant', 'after it, the old one is refused')
  t.equal((await token(cognito, { grant_type: 'refresh_token', refresh_token: next }, auth)).status, 200, 'the new one works')
})

t.test('rotation without grace: the old token dies at once', async (t) => {
  const cognito = await startLocalCognito({ clients: [client], refreshTokenRotation: { graceSeconds: 0 } })
  t.teardown(() => cognito.close())
  const code = await obtainCode(cognito, codeParams(client, { scope: 'openid' }))
  const original = String((await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, auth)).json['refresh_token'])
  t.equal((await token(cognito, { grant_type: 'refresh_token', refresh_token: original }, auth)).status, 200)
  t.equal((await token(cognito, { grant_type: 'refresh_token', refresh_token: original }, auth)).json['error'], 'invalid_grant')
})

t.test('managed login honours prompt=login; the classic hosted UI ignores it and answers from its session', async (t) => {
  for (const hostedUi of ['managed', 'classic'] as const) {
    const cognito = await startLocalCognito({ clients: [client], hostedUi })
    t.teardown(() => cognito.close())
    const browser = new Browser()
    const first = await signIn(cognito, codeParams(client, { scope: 'openid' }), 'demo', 'Demo-passw0rd', browser)
    t.equal(first.res.status, 302, `${hostedUi}: signed in, Cognito keeps its session`)
    const again = await browser.get(authorizeUrl(cognito, codeParams(client, { scope: 'openid', prompt: 'login' })))
    const location = new URL(again.headers.get('location') ?? '', cognito.origin)
    if (hostedUi === 'managed') t.equal(location.pathname, '/login', 'managed login: the form again')
    else t.ok(location.href.startsWith(CALLBACK) && location.searchParams.has('code'), 'classic: straight back with a code, prompt ignored')
  }
})

t.test('the settings from the environment', async (t) => {
  t.same(localCognitoOptionsFromEnv({ LOCAL_COGNITO_HOSTED_UI: 'classic', LOCAL_COGNITO_REFRESH_TOKEN_ROTATION: '30' }), { hostedUi: 'classic', refreshTokenRotation: { graceSeconds: 30 } })
  t.same(localCognitoOptionsFromEnv({ LOCAL_COGNITO_REFRESH_TOKEN_ROTATION: 'off' }), {})
  t.throws(() => localCognitoOptionsFromEnv({ LOCAL_COGNITO_HOSTED_UI: 'v3' }), /LOCAL_COGNITO_HOSTED_UI: expected managed or classic/)
  t.throws(() => localCognitoOptionsFromEnv({ LOCAL_COGNITO_REFRESH_TOKEN_ROTATION: '90' }), /LOCAL_COGNITO_REFRESH_TOKEN_ROTATION: expected whole seconds from 0 to 60/)
})
