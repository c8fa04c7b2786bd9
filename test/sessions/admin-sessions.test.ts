/**
 * An administrator (`admin` group) finds a person's sessions by username, email or sub and ends them
 * all: on every instance, their refresh tokens refused, logged with both people's `sub`.
 */
import t, { type Test } from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { logLines, page, postForm, reauthenticate, refreshAccepted, status } from '../helpers/sessions.js'
import { sessionIdOf, signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'

const DEMO_SUB = '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13'
const READER_SUB = '8f47d2b0-9c3a-70e4-b516-2d8c4e71a9f5'
const READER = { username: 'reader', password: 'Reader-passw0rd' }

async function twoInstances(t: Test, extra: Record<string, string> = {}): Promise<[Stack, Stack]> {
  const prefix = uniquePrefix('admin-sessions')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const { cognito, clock } = await startSharedCognito(t)
  const env = { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, ...extra }
  const a = await startStack(t, { sharedCognito: cognito, clock, env })
  const b = await startStack(t, { sharedCognito: cognito, clock, env, appBaseUrl: a.config.web.baseUrl })
  return [a, b]
}

const listed = (html: string): number => [...html.matchAll(/data-device="/g)].length

t.test('an administrator finds a person\'s sessions by username, email or sub, and ends them all on every instance', async (t) => {
  if (!(await requireRedis(t))) return
  const [a, b] = await twoInstances(t)
  const admin = new Browser()
  const readerLaptop = new Browser()
  const readerPhone = new Browser()
  await signIn(admin, a)
  await signIn(readerLaptop, a, READER)
  await signIn(readerPhone, b, READER)
  const refreshTokens = await Promise.all(
    [readerLaptop, readerPhone].map(async (browser) => (await a.app.sessionStore.read(sessionIdOf(browser) as string))?.tokens?.refreshToken as string),
  )

  const adminPage = await page(admin, a, '/admin')
  t.match(adminPage.html, 'href="/admin/sessions"', 'the administration page links to it')
  const empty = await page(admin, a, '/admin/sessions')
  t.equal(empty.status, 200)
  t.equal(listed(empty.html), 0, 'nothing listed before a search')

  for (const query of ['reader', 'READER', ' reader@example.com ', READER_SUB]) {
    const found = await page(admin, b, `/admin/sessions?user=${encodeURIComponent(query)}`)
    t.equal(found.status, 200)
    t.equal(listed(found.html), 2, `"${query}" finds both of the reader's sessions`)
  }
  const unknown = await page(admin, a, '/admin/sessions?user=nobody%40example.com')
  t.equal(listed(unknown.html), 0)
  t.match(unknown.html, 'No active sessions for “nobody@example.com”')

  const found = await page(admin, a, '/admin/sessions?user=reader')
  const ended = await postForm(admin, a, '/admin/sessions/end', { _csrf: csrfTokenOf(found.html), user: 'reader', returnTo: '/admin/sessions?user=reader' })
  t.equal(ended.status, 303)
  t.equal(ended.headers.get('location'), '/admin/sessions?user=reader&ended=2')
  const after = await page(admin, a, '/admin/sessions?user=reader&ended=2')
  t.match(after.html, '2 sessions were ended')
  t.equal(listed(after.html), 0, 'none left')
  t.equal(await status(readerLaptop, b), 302, 'the reader\'s laptop is anonymous on B')
  t.equal(await status(readerPhone, a), 302, 'the reader\'s phone is anonymous on A')
  for (const token of refreshTokens) t.notOk(await refreshAccepted(a, token), 'their refresh tokens are refused')
  t.equal(await status(admin, a, '/admin'), 200, 'the administrator is still signed in')

  const event = logLines(a).find((line) => line.msg === 'an administrator ended every session of a person')
  t.match(event, { sub: DEMO_SUB, person: READER_SUB, ended: 2 }, 'logged with the administrator\'s and the person\'s sub')
  const ids = [readerLaptop, readerPhone].map((browser) => sessionIdOf(browser) as string)
  for (const id of ids) t.notOk(a.logs.join('\n').includes(id), 'no session id in the logs')
})

t.test('the administrator\'s pages: refused to non-members, to forms without a token or from another site, and a stale sign-in confirms first', async (t) => {
  if (!(await requireRedis(t))) return
  const [a] = await twoInstances(t)
  const admin = new Browser()
  const reader = new Browser()
  await signIn(admin, a)
  await signIn(reader, a, READER)

  t.equal(await status(new Browser(), a, '/admin/sessions?user=reader'), 302, 'anonymous: sent to sign in')
  const forbidden = await page(reader, a, '/admin/sessions?user=demo')
  t.equal(forbidden.status, 403, 'a signed-in person outside the admin group is refused')
  t.notMatch(forbidden.html, 'data-device=')
  const readerCsrf = csrfTokenOf((await page(reader, a, '/logged-in')).html)
  const readerEnd = await postForm(reader, a, '/admin/sessions/end', { _csrf: readerCsrf, user: 'demo' })
  t.equal(readerEnd.status, 403)
  t.equal(await status(admin, a, '/admin'), 200, 'the administrator\'s session is untouched')

  const found = await page(admin, a, '/admin/sessions?user=reader')
  const csrf = csrfTokenOf(found.html)
  t.equal((await postForm(admin, a, '/admin/sessions/end', { user: 'reader' })).status, 403, 'no CSRF token: refused')
  const crossSite = await admin.post(`${a.baseUrl}/admin/sessions/end`, { _csrf: csrf, user: 'reader' }, { 'sec-fetch-site': 'cross-site' })
  t.equal(crossSite.status, 403, 'from another site: refused')
  t.equal(await status(reader, a), 200, 'the reader is still signed in')

  const tooLong = await page(admin, a, `/admin/sessions?user=${'x'.repeat(5000)}`)
  t.equal(tooLong.status, 200, 'an overlong search is cut, not an error')

  a.clock.advance(11 * 60_000)
  const stale = await postForm(admin, a, '/admin/sessions/end', { _csrf: csrf, user: 'reader', returnTo: '/admin/sessions?user=reader' })
  t.equal(stale.status, 403)
  const html = await stale.text()
  t.match(html, 'Confirm it’s you', 'an old sign-in must confirm first')
  t.match(html, 'name="returnTo" value="/admin/sessions?user=reader"', 'and comes back to the search')
  t.equal(await status(reader, a), 200, 'nothing was ended')

  const back = await reauthenticate(admin, a, { csrf: csrfTokenOf(html), returnTo: '/admin/sessions?user=reader' })
  t.equal(back.url, `${a.baseUrl}/admin/sessions?user=reader`, 'back at the search after signing in again')
  const again = await back.response.text()
  t.equal(listed(again), 1)
  const ended = await postForm(admin, a, '/admin/sessions/end', { _csrf: csrfTokenOf(again), user: 'reader', returnTo: '/admin/sessions?user=reader' })
  t.equal(ended.status, 303)
  t.equal(await status(reader, a), 302, 'now the reader is signed out')
})
