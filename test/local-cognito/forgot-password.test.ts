/** Forgotten password: a code by email (printed and on the mailbox), then code + new password, with Cognito's messages. */
import t from 'tap'
import { startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { TestClock } from '../helpers/clock.js'
import { authorizeUrl, captureLog, codeParams, confidentialClient, linkById, loggedCode, namedForm, openForm, signIn } from './helpers.js'

const client = confidentialClient('forgot0client00000000001')
const clock = new TestClock()
const log = captureLog()
const cognito = await startLocalCognito({ clients: [client], now: () => clock.now(), logger: log.logger })
t.teardown(() => cognito.close())
const params = codeParams(client, { state: 'fp' })

/** Sign-in page → "Forgot your password?" → submit `typed`; returns the answer and the browser. */
async function requestCode(typed: string, browser = new Browser()) {
  const login = await openForm(authorizeUrl(cognito, params), browser)
  const url = linkById(login.html, login.action, 'forgotPasswordLink')
  const page = await (await browser.get(url)).text()
  t.match(page, '<title>Forgot password</title>')
  const form = namedForm(page, url, 'cognitoForgotPasswordForm')
  const res = await browser.post(form.action, { ...form.hidden, username: typed })
  return { res, browser }
}

async function resetForm(browser: Browser, res: Response) {
  const url = new URL(res.headers.get('location') ?? '', cognito.origin)
  const html = await (await browser.get(url)).text()
  return { url, html, form: namedForm(html, url, 'cognitoConfirmForgotPasswordForm') }
}

t.test('by username: code printed and in the mailbox; policy and wrong code refused; the new password works', async (t) => {
  cognito.addUser({ username: 'forgetful', password: 'Old-passw0rd', email: 'forgetful@example.com', emailVerified: true })
  const { res, browser } = await requestCode('forgetful')
  t.equal(res.status, 302)
  const { url, html, form } = await resetForm(browser, res)
  t.equal(url.pathname, '/confirmforgotPassword')
  t.equal(url.searchParams.get('state'), 'fp')
  t.match(html, 'We have sent a password reset code by email to <strong>f***@e***.com</strong>')
  t.match(html, 'At least 8 characters', 'the policy is stated')
  t.match(log.lines.at(-1), /password reset code for forgetful \(forgetful@example\.com\): \d{6}$/)
  const code = loggedCode(log.lines, 'password reset code', 'forgetful')
  t.match(cognito.mailbox.at(-1), { kind: 'password-reset', username: 'forgetful', code })
  t.match(await (await new Browser().get(`${cognito.origin}/mailbox`)).text(), `<td>Password reset code</td><td><code class="lc-code">${code}</code></td>`)

  let r = await browser.post(form.action, { ...form.hidden, code, password: 'weakpassword' })
  t.equal(r.status, 400)
  t.match(await r.text(), 'Password does not conform to policy: Password must have uppercase characters')
  r = await browser.post(form.action, { ...form.hidden, code: code === '000000' ? '111111' : '000000', password: 'New-passw0rd' })
  t.match(await r.text(), 'Invalid verification code provided, please try again.')
  r = await browser.post(form.action, { ...form.hidden, code, password: 'New-passw0rd' })
  t.equal(r.status, 200)
  const after = await r.text()
  t.match(after, 'Your password has been reset. Sign in with your new password.')
  t.match(after, 'name="cognitoSignInForm"', 'the sign-in form')

  t.equal((await signIn(cognito, params, 'forgetful', 'Old-passw0rd')).res.status, 400, 'the old password is refused')
  t.equal((await signIn(cognito, params, 'forgetful', 'New-passw0rd')).res.status, 302, 'the new one works')
  r = await browser.post(form.action, { ...form.hidden, code, password: 'Newer-passw0rd' })
  t.match(await r.text(), 'Invalid verification code provided, please try again.', 'a code works once')
})

t.test('by email; an unknown name gets the same answer and no message', async (t) => {
  const before = cognito.mailbox.length
  const byEmail = await requestCode('DEMO@example.com')
  t.equal(byEmail.res.status, 302)
  t.equal(cognito.mailbox.length, before + 1)
  t.match(cognito.mailbox.at(-1), { username: 'demo', to: 'demo@example.com' })

  const unknown = await requestCode('nobody-here')
  t.equal(unknown.res.status, 302, 'same redirect (user existence is not revealed)')
  t.equal(cognito.mailbox.length, before + 1, 'nothing sent')
  const { form } = await resetForm(unknown.browser, unknown.res)
  const r = await unknown.browser.post(form.action, { ...form.hidden, code: '123456', password: 'New-passw0rd' })
  t.match(await r.text(), 'Invalid verification code provided, please try again.')
})

t.test('a user without a verified email cannot reset (Cognito\'s message)', async (t) => {
  const { res } = await requestCode('reader')
  t.equal(res.status, 400)
  t.match(await res.text(), 'Cannot reset password for the user as there is no registered/verified email or phone_number')
})

t.test('a reset code expires after an hour; five wrong codes exceed the attempt limit', async (t) => {
  cognito.addUser({ username: 'limits', password: 'Old-passw0rd', email: 'limits@example.com', emailVerified: true })
  let { res, browser } = await requestCode('limits')
  let { form } = await resetForm(browser, res)
  const code = loggedCode(log.lines, 'password reset code', 'limits')
  clock.advance(60 * 60 * 1000 + 1000)
  let r = await browser.post(form.action, { ...form.hidden, code, password: 'New-passw0rd' })
  t.match(await r.text(), 'Invalid code provided, please request a code again.')

  ;({ res, browser } = await requestCode('limits'))
  ;({ form } = await resetForm(browser, res))
  const fresh = loggedCode(log.lines, 'password reset code', 'limits')
  const wrong = fresh === '123456' ? '654321' : '123456'
  for (let i = 1; i <= 4; i++) {
    r = await browser.post(form.action, { ...form.hidden, code: wrong, password: 'New-passw0rd' })
    t.match(await r.text(), 'Invalid verification code provided, please try again.')
  }
  r = await browser.post(form.action, { ...form.hidden, code: wrong, password: 'New-passw0rd' })
  t.match(await r.text(), 'Attempt limit exceeded, please try after some time.')
  r = await browser.post(form.action, { ...form.hidden, code: fresh, password: 'New-passw0rd' })
  t.equal(r.status, 400, 'the right code no longer works')
  t.equal((await signIn(cognito, params, 'limits', 'Old-passw0rd')).res.status, 302, 'the password is unchanged')
})
