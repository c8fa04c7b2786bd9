/**
 * CSRF on POST /logout: the token is bound to the session; a cross-site POST (no token, a token from
 * another session, a forged one) gets a 403 page and the person stays signed in.
 */
import t from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'
import { assertNobodySignedIn } from './helpers.js'

t.test('sign-out cannot be forged from another site', async (t) => {
  const stack = await startStack(t)
  const victim = new Browser()
  await signIn(victim, stack)
  const other = new Browser()
  await signIn(other, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const foreignToken = csrfTokenOf(await (await other.get(`${stack.baseUrl}/logged-in`)).text())
  const sid = victim.cookie('localhost', 'sid')
  t.match(victim.setCookies.find((line) => line.startsWith('sid=')) ?? '', /SameSite=Lax/i, 'session cookie is SameSite=Lax')

  const attempts: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['no token', {}, { origin: 'https://evil.example' }],
    ['an empty token', { _csrf: '' }, {}],
    ['a token from another person’s session', { _csrf: foreignToken }, {}],
    ['a made-up token', { _csrf: 'abc-123' }, {}],
    ['a token in a header from another session', {}, { 'csrf-token': foreignToken }],
  ]
  for (const [name, form, headers] of attempts) {
    const response = await victim.post(`${stack.baseUrl}/logout`, form, { ...headers, accept: 'text/html' })
    t.equal(response.status, 403, `${name}: 403`)
    const html = await response.text()
    t.match(html, /<p class="status-code">Error 403<\/p>/, `${name}: error page`)
    t.match(html, /This form has expired/)
    t.match(html, /<header class="site-header">/, 'in the site layout')
    t.equal(victim.cookie('localhost', 'sid'), sid, `${name}: still signed in`)
  }
  const still = await victim.get(`${stack.baseUrl}/logged-in`)
  t.equal(still.status, 200, 'the person is still signed in')
  t.ok(!stack.cognito.requests.some((r) => r.path === '/oauth2/revoke'), 'nothing was revoked')

  // With the real token it works.
  const out = await victim.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(await still.text()) })
  t.equal(out.status, 303)
  await assertNobodySignedIn(t, stack, victim)
})

t.test('an anonymous cross-site POST is refused and creates no session', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const response = await browser.post(`${stack.baseUrl}/logout`, { _csrf: 'x' }, { origin: 'https://evil.example' })
  t.equal(response.status, 403)
  t.match(await response.text(), /<p class="status-code">Error 403<\/p>/)
  await assertNobodySignedIn(t, stack, browser)
})
