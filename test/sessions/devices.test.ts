/**
 * "Your devices": a person sees every session they have and ends any of the others, on any instance;
 * a per-person cap ends their least recently used session, never someone else's; a full memory
 * store does not let one person push everyone else out.
 */
import type { Session } from 'fastify'
import { Signer } from '@fastify/cookie'
import t, { type Test } from 'tap'
import { touchIntervalMs } from '../../src/session/plugin.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { logLines, postForm, refreshAccepted, status } from '../helpers/sessions.js'
import { sessionIdOf, signIn, startSharedCognito, startStack, type Stack } from '../helpers/stack.js'

const READER = { username: 'reader', password: 'Reader-passw0rd' }
const DEMO_SUB = '3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13'
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

/** A Browser that sends a User-Agent of its own (the test's fetch would otherwise send "node"). */
class NamedBrowser extends Browser {
  constructor(readonly userAgent: string) {
    super()
  }
  override request(url: string | URL, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    headers.set('user-agent', this.userAgent)
    return super.request(url, { ...init, headers })
  }
}

interface DevicesPage {
  status: number
  html: string
  /** data-device of each listed session, in order: 'current' or 'other'. */
  kinds: string[]
  /** The handles the page's "End this session" forms post. */
  handles: string[]
  /** The device names (h2). */
  names: string[]
  csrf: string
}

async function devicesPage(browser: Browser, stack: Pick<Stack, 'baseUrl'>, path = '/account/sessions'): Promise<DevicesPage> {
  const response = await browser.get(`${stack.baseUrl}${path}`)
  const html = await response.text()
  return {
    status: response.status,
    html,
    kinds: [...html.matchAll(/data-device="(current|other)"/g)].map((m) => m[1] as string),
    handles: [...html.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1] as string),
    names: [...html.matchAll(/<h2 class="device-name"[^>]*>([^<]+)<\/h2>/g)].map((m) => m[1] as string),
    csrf: /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '',
  }
}

/** Signs out with the sign-out page's form. */
async function signOut(browser: Browser, stack: Pick<Stack, 'baseUrl'>): Promise<void> {
  const page = await (await browser.get(`${stack.baseUrl}/logout`)).text()
  const answer = await postForm(browser, stack, '/logout', { _csrf: csrfTokenOf(page) })
  if (answer.status !== 303) throw new Error(`sign-out answered ${answer.status}`)
}

async function refreshTokenOf(stack: Stack, browser: Browser): Promise<string> {
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  return session?.tokens?.refreshToken as string
}

const redisEnv = (prefix: string, extra: Record<string, string> = {}) => ({ SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, ...extra })

/** Two instances sharing Redis and one local Cognito (one clock), as behind a load balancer. */
async function twoInstances(t: Test, extra: Record<string, string> = {}): Promise<[Stack, Stack]> {
  const prefix = uniquePrefix('devices')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const { cognito, clock } = await startSharedCognito(t)
  const a = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix, extra) })
  const b = await startStack(t, { sharedCognito: cognito, clock, env: redisEnv(prefix, extra), appBaseUrl: a.config.web.baseUrl })
  return [a, b]
}

