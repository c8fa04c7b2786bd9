/** The hosted-UI pages in the manner of managed login: stylesheet, CSP, titles, links, the demo-users hint. */
import t from 'tap'
import { startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import { APP, authorizeUrl, codeParams, confidentialClient, linkById, openForm } from './helpers.js'

const client = confidentialClient('pages0client000000000001')
const cognito = await startLocalCognito({ clients: [client], appName: 'Northwind <Books>', logger: () => undefined })
t.teardown(() => cognito.close())
const params = codeParams(client, { scope: 'openid email', state: 'st & more', nonce: 'n1', code_challenge_method: 'S256', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' })
const query = new URLSearchParams(params).toString()

/** Inline script, inline style, style attributes and event handlers in a page. */
function inlineCode(html: string): string[] {
  const found: string[] = []
  for (const m of html.matchAll(/<script\b[^>]*>/gi)) found.push(m[0])
  for (const m of html.matchAll(/<style\b[^>]*>/gi)) found.push(m[0])
  for (const m of html.matchAll(/<[a-z][^>]*\s(style|on[a-z]+)\s*=/gi)) found.push(m[0])
  return found
}

t.test('every page: stylesheet from this origin, no inline code, strict CSP, the app name, a Cognito title', async (t) => {
  const pages: Array<[string, string]> = [
    [`/login?${query}`, 'Sign in'],
    [`/signup?${query}`, 'Sign up'],
    [`/confirmUser?${query}&username=demo`, 'Confirm account'],
    [`/forgotPassword?${query}`, 'Forgot password'],
    [`/confirmforgotPassword?${query}&username=demo`, 'Reset password'],
    ['/mailbox', 'Mailbox'],
    ['/_local/faults', 'Faults'],
    ['/error?error=redirect_mismatch', 'Error'],
  ]
  for (const [path, title] of pages) {
    const res = await new Browser().get(`${cognito.origin}${path}`)
    const html = await res.text()
    t.equal(res.status, path.startsWith('/error') ? 400 : 200, path)
    t.match(html, `<title>${title}</title>`, `${path}: title`)
    t.match(html, '<link rel="stylesheet" href="/assets/local-cognito.css">', `${path}: the stylesheet`)
    t.match(html, '<meta name="color-scheme" content="light dark">')
    t.match(html, '<p class="lc-brand">Northwind &lt;Books&gt;</p>', `${path}: the app name, escaped`)
    t.same(inlineCode(html), [], `${path}: no inline script or style`)
    const csp = res.headers.get('content-security-policy') ?? ''
    t.match(csp, "default-src 'none'")
    t.match(csp, "style-src 'self'")
    t.notMatch(csp, 'unsafe-inline')
    t.match(csp, `form-action 'self' ${APP}`, 'forms post here and may end at the callback origin')
    t.match(csp, "frame-ancestors 'none'")
    t.equal(res.headers.get('x-frame-options'), 'DENY')
    t.equal(res.headers.get('cache-control'), 'no-store')
  }
  const css = await new Browser().get(`${cognito.origin}/assets/local-cognito.css`)
  t.equal(css.status, 200)
  t.match(css.headers.get('content-type'), /^text\/css/)
  const text = await css.text()
  t.match(text, 'prefers-color-scheme: dark')
  t.match(text, 'min-height: 44px')
  t.match(text, 'font-size: 16px')
})

t.test('sign-in page: links to forgot password, sign-up and back to the app; the form contract is kept', async (t) => {
  const browser = new Browser()
  const form = await openForm(authorizeUrl(cognito, params), browser)
  t.equal(form.name, 'cognitoSignInForm')
  t.equal(form.formAction, `/login?${query}`)
  t.match(form.html, '<h1>Sign in</h1>')
  t.match(form.html, /name="username"[^>]*autocomplete="username"/)
  t.match(form.html, /name="password" type="password" autocomplete="current-password"/)
  t.match(form.html, 'class="lc-primary">Sign in</button>')
  t.equal(linkById(form.html, form.action, 'forgotPasswordLink'), `${cognito.origin}/forgotPassword?${query}`)
  t.equal(linkById(form.html, form.action, 'signUpLink'), `${cognito.origin}/signup?${query}`)
  t.equal(linkById(form.html, form.action, 'backToAppLink'), `${APP}/`)
  t.match(form.html, '>Back to Northwind &lt;Books&gt;</a>')
})

t.test('demo-users hint: a link per user keeps every authorize parameter and fills the username', async (t) => {
  const browser = new Browser()
  const form = await openForm(authorizeUrl(cognito, params), browser)
  t.match(form.html, '<details class="lc-hint" id="demoUsersHint" open>')
  t.match(form.html, 'Demo users (this local Cognito only)')
  for (const [user, password] of [['demo', 'Demo-passw0rd'], ['reader', 'Reader-passw0rd'], ['mfa', 'Mfa-passw0rd']]) {
    const href = new RegExp(`<a href="([^"]*)" class="lc-fill">${user}</a> · password <code>${password}</code>`).exec(form.html)?.[1]
    t.ok(href, `${user} listed with its password`)
    const url = new URL((href ?? '').replace(/&amp;/g, '&'), form.action)
    t.equal(url.pathname, '/login')
    t.same(Object.fromEntries(url.searchParams), { ...params, username: user }, `${user}: every authorize parameter kept`)
    const filled = await (await browser.get(url)).text()
    t.match(filled, new RegExp(`id="signInFormUsername"[^>]*value="${user}"`), `${user}: the form comes back filled`)
    t.equal(parseSignInForm(filled, url).formAction, `/login?${query}`, 'and posts without the pre-fill parameter')
  }

  // Hide it (a cookie; no script), then show it again.
  const hide = linkById(form.html, form.action, 'hideDemoHint')
  let res = await browser.get(hide)
  t.equal(res.status, 302)
  t.equal(res.headers.get('location'), `/login?${query}`)
  let html = await (await browser.get(`${cognito.origin}/login?${query}`)).text()
  t.notMatch(html, 'id="demoUsersHint"', 'hidden')
  const show = linkById(html, `${cognito.origin}/login`, 'showDemoHint')
  res = await browser.get(show)
  html = await (await browser.get(`${cognito.origin}/login?${query}`)).text()
  t.match(html, 'id="demoUsersHint"', 'shown again')

  res = await browser.get(`${cognito.origin}/_local/demo-hint?show=no&next=${encodeURIComponent('//evil.example/')}`)
  t.equal(res.status, 400, 'never a redirect to another site')
})

t.test('demoHint: false leaves the hint out', async (t) => {
  const quiet = await startLocalCognito({ clients: [client], demoHint: false, logger: () => undefined })
  t.teardown(() => quiet.close())
  const form = await openForm(authorizeUrl(quiet, params), new Browser())
  t.notMatch(form.html, 'Demo users')
  t.notMatch(form.html, 'Demo-passw0rd')
  t.match(form.html, '<p class="lc-brand">Cognito Sign-in</p>', 'the default app name')
})
