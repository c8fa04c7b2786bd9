/**
 * The memory store lives and dies with the process: a restart loses every session. The person is
 * sent to sign in again, gently (no error page), and comes back to the page they asked for.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startSharedCognito, startStack } from '../helpers/stack.js'

t.test('FLT-18 a restart with the memory store loses every session: the person is sent to sign in, no error, and comes back', async (t) => {
  const { cognito, clock } = await startSharedCognito(t)
  const first = await startStack(t, { sharedCognito: cognito, clock })
  t.equal(first.app.sessionStore.inner.kind, 'memory')
  const browser = new Browser()
  await signIn(browser, first)
  t.equal((await browser.get(`${first.baseUrl}/logged-in`)).status, 200, 'signed in before the restart')
  const before = browser.cookie('localhost', 'sid')
  t.ok(before)

  // The same app (same address, same SESSION_SECRET) started again.
  await first.app.close()
  const second = await startStack(t, { sharedCognito: cognito, clock, port: Number(new URL(first.baseUrl).port) })
  t.equal(second.baseUrl, first.baseUrl)

  const after = await browser.get(`${second.baseUrl}/logged-in`)
  t.equal(after.status, 302, 'the session is gone: no error page, a redirect')
  t.equal(after.headers.get('location'), '/login?returnTo=%2Flogged-in', 'to sign in, and back here afterwards')
  t.notOk(browser.cookie('localhost', 'sid'), 'the stale cookie is cleared')
  const home = await browser.get(`${second.baseUrl}/`)
  t.equal(home.status, 200)
  t.match(await home.text(), /id="greeting">Welcome</, 'public pages show the anonymous view')

  // Following the redirect signs the person in again (Cognito still knows them) and brings them back.
  const back = await browser.navigate(`${second.baseUrl}/logged-in`)
  t.equal(back.response.status, 200)
  t.equal(new URL(back.url).pathname, '/logged-in', 'back on the page they asked for')
  t.not(browser.cookie('localhost', 'sid'), before, 'with a new session')
})