t.test('two browsers of one person on two instances: each sees the other; one ends the other, which is then anonymous on both and its refresh token refused', async (t) => {
  if (!(await requireRedis(t))) return
  const [a, b] = await twoInstances(t)
  const laptop = new NamedBrowser(FIREFOX)
  const phone = new NamedBrowser(SAFARI_IPHONE)
  await signIn(laptop, a)
  await signIn(phone, b)

  const onA = await devicesPage(laptop, a)
  t.equal(onA.status, 200)
  t.same(onA.kinds, ['current', 'other'], 'the laptop sees itself first, then one other session')
  t.same(onA.names, ['Firefox 128 on Windows 10', 'Safari 17 on iOS 17.5'], 'browser and system read from each User-Agent')
  t.match(onA.html, /This device/)
  const onB = await devicesPage(phone, b)
  t.same(onB.kinds, ['current', 'other'], 'the phone, on the other instance, sees the laptop too')
  t.same(onB.names, ['Safari 17 on iOS 17.5', 'Firefox 128 on Windows 10'])
  for (const id of [sessionIdOf(laptop), sessionIdOf(phone)]) {
    t.notOk(onA.html.includes(id as string) || onB.html.includes(id as string), 'no session id on either page: handles only')
  }
  t.equal(onA.handles.length, 1, 'one "End this session" form: none for the current session')
  t.same((await devicesPage(laptop, b)).handles, onA.handles, 'the phone’s handle is the same on either instance')

  // The phone is lost: the laptop, on instance A, ends its session.
  const phoneRefresh = await refreshTokenOf(b, phone)
  const ended = await postForm(laptop, a, '/account/sessions/end', { _csrf: onA.csrf, session: onA.handles[0] as string })
  t.equal(ended.status, 303)
  t.equal(ended.headers.get('location'), '/account/sessions?ended=one')
  const after = await devicesPage(laptop, a, ended.headers.get('location') as string)
  t.same(after.kinds, ['current'], 'the page now lists the laptop alone')
  t.match(after.html, /role="status">The session was ended/)

  t.equal(await status(phone, a), 302, 'the phone is anonymous on instance A')
  t.equal(await status(phone, b), 302, 'and on instance B')
  t.equal(await a.app.sessionStore.read(sessionIdOf(phone) ?? '-'), null, 'its record is gone from Redis')
  t.ok(a.cognito.isRefreshTokenRevoked(phoneRefresh), 'its refresh token was revoked at Cognito')
  t.notOk(await refreshAccepted(a, phoneRefresh), 'and Cognito refuses a refresh with it')
  t.equal(await status(laptop, b), 200, 'the laptop is still signed in, on either instance')

  const line = logLines(a).find((entry) => entry.msg === 'session ended from another device')
  t.match(line, { sub: DEMO_SUB, session: /^[A-Za-z0-9_-]{12}$/, from: /^[A-Za-z0-9_-]{12}$/ }, 'logged with the actor’s sub and short hashes')
  t.notOk(a.logs.join('\n').includes(sessionIdOf(laptop) as string), 'the log names no session id')
})

t.test('"Sign out everywhere else" ends every other session of the person, on every instance, and nobody else’s', async (t) => {
  if (!(await requireRedis(t))) return
  const [a, b] = await twoInstances(t)
  const here = new NamedBrowser(FIREFOX)
  const others = [new NamedBrowser(SAFARI_IPHONE), new Browser(), new Browser()]
  const reader = new Browser()
  await signIn(here, a)
  for (const [i, browser] of others.entries()) await signIn(browser, i % 2 ? a : b)
  await signIn(reader, b, READER)
  const refreshTokens = await Promise.all(others.map((browser) => refreshTokenOf(a, browser)))

  const page = await devicesPage(here, a)
  t.same(page.kinds, ['current', 'other', 'other', 'other'], 'four sessions of demo; none of reader')
  const answer = await postForm(here, a, '/account/sessions/end-others', { _csrf: page.csrf })
  t.equal(answer.status, 303)
  t.equal(answer.headers.get('location'), '/account/sessions?ended=others')
  t.same((await devicesPage(here, b)).kinds, ['current'], 'only this device is left')
  for (const [i, browser] of others.entries()) {
    t.equal(await status(browser, a), 302, `other session ${i + 1}: anonymous on A`)
    t.equal(await status(browser, b), 302, `other session ${i + 1}: anonymous on B`)
    t.ok(a.cognito.isRefreshTokenRevoked(refreshTokens[i] as string), `other session ${i + 1}: refresh token revoked`)
  }
  t.equal(await status(here, b), 200, 'this device stays signed in')
  t.equal(await status(reader, a), 200, 'another person is untouched')
  t.match(logLines(a).find((entry) => entry.msg === 'other sessions ended'), { sub: DEMO_SUB, count: 3, from: /^[A-Za-z0-9_-]{12}$/ })
  t.equal(logLines(a).filter((entry) => entry.msg === 'session ended from another device').length, 3, 'and one line per session ended')
})

