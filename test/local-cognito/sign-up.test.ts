/** Self sign-up as in a real pool: the password policy, UNCONFIRMED until the emailed code, then on to the app. */
import t from 'tap'
import { startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { TestClock } from '../helpers/clock.js'
import {
  CALLBACK,
  authorizeUrl,
  basic,
  captureLog,
  codeParams,
  cognitoCookie,
  confidentialClient,
  decodeJwt,
  linkById,
  loggedCode,
  namedForm,
  openForm,
  signIn,
  token,
} from './helpers.js'

const client = confidentialClient('signup0client00000000001')
const clock = new TestClock()
const log = captureLog()
const cognito = await startLocalCognito({ clients: [client], now: () => clock.now(), logger: log.logger })
t.teardown(() => cognito.close())

const params = codeParams(client, { scope: 'openid email profile', state: 'su-state', nonce: 'su-nonce' })

/** From the sign-in page, follow "Create an account" to the sign-up form. */
async function openSignup(browser = new Browser()) {
  const login = await openForm(authorizeUrl(cognito, params), browser)
  const url = linkById(login.html, login.action, 'signUpLink')
  const res = await browser.get(url)
  const html = await res.text()
  return { browser, url, html, status: res.status, form: namedForm(html, url, 'cognitoSignUpForm') }
}

async function signUp(username: string, password: string, email = `${username}@example.com`, browser = new Browser()) {
  const page = await openSignup(browser)
  const res = await browser.post(page.form.action, { ...page.form.hidden, username, email, password })
  return { res, browser, page }
}

t.test('the sign-up page states the password policy before submitting', async (t) => {
  const { status, html } = await openSignup()
  t.equal(status, 200)
  t.match(html, '<title>Sign up</title>')
  t.match(html, '<h1>Sign up</h1>')
  for (const rule of ['At least 8 characters', 'An uppercase letter', 'A lowercase letter', 'A number', 'A symbol']) t.match(html, rule)
  t.match(html, 'aria-describedby="passwordPolicyIntro passwordPolicy"', 'the policy describes the password field')
})

t.test('the policy is enforced with Cognito\'s messages, and nothing is created', async (t) => {
  const cases: Array<[string, string]> = [
    ['Sh0rt-x', 'Password did not conform with policy: Password not long enough'],
    ['NOLOWER-CASE-0', 'Password did not conform with policy: Password must have lowercase characters'],
    ['no-upper-case-0', 'Password did not conform with policy: Password must have uppercase characters'],
    ['No-digits-here', 'Password did not conform with policy: Password must have numeric characters'],
    ['NoSymbols000', 'Password did not conform with policy: Password must have symbol characters'],
  ]
  for (const [password, message] of cases) {
    const { res } = await signUp('policyuser', password)
    t.equal(res.status, 400, password)
    t.match(await res.text(), `id="signupErrorMessage" role="alert">${message}</p>`, password)
  }
  t.equal(cognito.user('policyuser'), undefined, 'no user stored')
  t.equal(log.lines.length, 0, 'no code sent')
})

t.test('sign-up: UNCONFIRMED, code printed and in the mailbox, sign-in refused until confirmed, then on to the app', async (t) => {
  const { res, browser } = await signUp('newbie', 'Newbie-passw0rd!')
  t.equal(res.status, 302, 'to the confirmation page')
  const confirmUrl = new URL(res.headers.get('location') ?? '', cognito.origin)
  t.equal(confirmUrl.pathname, '/confirmUser')
  t.equal(confirmUrl.searchParams.get('username'), 'newbie')
  t.equal(confirmUrl.searchParams.get('state'), 'su-state', 'the authorize parameters travel along')
  t.equal(cognitoCookie(browser, cognito, 'cognito'), undefined, 'not signed in yet')

  const stored = cognito.user('newbie')
  t.equal(stored?.status, 'UNCONFIRMED')
  t.equal(stored?.emailVerified, false)
  t.equal(stored?.email, 'newbie@example.com')

  t.equal(log.lines.length, 1)
  t.match(log.lines[0], /confirmation code for newbie \(newbie@example\.com\): \d{6}$/)
  const code = loggedCode(log.lines, 'confirmation code', 'newbie')
  t.match(cognito.mailbox.at(-1), { kind: 'confirmation', username: 'newbie', to: 'newbie@example.com', code })
  const mailbox = await (await new Browser().get(`${cognito.origin}/mailbox`)).text()
  t.match(mailbox, '<h1>Mailbox</h1>')
  t.match(mailbox, `<td>newbie@example.com</td><td>newbie</td><td>Sign-up confirmation code</td><td><code class="lc-code">${code}</code></td>`)

  const confirmPage = await (await browser.get(confirmUrl)).text()
  t.match(confirmPage, '<title>Confirm account</title>')
  t.match(confirmPage, 'We have sent a code by email to <strong>n***@e***.com</strong>')
  const confirmForm = namedForm(confirmPage, confirmUrl, 'cognitoConfirmForm')
  t.equal(confirmForm.hidden['username'], 'newbie')

  const early = await signIn(cognito, params, 'newbie', 'Newbie-passw0rd!')
  t.equal(early.res.status, 400)
  const earlyHtml = await early.res.text()
  t.match(earlyHtml, 'id="loginErrorMessage" role="alert">User is not confirmed.</p>')
  t.match(linkById(earlyHtml, cognito.origin, 'confirmAccountLink'), /\/confirmUser\?.*username=newbie/)
  const wrongPassword = await signIn(cognito, params, 'newbie', 'Not-the-passw0rd')
  t.match(await wrongPassword.res.text(), 'Incorrect username or password.', 'the password is checked first')

  let r = await browser.post(confirmForm.action, { ...confirmForm.hidden, code: code === '000000' ? '111111' : '000000' })
  t.equal(r.status, 400)
  t.match(await r.text(), 'Invalid verification code provided, please try again.')
  t.equal(cognito.user('newbie')?.status, 'UNCONFIRMED')

  const resendForm = namedForm(confirmPage, confirmUrl, 'cognitoResendForm')
  r = await browser.post(resendForm.action, { ...resendForm.hidden })
  t.equal(r.status, 200)
  t.match(await r.text(), 'We have sent you a new code.')
  t.equal(log.lines.length, 2, 'a second line')
  const newCode = loggedCode(log.lines, 'confirmation code', 'newbie')
  t.equal(cognito.mailbox.filter((m) => m.username === 'newbie').length, 2)

  r = await browser.post(confirmForm.action, { ...confirmForm.hidden, code: newCode })
  t.equal(r.status, 302, 'confirmed: on to the app as a sign-in would')
  const back = new URL(r.headers.get('location') ?? '')
  t.equal(`${back.origin}${back.pathname}`, CALLBACK)
  t.equal(back.searchParams.get('state'), 'su-state')
  t.ok(cognitoCookie(browser, cognito, 'cognito'), 'a hosted-UI session')
  t.equal(cognito.user('newbie')?.status, 'CONFIRMED')
  t.equal(cognito.user('newbie')?.emailVerified, true, 'the emailed code verified the email')

  const tok = await token(cognito, { grant_type: 'authorization_code', code: back.searchParams.get('code') ?? '', redirect_uri: CALLBACK }, basic(client.clientId, client.clientSecret ?? ''))
  t.equal(tok.status, 200)
  const claims = decodeJwt(String(tok.json['id_token'])).payload
  t.equal(claims['cognito:username'], 'newbie')
  t.equal(claims['email'], 'newbie@example.com')
  t.equal(claims['email_verified'], true)
  t.equal(claims['nonce'], 'su-nonce')
  t.notOk('cognito:groups' in claims)
  t.match(claims['sub'], /^[0-9a-f]{8}-[0-9a-f]{4}-70[0-9a-f]{2}-[0-9a-f]{4}-[0-9a-f]{12}$/)

  r = await browser.post(confirmForm.action, { ...confirmForm.hidden, code: newCode })
  t.match(await r.text(), 'User cannot be confirmed. Current status is CONFIRMED')
  const later = await signIn(cognito, params, 'newbie', 'Newbie-passw0rd!')
  t.equal(later.res.status, 302, 'the confirmed user signs in with the form')
})

t.test('confirming in another browser confirms the account but signs no one in', async (t) => {
  await signUp('elsewhere', 'Elsewhere-passw0rd1')
  const code = loggedCode(log.lines, 'confirmation code', 'elsewhere')
  const other = new Browser()
  const url = `${cognito.origin}/confirmUser?${new URLSearchParams({ ...params, username: 'elsewhere' })}`
  const page = await (await other.get(url)).text()
  const form = namedForm(page, url, 'cognitoConfirmForm')
  const r = await other.post(form.action, { ...form.hidden, code })
  t.equal(r.status, 200, 'the sign-in page, not a redirect to the app')
  const html = await r.text()
  t.match(html, 'Your account is confirmed. Sign in to continue.')
  t.match(html, 'value="elsewhere"', 'the username filled in')
  t.equal(cognitoCookie(other, cognito, 'cognito'), undefined)
  t.equal(cognito.user('elsewhere')?.status, 'CONFIRMED')
})

t.test('a confirmation code expires after 24 hours; five wrong codes exceed the attempt limit', async (t) => {
  const { browser } = await signUp('slowpoke', 'Slowpoke-passw0rd1')
  const code = loggedCode(log.lines, 'confirmation code', 'slowpoke')
  const url = `${cognito.origin}/confirmUser?${new URLSearchParams({ ...params, username: 'slowpoke' })}`
  const form = namedForm(await (await browser.get(url)).text(), url, 'cognitoConfirmForm')
  clock.advance(24 * 60 * 60 * 1000 + 1000)
  let r = await browser.post(form.action, { ...form.hidden, code })
  t.match(await r.text(), 'Invalid code provided, please request a code again.')
  t.equal(cognito.user('slowpoke')?.status, 'UNCONFIRMED')

  const resend = namedForm(await (await browser.get(url)).text(), url, 'cognitoResendForm')
  await browser.post(resend.action, resend.hidden)
  const fresh = loggedCode(log.lines, 'confirmation code', 'slowpoke')
  const wrong = fresh === '123456' ? '654321' : '123456'
  for (let i = 1; i <= 4; i++) {
    r = await browser.post(form.action, { ...form.hidden, code: wrong })
    t.match(await r.text(), 'Invalid verification code provided, please try again.', `wrong code ${i}`)
  }
  r = await browser.post(form.action, { ...form.hidden, code: wrong })
  t.match(await r.text(), 'Attempt limit exceeded, please try after some time.', 'the fifth')
  r = await browser.post(form.action, { ...form.hidden, code: fresh })
  t.equal(r.status, 400, 'the code is gone after the limit')
  t.equal(cognito.user('slowpoke')?.status, 'UNCONFIRMED')
})

t.test('sign-up checks: csrf, existing user, email format', async (t) => {
  const page = await openSignup()
  let r = await page.browser.post(page.form.action, { username: 'x1', email: 'x1@example.com', password: 'Good-passw0rd' })
  t.equal(r.status, 403, 'csrf required')
  r = await page.browser.post(page.form.action, { ...page.form.hidden, username: 'DEMO', email: 'x@example.com', password: 'Good-passw0rd' })
  t.equal(r.status, 400)
  t.match(await r.text(), 'User already exists')
  r = await page.browser.post(page.form.action, { ...page.form.hidden, username: 'x1', email: 'not-an-email', password: 'Good-passw0rd' })
  t.match(await r.text(), 'Invalid email address format.')
})

t.test('a pool without self sign-up: no link, and /signup refuses', async (t) => {
  const closed = await startLocalCognito({ clients: [client], allowSignUp: false, logger: () => undefined })
  t.teardown(() => closed.close())
  const login = await openForm(authorizeUrl(closed, params), new Browser())
  t.notMatch(login.html, 'Create an account')
  t.notMatch(login.html, '/signup')
  const r = await new Browser().get(`${closed.origin}/signup?${new URLSearchParams(params)}`)
  t.equal(r.status, 400)
  t.match(await r.text(), 'SignUp is not permitted for this user pool')
})
