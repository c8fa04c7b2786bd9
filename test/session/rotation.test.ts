/**
 * SESSION_SECRET rotation: several secrets, newest first. A session signed with the old secret goes
 * on when the new one is added (its cookie is signed again with the new one), survives the old one's
 * removal after that, and ends when its only secret is removed; a sign-in started before the rotation
 * finishes after it.
 */
import t from 'tap'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import { signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'

const OLD = 'old-session-secret-0123456789-abcdefghijklmnop'
const NEW = 'new-session-secret-0123456789-qrstuvwxyzABCDEF'

t.test('SES-05: a session outlives a secret rotation; removing its only secret ends it', async (t) => {
  const { cognito, clock } = await startSharedCognito(t)
  const store = new MemorySessionStore({ now: () => clock.now(), sweepIntervalMs: 0 })
  t.teardown(() => store.close())
  let base: string | undefined
  const instance = async (secret: string): Promise<Stack> => {
    const stack = await startStack(t, { sharedCognito: cognito, clock, deps: { store }, env: { SESSION_SECRET: secret }, ...(base ? { appBaseUrl: base } : {}) })
    base ??= stack.config.web.baseUrl
    return stack
  }
  const before = await instance(OLD)
  const browser = new Browser()
  t.equal((await signIn(browser, before)).response.status, 200)
  const oldCookie = browser.cookie('localhost', 'sid') as string

  // The rotation starts: the new secret first, the old one still accepted.
  const during = await instance(`${NEW},${OLD}`)
  const page = await browser.get(`${during.baseUrl}/logged-in`)
  t.equal(page.status, 200, 'the old cookie still works')
  const newCookie = browser.cookie('localhost', 'sid') as string
  t.not(newCookie, oldCookie, 'and is sent again, signed with the new secret')
  t.equal(newCookie.split('.')[0], oldCookie.split('.')[0], 'for the same session')
  let writes = 0
  const set = store.set.bind(store)
  store.set = (id, session, callback) => {
    writes++
    set(id, session, callback)
  }
  t.equal((await browser.get(`${during.baseUrl}/logged-in`)).status, 200)
  t.equal(writes, 0, 'once signed again, a page view writes nothing')

  // The rotation ends: only the new secret.
  const after = await instance(NEW)
  t.equal((await browser.get(`${after.baseUrl}/logged-in`)).status, 200, 'the session outlives the old secret')
  const stale = new Browser()
  stale.setCookie('localhost', 'sid', oldCookie)
  t.equal((await stale.get(`${after.baseUrl}/logged-in`)).status, 302, 'a cookie signed only with the removed secret is refused')

  const other = await instance('another-secret-entirely-0123456789-ghijklmnop')
  t.equal((await browser.get(`${other.baseUrl}/logged-in`)).status, 302, 'its only secret removed: the session ends')
})

t.test('SES-05: a sign-in started before the rotation finishes after it', async (t) => {
  const { cognito, clock } = await startSharedCognito(t)
  const store = new MemorySessionStore({ now: () => clock.now(), sweepIntervalMs: 0 })
  t.teardown(() => store.close())
  const before = await startStack(t, { sharedCognito: cognito, clock, deps: { store }, env: { SESSION_SECRET: OLD } })
  const during = await startStack(t, { sharedCognito: cognito, clock, deps: { store }, env: { SESSION_SECRET: `${NEW},${OLD}` }, appBaseUrl: before.config.web.baseUrl })
  const browser = new Browser()
  const toForm = await browser.navigate(`${before.baseUrl}/login`) // sealed with the old secret
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  const callback = new URL(submitted.headers.get('location') ?? '')
  const back = await browser.follow(await browser.get(`${during.baseUrl}${callback.pathname}${callback.search}`), `${during.baseUrl}${callback.pathname}`)
  t.equal(back.response.status, 200)
  t.equal(new URL(back.url).pathname, '/logged-in', 'signed in on the rotated instance')
})
