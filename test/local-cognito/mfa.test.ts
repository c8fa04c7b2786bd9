/** TOTP MFA for the seed's `mfa` user: the password, then a 6-digit RFC 6238 code. */
import t from 'tap'
import { DEMO_USERS, MFA_DEMO_USER, startLocalCognito, totpCode } from '../../src/local-cognito/index.js'
import { TestClock } from '../helpers/clock.js'
import { CALLBACK, basic, codeParams, confidentialClient, decodeJwt, cognitoCookie, namedForm, signIn, token } from './helpers.js'

const client = confidentialClient('mfa0client00000000000001')
const clock = new TestClock()
const cognito = await startLocalCognito({ clients: [client], now: () => clock.now(), logger: () => undefined })
t.teardown(() => cognito.close())
const params = codeParams(client, { state: 'mfa-state' })

async function toMfaPage() {
  const { res, browser } = await signIn(cognito, params, MFA_DEMO_USER.username, MFA_DEMO_USER.password)
  const html = await res.text()
  return { res, browser, html, form: namedForm(html, `${cognito.origin}/login`, 'cognitoMfaForm') }
}

t.test('the MFA demo user and its secret are printed at start', async (t) => {
  t.same([MFA_DEMO_USER.username, MFA_DEMO_USER.password], ['mfa', 'Mfa-passw0rd'])
  const line = DEMO_USERS.find((u) => u.username === 'mfa')?.description ?? ''
  t.match(line, `TOTP secret ${MFA_DEMO_USER.totpSecret}`)
  t.match(line, `otpauth://totp/Local%20Cognito:mfa?issuer=Local%20Cognito&secret=${MFA_DEMO_USER.totpSecret}&algorithm=SHA1&digits=6&period=30`)
  t.equal(cognito.user('mfa')?.mfa, true)
})

t.test('password, then the code: a wrong code is refused, the right one signs in once', async (t) => {
  const { res, browser, html, form } = await toMfaPage()
  t.equal(res.status, 200, 'the password alone does not sign in')
  t.match(html, '<title>Multi-factor authentication</title>')
  t.match(html, 'autocomplete="one-time-code"')
  t.equal(cognitoCookie(browser, cognito, 'cognito'), undefined, 'no session yet')
  const code = totpCode(MFA_DEMO_USER.totpSecret, clock.now())
  const wrong = code === '000000' ? '111111' : '000000'
  let r = await browser.post(form.action, { ...form.hidden, code: wrong })
  t.equal(r.status, 400)
  const again = await r.text()
  t.match(again, 'Invalid code or auth state for the user.')
  const form2 = namedForm(again, form.action, 'cognitoMfaForm')
  r = await browser.post(form2.action, { ...form2.hidden, code })
  t.equal(r.status, 302)
  const back = new URL(r.headers.get('location') ?? '')
  t.equal(`${back.origin}${back.pathname}`, CALLBACK)
  t.equal(back.searchParams.get('state'), 'mfa-state')
  t.ok(cognitoCookie(browser, cognito, 'cognito'))
  const tok = await token(cognito, { grant_type: 'authorization_code', code: back.searchParams.get('code') ?? '', redirect_uri: CALLBACK }, basic(client.clientId, client.clientSecret ?? ''))
  t.equal(decodeJwt(String(tok.json['id_token'])).payload['cognito:username'], 'mfa')

  const replay = await toMfaPage()
  r = await replay.browser.post(replay.form.action, { ...replay.form.hidden, code })
  t.equal(r.status, 400, 'the same code is not accepted twice')
  clock.advance(30_000)
  r = await replay.browser.post(replay.form.action, { ...replay.form.hidden, code: totpCode(MFA_DEMO_USER.totpSecret, clock.now()) })
  t.equal(r.status, 302, 'the next code is')
})

t.test('the MFA session lasts 3 minutes; five wrong codes end it; a forged session is refused', async (t) => {
  let { browser, form } = await toMfaPage()
  clock.advance(3 * 60 * 1000 + 1000)
  let r = await browser.post(form.action, { ...form.hidden, code: totpCode(MFA_DEMO_USER.totpSecret, clock.now()) })
  t.equal(r.status, 400)
  t.match(await r.text(), 'Invalid session for the user, session is expired.')

  ;({ browser, form } = await toMfaPage())
  const good = totpCode(MFA_DEMO_USER.totpSecret, clock.now())
  const wrong = good === '000000' ? '111111' : '000000'
  for (let i = 0; i < 4; i++) await browser.post(form.action, { ...form.hidden, code: wrong })
  r = await browser.post(form.action, { ...form.hidden, code: wrong })
  t.match(await r.text(), 'Invalid session for the user, session is expired.', 'the fifth wrong code ends the session')
  r = await browser.post(form.action, { ...form.hidden, code: good })
  t.equal(r.status, 400, 'the right code no longer helps')

  r = await browser.post(form.action, { ...form.hidden, session: 'forged', code: good })
  t.match(await r.text(), 'Invalid session for the user, session is expired.')
})
