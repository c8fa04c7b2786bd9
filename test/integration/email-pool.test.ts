/**
 * A pool where people sign in with their email (Cognito's username is then a UUID, the same as the
 * sub): every page names the person by their name or email, never by the UUID.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

t.test('email sign-in pool: the pages show the email or the name, never the UUID username', async (t) => {
  const stack = await startStack(t, { cognito: { signInWith: 'email' } })
  const browser = new Browser()
  const result = await signIn(browser, stack, { username: 'demo@example.com', password: 'Demo-passw0rd' })
  t.equal(new URL(result.url).pathname, '/logged-in', 'signed in with the email')
  const { sub, username } = (await (await browser.get(`${stack.baseUrl}/api/me`)).json()) as { sub: string; username: string }
  t.equal(username, sub, 'Cognito\'s username is the UUID sub')
  t.match(sub, /^[0-9a-f-]{36}$/)
  for (const path of ['/', '/logged-in', '/logout', '/admin']) {
    const html = await (await browser.get(`${stack.baseUrl}${path}`)).text()
    t.notMatch(html, sub, `${path}: no UUID on the page`)
    t.match(html, /demo@example\.com|Demo User/, `${path}: the person by email or name`)
  }
  const account = await (await browser.get(`${stack.baseUrl}/logged-in`)).text()
  t.match(account, 'Signed in as demo@example.com')
  t.match(account, /data-field="username">demo@example\.com</)
})