t.test('WEB-08 the devices forms need the session’s CSRF token and a same-site post; a handle of another person’s session ends nothing', async (t) => {
  const stack = await startStack(t)
  const demo = new Browser()
  const demoPhone = new Browser()
  const reader = new Browser()
  const readerPhone = new Browser()
  await signIn(demo, stack)
  await signIn(demoPhone, stack)
  await signIn(reader, stack, READER)
  await signIn(readerPhone, stack, READER)
  const demoPage = await devicesPage(demo, stack)
  const readerPage = await devicesPage(reader, stack)
  t.equal(readerPage.handles.length, 1, 'reader sees their own other session')

  // demo posts reader's phone's handle, with demo's own valid CSRF token.
  const foreign = await postForm(demo, stack, '/account/sessions/end', { _csrf: demoPage.csrf, session: readerPage.handles[0] as string })
  t.equal(foreign.status, 404, 'another person’s handle: 404')
  t.match(await foreign.text(), /Session not found/)
  t.equal(await status(readerPhone, stack), 200, 'reader’s phone is still signed in')
  t.same((await devicesPage(reader, stack)).kinds, ['current', 'other'], 'and still listed')
  t.match(logLines(stack).find((entry) => String(entry.msg).startsWith('session not ended')), { sub: DEMO_SUB }, 'the attempt is logged')

  const made = await postForm(demo, stack, '/account/sessions/end', { _csrf: demoPage.csrf, session: 'made-up-handle' })
  t.equal(made.status, 404, 'a made-up handle: 404')
  const own = await postForm(demo, stack, '/account/sessions/end', { _csrf: demoPage.csrf })
  t.equal(own.status, 404, 'no handle: 404')

  // Without the token, with another session's token, or posted from another site: refused, nothing ended.
  const handle = demoPage.handles[0] as string
  t.equal((await postForm(demo, stack, '/account/sessions/end', { session: handle })).status, 403, 'no CSRF token: 403')
  t.equal((await postForm(demo, stack, '/account/sessions/end', { _csrf: readerPage.csrf, session: handle })).status, 403, 'another session’s token: 403')
  const crossSite = await demo.post(`${stack.baseUrl}/account/sessions/end`, { _csrf: demoPage.csrf, session: handle }, { 'sec-fetch-site': 'cross-site' })
  t.equal(crossSite.status, 403, 'posted from another site, even with the token: 403')
  t.equal((await demo.post(`${stack.baseUrl}/account/sessions/end-others`, { _csrf: demoPage.csrf }, { 'sec-fetch-site': 'cross-site' })).status, 403, 'end-others from another site: 403')
  t.equal((await postForm(demo, stack, '/account/sessions/end-others', {})).status, 403, 'end-others without the token: 403')
  t.equal(await status(demoPhone, stack), 200, 'demo’s phone is still signed in after all of that')

  const anonymous = new Browser()
  const page = await anonymous.get(`${stack.baseUrl}/account/sessions`)
  t.equal(page.status, 302, 'the devices page needs a signed-in person')
  t.equal(page.headers.get('location'), '/login?returnTo=%2Faccount%2Fsessions')
})

