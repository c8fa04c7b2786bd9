/** Settings of the local Cognito: the users file, LOCAL_COGNITO_* variables, token lifetimes, the email sign-in pool. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { localCognitoOptionsFromEnv, parseUsers, startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { CALLBACK, authorizeUrl, basic, captureLog, codeParams, confidentialClient, decodeJwt, loggedCode, namedForm, obtainCode, openForm, signIn, token } from './helpers.js'

const client = confidentialClient('settings0client000000001')
const secret = client.clientSecret ?? ''
const dir = mkdtempSync(join(tmpdir(), 'local-cognito-users-'))

async function claimsOf(cognito: Awaited<ReturnType<typeof startLocalCognito>>, username: string, password: string, scope = 'openid email profile') {
  const code = await obtainCode(cognito, codeParams(client, { scope }), username, password)
  const r = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, secret))
  return { id: decodeJwt(String(r.json['id_token'])).payload, access: decodeJwt(String(r.json['access_token'])).payload, body: r.json }
}

t.test('a users file adds users with groups and custom attributes; a seed name is replaced; the demo users stay', async (t) => {
  const file = join(dir, 'users.json')
  writeFileSync(file, JSON.stringify({
    users: [
      { username: 'tenant-admin', password: 'Tenant-passw0rd', email: 'ta@example.com', emailVerified: true, name: 'Tess Admin', groups: ['admin', 'tenant-42'], attributes: { 'custom:tenant': '42', 'custom:plan': 'gold' }, description: 'tenant 42 admin' },
      { username: 'reader', password: 'Other-passw0rd', email: 'reader2@example.com' },
    ],
  }))
  const cognito = await startLocalCognito({ clients: [client], usersFile: file, logger: () => undefined })
  t.teardown(() => cognito.close())
  const { id, access } = await claimsOf(cognito, 'tenant-admin', 'Tenant-passw0rd')
  t.same(id['cognito:groups'], ['admin', 'tenant-42'])
  t.same(access['cognito:groups'], ['admin', 'tenant-42'])
  t.equal(id['custom:tenant'], '42')
  t.equal(id['custom:plan'], 'gold')
  t.equal(id['name'], 'Tess Admin')
  t.equal((await signIn(cognito, codeParams(client), 'demo', 'Demo-passw0rd')).res.status, 302, 'demo stays')
  t.equal((await signIn(cognito, codeParams(client), 'reader', 'Other-passw0rd')).res.status, 302, 'reader replaced by the file')
  const login = await openForm(authorizeUrl(cognito, codeParams(client)), new Browser())
  t.match(login.html, /class="lc-fill">tenant-admin<\/a> · password <code>Tenant-passw0rd<\/code> <span class="lc-help">tenant 42 admin<\/span>/, 'listed in the hint')
})

t.test('a bad users file stops the start with the file and the field named', async (t) => {
  t.throws(() => parseUsers('{"users":[{"username":"x"}]}', 'F'), { message: 'F: users[0].password: expected a non-empty string' })
  t.throws(() => parseUsers('{"users":[{"username":"x","password":"P","attributes":{"custom:n":5}}]}', 'F'), { message: /users\[0\]\.attributes\.custom:n: expected a string/ })
  t.throws(() => parseUsers('{"users":[{"username":"x","password":"P","group":["a"]}]}', 'F'), { message: /users\[0\]\.group: unknown field/ })
  t.throws(() => parseUsers('[{"username":"x","password":"P"},{"username":"X","password":"P"}]', 'F'), { message: /appears twice/ })
  t.throws(() => parseUsers('not json', 'F'), { message: /^F: not JSON/ })
  t.same(parseUsers('[{"username":"x","password":"P","confirmed":false}]', 'F'), [{ username: 'x', password: 'P', confirmed: false }])
  await t.rejects(startLocalCognito({ usersFile: join(dir, 'missing.json') }), { message: /LOCAL_COGNITO_USERS: cannot read .*missing\.json: ENOENT/ })
})

t.test('LOCAL_COGNITO_* variables', async (t) => {
  t.same(localCognitoOptionsFromEnv({}), {})
  t.same(
    localCognitoOptionsFromEnv({ LOCAL_COGNITO_USERS: '/x/users.json', LOCAL_COGNITO_ACCESS_TOKEN_TTL: '600', LOCAL_COGNITO_ID_TOKEN_TTL: '900', LOCAL_COGNITO_REFRESH_TOKEN_TTL: '7200', LOCAL_COGNITO_SIGN_IN_WITH: 'email' }),
    { usersFile: '/x/users.json', accessTokenTtlSeconds: 600, idTokenTtlSeconds: 900, refreshTokenTtlSeconds: 7200, signInWith: 'email' },
  )
  t.throws(() => localCognitoOptionsFromEnv({ LOCAL_COGNITO_ACCESS_TOKEN_TTL: '60' }), { message: 'LOCAL_COGNITO_ACCESS_TOKEN_TTL: expected whole seconds from 300 to 86400, got "60"' })
  t.throws(() => localCognitoOptionsFromEnv({ LOCAL_COGNITO_SIGN_IN_WITH: 'phone' }), { message: /expected username or email/ })
})

t.test('token lifetimes are options', async (t) => {
  const cognito = await startLocalCognito({ clients: [client], accessTokenTtlSeconds: 600, idTokenTtlSeconds: 900, logger: () => undefined })
  t.teardown(() => cognito.close())
  const { id, access, body } = await claimsOf(cognito, 'demo', 'Demo-passw0rd')
  t.equal(Number(access['exp']) - Number(access['iat']), 600)
  t.equal(Number(id['exp']) - Number(id['iat']), 900)
  t.equal(body['expires_in'], 600, 'expires_in is the access token lifetime')
})

t.test('email sign-in pool: people type their email; usernames are UUIDs equal to sub', async (t) => {
  const log = captureLog()
  const cognito = await startLocalCognito({ clients: [client], signInWith: 'email', logger: log.logger })
  t.teardown(() => cognito.close())
  const login = await openForm(authorizeUrl(cognito, codeParams(client)), new Browser())
  t.match(login.html, '<label for="signInFormUsername">Email address</label>')
  t.match(login.html, 'id="signInFormUsername" name="username" type="email"')
  t.match(login.html, 'class="lc-fill">demo@example.com</a>', 'the hint lists emails')

  const { id, access } = await claimsOf(cognito, 'Demo@Example.com', 'Demo-passw0rd')
  t.equal(id['cognito:username'], '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13')
  t.equal(id['cognito:username'], id['sub'], 'cognito:username = sub')
  t.equal(access['username'], id['sub'])
  t.equal(id['email'], 'demo@example.com')
  t.equal((await signIn(cognito, codeParams(client), 'demo', 'Demo-passw0rd')).res.status, 400, 'the old username is not a sign-in name')

  // Sign-up asks for no username; the new user's username is its sub.
  const browser = new Browser()
  const page = `${cognito.origin}/signup?${new URLSearchParams(codeParams(client))}`
  const html = await (await browser.get(page)).text()
  t.notMatch(html, 'signUpFormUsername')
  const form = namedForm(html, page, 'cognitoSignUpForm')
  let r = await browser.post(form.action, { ...form.hidden, email: 'demo@example.com', password: 'Some-passw0rd' })
  t.match(await r.text(), 'An account with the given email already exists.')
  r = await browser.post(form.action, { ...form.hidden, email: 'new.person@example.com', password: 'Some-passw0rd' })
  t.equal(r.status, 302)
  const stored = cognito.user('new.person@example.com')
  t.equal(stored?.status, 'UNCONFIRMED')
  t.equal(stored?.username, stored?.sub)
  const confirmUrl = new URL(r.headers.get('location') ?? '', cognito.origin)
  t.equal(confirmUrl.searchParams.get('username'), 'new.person@example.com')
  const code = loggedCode(log.lines, 'confirmation code', 'new.person@example.com')
  const confirm = namedForm(await (await browser.get(confirmUrl)).text(), confirmUrl, 'cognitoConfirmForm')
  r = await browser.post(confirm.action, { ...confirm.hidden, code })
  t.equal(r.status, 302)
  t.equal(new URL(r.headers.get('location') ?? '').origin + new URL(r.headers.get('location') ?? '').pathname, CALLBACK)
  t.equal(cognito.user('new.person@example.com')?.status, 'CONFIRMED')
})
