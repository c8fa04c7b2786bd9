import t from 'tap'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import { startStack } from '../helpers/stack.js'

t.test('configured identity providers become buttons and pass identity_provider to Cognito', async (t) => {
  const stack = await startStack(t, { env: { COGNITO_IDENTITY_PROVIDERS: 'Google,AcmeSAML' } })
  const browser = new Browser()
  const home = await (await browser.get(`${stack.baseUrl}/`)).text()
  t.match(home, /href="\/login\?provider=Google"[^>]*>Continue with Google</)
  t.match(home, /href="\/login\?provider=AcmeSAML"[^>]*>Continue with AcmeSAML</)

  const start = await browser.get(`${stack.baseUrl}/login?provider=Google`)
  t.equal(start.status, 302)
  const authorize = new URL(start.headers.get('location') ?? '')
  t.equal(authorize.pathname, '/oauth2/authorize')
  t.equal(authorize.searchParams.get('identity_provider'), 'Google')
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256')

  for (const bad of ['Facebook', 'google', 'Google%00', '<script>']) {
    const response = await browser.get(`${stack.baseUrl}/login?provider=${encodeURIComponent(bad)}`)
    t.equal(response.status, 400, `unlisted provider ${bad} refused`)
    t.match(await response.text(), /Unknown sign-in option/)
  }
})

t.test('without COGNITO_IDENTITY_PROVIDERS there are no buttons and no provider passes', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  t.notMatch(await (await browser.get(`${stack.baseUrl}/`)).text(), /Continue with/)
  t.equal((await browser.get(`${stack.baseUrl}/login?provider=Google`)).status, 400)
  t.equal((await browser.get(`${stack.baseUrl}/login`)).status, 302)
})

async function throughFederatedPage(browser: Browser, baseUrl: string, action: 'continue' | 'cancel') {
  const page = await browser.navigate(`${baseUrl}/login?provider=Google&returnTo=/logged-in`)
  t.match(new URL(page.url).pathname, /^\/federated\/Google\/authorize$/, 'the simulated IdP page, not Cognito\'s own')
  const form = parseSignInForm(await page.response.text(), page.url)
  t.equal(form.name, 'federatedSignInForm', 'the provider\'s Continue/Cancel form')
  return browser.follow(await browser.post(form.action, { _csrf: form.csrf, action }), form.action)
}

t.test('a federated user signs in through the provider and lands with the automatic group', async (t) => {
  const stack = await startStack(t, { env: { COGNITO_IDENTITY_PROVIDERS: 'Google' } })
  const browser = new Browser()
  const done = await throughFederatedPage(browser, stack.baseUrl, 'continue')
  t.equal(new URL(done.url).pathname, '/logged-in')
  t.equal(done.response.status, 200)
  const html = await done.response.text()
  t.match(html, /data-field="username">google_\d+</)
  t.match(html, new RegExp(`<li class="tag">${stack.cognito.userPoolId}_Google</li>`))
  t.match(html, /federated\.user@example\.com/)
})

t.test('cancelling at the provider shows the cancelled page and signs nobody in', async (t) => {
  const stack = await startStack(t, { env: { COGNITO_IDENTITY_PROVIDERS: 'Google' } })
  const browser = new Browser()
  const done = await throughFederatedPage(browser, stack.baseUrl, 'cancel')
  t.equal(new URL(done.url).pathname, '/auth/callback')
  t.equal(done.response.status, 403)
  t.match(await done.response.text(), /Sign-in was cancelled/)
  t.equal(browser.cookie('localhost', 'sid'), undefined)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 302)
})
