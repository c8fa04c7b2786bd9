import { Redis } from 'ioredis'
import t from 'tap'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { sessionIdOf, signIn, startStack } from '../helpers/stack.js'

t.test('idle timeout: an unused session ends and is deleted; activity keeps it alive and rolls the cookie', async (t) => {
  const stack = await startStack(t, { env: { SESSION_IDLE_TIMEOUT: '2s', SESSION_MAX_AGE: '1h' } })
  const idle = new Browser()
  await signIn(idle, stack)
  const idleSid = sessionIdOf(idle) as string

  const active = new Browser()
  await signIn(active, stack)
  const firstCookie = active.setCookies.filter((c) => c.startsWith('sid=')).at(-1) ?? ''
  for (let i = 0; i < 7; i++) {
    await sleep(450)
    t.equal((await active.get(`${stack.baseUrl}/logged-in`)).status, 200)
  }
  const lastCookie = active.setCookies.filter((c) => c.startsWith('sid=')).at(-1) ?? ''
  const expiresOf = (c: string) => Date.parse(/Expires=([^;]+)/i.exec(c)?.[1] ?? '')
  t.ok(expiresOf(lastCookie) > expiresOf(firstCookie), 'the cookie expiry rolls with activity')
  t.equal((await active.get(`${stack.baseUrl}/logged-in`)).status, 200, 'active after 3 s with a 2 s idle timeout')

  const response = await idle.get(`${stack.baseUrl}/logged-in`)
  t.equal(response.status, 302, 'the idle session is over')
  t.equal(await stack.app.sessionStore.read(idleSid), null, 'and gone from the store')
})

t.test('absolute lifetime ends a session however active it is', async (t) => {
  const stack = await startStack(t, { env: { SESSION_IDLE_TIMEOUT: '2s', SESSION_MAX_AGE: '3s' } })
  const browser = new Browser()
  await signIn(browser, stack)
  const sid = sessionIdOf(browser) as string
  let status = 200
  const started = Date.now()
  while (status === 200 && Date.now() - started < 6000) {
    await sleep(400)
    status = (await browser.get(`${stack.baseUrl}/logged-in`)).status
  }
  const elapsed = Date.now() - started
  t.equal(status, 302, 'sent to sign in again')
  t.ok(elapsed >= 2500 && elapsed < 4500, `ended after the 3 s maximum (${elapsed} ms)`)
  t.equal(await stack.app.sessionStore.read(sid), null, 'deleted from the store')
})

t.test('logout revokes the refresh token; a refresh with it then fails', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const page = await signIn(browser, stack)
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  const refreshToken = session?.tokens?.refreshToken as string
  t.notOk(stack.cognito.isRefreshTokenRevoked(refreshToken))

  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(page.html) })
  t.equal(out.status, 303)
  t.ok(stack.cognito.isRefreshTokenRevoked(refreshToken), 'the emulator reports the refresh token revoked')
  const revoke = stack.cognito.requests.find((r) => r.path === '/oauth2/revoke')
  t.equal(revoke?.clientAuth, 'basic', 'revoked with the client secret')

  const refresh = await fetch(`${stack.cognito.origin}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${stack.clientId}:${stack.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  })
  t.equal(refresh.status, 400)
  t.equal(((await refresh.json()) as { error: string }).error, 'invalid_grant')
})

t.test('a failed revocation is logged without the token and does not block the logout', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const page = await signIn(browser, stack)
  const sid = sessionIdOf(browser) as string
  const refreshToken = (await stack.app.sessionStore.read(sid))?.tokens?.refreshToken as string
  stack.cognito.faults.unavailable = true
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrfTokenOf(page.html) })
  t.equal(out.status, 303)
  t.match(out.headers.get('location') ?? '', /\/logout\?client_id=/)
  t.equal(await stack.app.sessionStore.read(sid), null, 'session destroyed anyway')
  t.equal(browser.cookie('localhost', 'sid'), undefined)
  const logs = stack.logs.join('\n')
  t.match(logs, /revocation failed/)
  t.notOk(logs.includes(refreshToken), 'the token is not in the log')
})

t.test('logout without a CSRF token is refused and keeps the session', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack)
  const out = await browser.post(`${stack.baseUrl}/logout`, {})
  t.equal(out.status, 403)
  t.match(await out.text(), /This form has expired/)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)
})

t.test('expired Redis sessions are deleted, not merely ignored', async (t) => {
  if (!(await requireRedis(t))) return
  const prefix = uniquePrefix('expiry')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.quit())
  const stack = await startStack(t, {
    env: { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, SESSION_IDLE_TIMEOUT: '2s', SESSION_MAX_AGE: '1h' },
  })
  const browser = new Browser()
  await signIn(browser, stack)
  const key = `${prefix}${sessionIdOf(browser)}`
  const ttl = await redis.pttl(key)
  t.ok(ttl > 0 && ttl <= 2000, `key TTL ${ttl} ms follows the idle timeout`)
  await sleep(2300)
  t.equal(await redis.exists(key), 0, 'key gone after the idle timeout')
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 302)
})