for (const store of ['memory', 'redis'] as const) {
  t.test(`per-person cap (${store}): signing in beyond SESSION_MAX_PER_USER ends that person’s least recently used session, never another person’s`, async (t) => {
    let env: Record<string, string> = { SESSION_MAX_PER_USER: '3' }
    if (store === 'redis') {
      if (!(await requireRedis(t))) return
      const prefix = uniquePrefix('per-user-cap')
      t.teardown(() => deleteKeys(REDIS_URL, prefix))
      env = redisEnv(prefix, env)
    }
    const stack = await startStack(t, { env })
    const touch = touchIntervalMs(stack.config.session.idleTimeoutMs)
    const reader = new Browser()
    await signIn(reader, stack, READER)
    const [first, second, third, fourth] = [new Browser(), new Browser(), new Browser(), new Browser()]
    for (const browser of [first, second, third]) {
      stack.clock.advance(touch + 1000)
      await signIn(browser, stack)
    }
    const secondRefresh = await refreshTokenOf(stack, second)
    // The first session is used again: now the second is the least recently used.
    stack.clock.advance(touch + 1000)
    t.equal(await status(first, stack), 200)
    stack.clock.advance(touch + 1000)
    await signIn(fourth, stack)

    t.equal(await status(second, stack), 302, 'the least recently used session (the second) was ended')
    t.ok(stack.cognito.isRefreshTokenRevoked(secondRefresh), 'and its refresh token revoked')
    for (const [name, browser] of [['first (used since)', first], ['third', third], ['fourth (new)', fourth]] as const) {
      t.equal(await status(browser, stack), 200, `the ${name} session stays`)
    }
    t.same((await devicesPage(fourth, stack)).kinds, ['current', 'other', 'other'], 'three sessions: the cap')
    t.equal(await status(reader, stack), 200, 'another person’s session is untouched')
    t.match(logLines(stack).find((entry) => String(entry.msg).startsWith('session ended: over the per-person')), { sub: DEMO_SUB, session: /^[A-Za-z0-9_-]{12}$/ })
  })
}

t.test('memory store: an index entry leaves with its session (expiry, sweep, sign-out, eviction); nothing is left behind', async (t) => {
  const stack = await startStack(t, { env: { SESSION_IDLE_TIMEOUT: '10m', SESSION_MAX_AGE: '1h', SESSION_MEMORY_MAX: '3' } })
  const store = stack.app.sessionStore.inner as import('../../src/session/stores/memory.js').MemorySessionStore
  const [a, b, c] = [new Browser(), new Browser(), new Browser()]
  await signIn(a, stack)
  await signIn(b, stack)
  const tags = [(sessionIdOf(a) as string).slice(0, 10)]
  t.equal(store.indexedTags, 1, 'one person indexed')
  t.equal((await stack.app.sessionStore.sessionsOf(DEMO_SUB, tags)).length, 2)

  // b idles out (a stays active): listing from a drops b's entry.
  stack.clock.advance(6 * 60_000)
  t.equal(await status(a, stack), 200)
  stack.clock.advance(6 * 60_000)
  t.same((await devicesPage(a, stack)).kinds, ['current'], 'the idle session is no longer listed')
  t.equal((await stack.app.sessionStore.sessionsOf(DEMO_SUB, tags)).length, 1, 'and no longer indexed')

  // Sign-out removes the entry; with the last session the person leaves the index.
  await signOut(a, stack)
  t.equal(store.indexedTags, 0, 'the last session gone, the person is gone from the index')

  // Expiry found by the sweep, and eviction, remove entries too.
  await signIn(c, stack)
  stack.clock.advance(11 * 60_000)
  t.equal(store.sweep(), 1, 'the sweep removes the expired session')
  t.equal(store.indexedTags, 0, 'and its index entry')
  const readers = [new Browser(), new Browser(), new Browser(), new Browser(), new Browser()]
  for (const browser of readers) await signIn(browser, stack, READER)
  t.equal(store.size, 3, 'the store holds its maximum')
  const readerTags = [(sessionIdOf(readers[0] as Browser) as string).slice(0, 10)]
  t.equal((await stack.app.sessionStore.sessionsOf('8f47d2b0-9c3a-70e4-b516-2d8c4e71a9f5', readerTags)).length, 3, 'every indexed session is a stored one')
  t.equal(store.indexedTags, 1, 'evicted sessions left the index')
})

