/** GET /_local/faults: switch "Cognito down", a slow token endpoint and refused refreshes while running. */
import t from 'tap'
import { defaultLocalClient, startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { APP, CALLBACK, basic, codeParams, namedForm, obtainCode, token } from './helpers.js'

const client = defaultLocalClient(APP)
const secret = client.clientSecret ?? ''
const cognito = await startLocalCognito({ clients: [client], logger: () => undefined })
t.teardown(() => cognito.close())
const faultsUrl = `${cognito.origin}/_local/faults`

/** Submit the faults form with these fields (checkboxes present = on). */
async function apply(browser: Browser, fields: Record<string, string>): Promise<Response> {
  const html = await (await browser.get(faultsUrl)).text()
  const form = namedForm(html, faultsUrl, 'faultsForm')
  return browser.post(form.action, { ...form.hidden, refuseSeconds: '30', tokenDelaySeconds: '0', ...fields })
}

t.test('the page is a form with every fault, off by default', async (t) => {
  const res = await new Browser().get(faultsUrl)
  t.equal(res.status, 200)
  const html = await res.text()
  for (const id of ['faultUnavailable', 'faultRefuse', 'faultRefuseSeconds', 'faultTokenDelay', 'faultRefreshRefused']) t.match(html, `id="${id}"`)
  t.notMatch(html, 'checked', 'nothing switched on')
  const r = await new Browser().post(faultsUrl, { unavailable: 'on' })
  t.equal(r.status, 403, 'a POST without the CSRF field changes nothing')
  t.same(cognito.faults, {})
})

t.test('Cognito down: every endpoint answers 503, the faults page still answers, and it comes back', async (t) => {
  const browser = new Browser()
  const faults = cognito.faults
  const res = await apply(browser, { unavailable: 'on' })
  t.equal(res.status, 200)
  t.match(await res.text(), /id="faultUnavailable" name="unavailable" value="on" checked/)
  t.equal(cognito.faults, faults, 'the same Faults object, changed in place')
  t.equal(cognito.faults.unavailable, true)
  for (const path of [`/login?${new URLSearchParams(codeParams(client))}`, `/${cognito.userPoolId}/.well-known/openid-configuration`]) {
    t.equal((await new Browser().get(`${cognito.origin}${path}`)).status, 503, path)
  }
  t.equal((await token(cognito, { grant_type: 'client_credentials' }, basic(client.clientId, secret))).status, 503)
  t.equal((await browser.get(faultsUrl)).status, 200, 'the faults page answers')
  t.equal((await browser.get(`${cognito.origin}/mailbox`)).status, 200, 'the mailbox too')
  await apply(browser, {})
  t.notOk(cognito.faults.unavailable)
  t.equal((await new Browser().get(`${cognito.issuer}/.well-known/openid-configuration`)).status, 200, 'up again')
})

t.test('slow token endpoint: the delay is set in seconds and cleared', async (t) => {
  const browser = new Browser()
  cognito.faults.tokenEndpoint = { status: 500 }
  await apply(browser, { tokenDelaySeconds: '7' })
  t.same(cognito.faults.tokenEndpoint, { status: 500, delayMs: 7000 }, 'other token-endpoint faults kept')
  t.match(await (await browser.get(faultsUrl)).text(), /id="faultTokenDelay" name="tokenDelaySeconds" min="0" max="600" value="7"/)
  await apply(browser, { tokenDelaySeconds: '0' })
  t.same(cognito.faults.tokenEndpoint, { status: 500 })
  cognito.faults.tokenEndpoint = undefined
  await apply(browser, { tokenDelaySeconds: '0' })
  t.notOk('tokenEndpoint' in cognito.faults)
})

t.test('refresh refused: the refresh grant answers invalid_grant until switched off', async (t) => {
  const code = await obtainCode(cognito, codeParams(client))
  const first = await token(cognito, { grant_type: 'authorization_code', code, redirect_uri: CALLBACK }, basic(client.clientId, secret))
  const refresh = String(first.json['refresh_token'])
  const browser = new Browser()
  await apply(browser, { refreshRefused: 'on' })
  let r = await token(cognito, { grant_type: 'refresh_token', refresh_token: refresh }, basic(client.clientId, secret))
  t.equal(r.status, 400)
  t.same(r.json, { error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
  await apply(browser, {})
  r = await token(cognito, { grant_type: 'refresh_token', refresh_token: refresh }, basic(client.clientId, secret))
  t.equal(r.status, 200, 'the same refresh token works again')
})

t.test('refused connections: the port closes, then opens again by itself', async (t) => {
  const url = `${cognito.issuer}/.well-known/jwks.json`
  await cognito.refuseConnections(300)
  const attempt = (): Promise<string | undefined> =>
    fetch(url).then(
      () => 'answered',
      (error: unknown) => (error as { cause?: { code?: string } }).cause?.code,
    )
  // A kept-alive connection from an earlier test may fail first with a reset; a new one is refused.
  let refused = await attempt()
  if (refused !== 'ECONNREFUSED' && refused !== 'answered') refused = await attempt()
  t.equal(refused, 'ECONNREFUSED', 'connection refused')
  let status = 0
  for (let i = 0; i < 100 && status !== 200; i++) {
    await sleep(20)
    status = await fetch(url).then((r) => r.status, () => 0)
  }
  t.equal(status, 200, 'answering again on the same port')
})

t.test('refused connections from the page: it answers first, then the port closes', async (t) => {
  const browser = new Browser()
  const res = await apply(browser, { refuse: 'on', refuseSeconds: '1' })
  t.equal(res.status, 200)
  t.match(await res.text(), 'The port closes now and opens again in 1 seconds.')
  let refused = false
  for (let i = 0; i < 25 && !refused; i++) {
    refused = await fetch(faultsUrl).then(() => false, () => true)
    if (!refused) await sleep(20)
  }
  t.ok(refused, 'connections refused')
  // close() opens the port again before closing, so teardown works while refusing.
})
