/** APP_NAME and SIGNUP_ENABLED through the whole app: what the pages offer and which routes exist. */
import t from 'tap'
import { startStack } from '../helpers/stack.js'

t.test('SIGNUP_ENABLED=false: no "Create account" anywhere and /signup is not found; APP_NAME names the site', async (t) => {
  const stack = await startStack(t, { env: { SIGNUP_ENABLED: 'false', APP_NAME: 'Northwind Books' } })
  const home = await fetch(`${stack.baseUrl}/`)
  const html = await home.text()
  t.equal(home.status, 200)
  t.match(html, '<title>Home · Northwind Books</title>')
  t.notMatch(html, /Create account|\/signup/)
  const signup = await fetch(`${stack.baseUrl}/signup`, { redirect: 'manual' })
  t.equal(signup.status, 404, 'no route to Cognito\'s sign-up page')
  t.equal((await fetch(`${stack.baseUrl}/login`, { redirect: 'manual' })).status, 302, 'sign-in is still there')
})

t.test('by default sign-up is offered and /signup goes to Cognito\'s sign-up page', async (t) => {
  const stack = await startStack(t)
  const html = await (await fetch(`${stack.baseUrl}/`)).text()
  t.match(html, /href="\/signup">Create account</)
  t.match(html, '<title>Home · Cognito Sign-in</title>')
  const signup = await fetch(`${stack.baseUrl}/signup`, { redirect: 'manual' })
  t.equal(signup.status, 302)
  t.match(signup.headers.get('location'), /\/signup\?/)
})
