import t from 'tap'
import { Browser } from '../helpers/browser.js'
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