t.test('SESSION_MEMORY_MAX=5 full of one person’s sessions keeps other people signed in', async (t) => {
  for (const [name, env] of [
    ['per-person cap below the store’s', { SESSION_MEMORY_MAX: '5', SESSION_MAX_PER_USER: '3' }],
    ['default per-person cap (20) above it: the store evicts from the person who holds more', { SESSION_MEMORY_MAX: '5' }],
  ] as const) {
    await t.test(name, async (t) => {
      const stack = await startStack(t, { env })
      const demo = new Browser()
      await signIn(demo, stack)
      const readers: Browser[] = []
      for (let i = 0; i < 8; i++) {
        const browser = new Browser()
        await signIn(browser, stack, READER)
        readers.push(browser)
      }
      t.equal(await status(demo, stack), 200, 'demo is still signed in after eight sign-ins by reader')
      t.equal(await status(readers.at(-1) as Browser, stack), 200, 'reader’s newest session works')
      t.equal(await status(readers[0] as Browser, stack), 302, 'reader’s oldest session made way')
    })
  }
})

t.test('Redis: a person’s index is one set beside their sessions, with a TTL of at least the longest session, pruned of sessions that expired', async (t) => {
  if (!(await requireRedis(t))) return
  const prefix = uniquePrefix('index')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const stack = await startStack(t, { env: redisEnv(prefix, { SESSION_IDLE_TIMEOUT: '30m', SESSION_MAX_AGE: '2h' }) })
  const inner = stack.app.sessionStore.inner as import('../../src/session/stores/redis.js').RedisSessionStore
  const admin = inner.client
  const [a, b] = [new Browser(), new Browser()]
  await signIn(a, stack)
  await signIn(b, stack)
  const idA = sessionIdOf(a) as string
  const idB = sessionIdOf(b) as string
  const tag = idA.slice(0, 10)
  t.equal(idB.slice(0, 10), tag, 'both sessions carry the person’s tag')
  const index = `${prefix}{${tag}}:index`
  t.same((await admin.smembers(index)).sort(), [idA, idB].sort(), 'the index lists both session ids')
  const ttl = await admin.pttl(index)
  t.ok(ttl > 2 * 3_600_000 - 60_000 && ttl <= 2 * 3_600_000, `its TTL (${ttl} ms) is the longest a session lives (SESSION_MAX_AGE)`)
  t.equal(await admin.exists(`${prefix}{${tag}}${idA.slice(10)}`), 1, 'the session lives at prefix{tag}rest: one hash tag, one slot')

  // b's key expires in Redis (as its TTL would make it): the next read of the index drops it.
  await admin.del(`${prefix}{${tag}}${idB.slice(10)}`)
  t.same((await devicesPage(a, stack)).kinds, ['current'], 'the expired session is not listed')
  t.same(await admin.smembers(index), [idA], 'and is gone from the index')

  // Sign-out removes the entry at once; with the last one the set itself is gone.
  await signOut(a, stack)
  t.equal(await admin.exists(index), 0, 'no index is left once the person has no session')
})

t.test('a session from before ids carried a tag is still read, and is this device on the page', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack)
  const id = sessionIdOf(browser) as string
  const session = (await stack.app.sessionStore.read(id)) as Session
  // The same record under a 32-character id without a tag and without an owner, as written before.
  const oldId = id.slice(10)
  const { owner: _owner, ...old } = session as Session & { owner?: string }
  await new Promise<void>((resolve, reject) => stack.app.sessionStore.set(oldId, old as Session, (e) => (e ? reject(e) : resolve())))
  const signed = new Signer([...stack.config.session.secrets], 'sha256').sign(oldId)
  browser.setCookie('localhost', 'sid', encodeURIComponent(signed))
  t.equal(await status(browser, stack), 200, 'the old session is read')
  const page = await devicesPage(browser, stack)
  t.equal(page.status, 200)
  t.same(page.kinds, ['current'], 'it is this device (sessions without an owner are not indexed, so nothing else is listed from it)')
})
