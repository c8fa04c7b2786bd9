/**
 * LOAD-04: the refresh lock in Redis when its holder dies or a waiter gives up. A dead holder's lock
 * expires by its TTL and the next request refreshes (once); a waiter that gives up uses the session
 * another instance already refreshed, else is served while the access token lasts, else gets a 503;
 * the token is never refreshed twice.
 */
import { Redis } from 'ioredis'
import type { Session } from 'fastify'
import t, { type Test } from 'tap'
import { refreshLockTtlMs } from '../../src/auth/refresh.js'
import { lockKey } from '../../src/session/stores/redis.js'
import { Browser } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { moveToRefresh, sessionIdOf, signIn, startStack, type Stack } from '../helpers/stack.js'

if (await requireRedis(t)) {
  const prefix = uniquePrefix('load-lock')
  const admin = new Redis(REDIS_URL)
  t.teardown(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await admin.quit()
  })
  const lockTtl = refreshLockTtlMs(3_000)

  /** A fresh stack and a signed-in browser; the lock key of its session; its tokens. */
  async function signedIn(t: Test) {
    const stack = await startStack(t, { env: { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, COGNITO_TIMEOUT: '3s' } })
    const browser = new Browser()
    await signIn(browser, stack)
    const id = sessionIdOf(browser) as string
    const session = await stack.app.sessionStore.read(id)
    const tokens = session?.tokens
    t.ok(tokens?.refreshToken, 'signed in with a refresh token')
    return { stack, browser, id, lockKey: lockKey(prefix, `refresh:${id}`), tokens: tokens as NonNullable<typeof tokens> }
  }

  /** What another instance leaves behind after refreshing: a real refresh grant at Cognito, its tokens saved in the session. */
  async function saveRefreshedElsewhere(stack: Stack, id: string): Promise<number> {
    const session = (await stack.app.sessionStore.read(id)) as Session
    const answer = await fetch(`${stack.cognito.origin}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${stack.clientId}:${stack.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: session.tokens?.refreshToken as string }).toString(),
    })
    const body = (await answer.json()) as { id_token: string; access_token: string; expires_in: number }
    const accessExpiresAt = stack.clock.now() + body.expires_in * 1000
    const tokens = { idToken: body.id_token, accessToken: body.access_token, refreshToken: session.tokens?.refreshToken, accessExpiresAt }
    await new Promise<void>((resolve, reject) => stack.app.sessionStore.set(id, { ...session, tokens } as unknown as Session, (e) => (e ? reject(e) : resolve())))
    return accessExpiresAt
  }

  t.test('LOAD-04 the lock holder died: its lock expires by TTL and the next request refreshes, once', async (t) => {
    const { stack, browser, lockKey, tokens } = await signedIn(t)
    t.equal(await admin.set(lockKey, 'instance-that-died', 'PX', 300, 'NX'), 'OK', 'a dead instance holds the lock for 300 ms more')
    moveToRefresh(stack, tokens.accessExpiresAt, 5_000)
    const started = Date.now()
    const page = await browser.get(`${stack.baseUrl}/logged-in`)
    t.equal(page.status, 200, 'served')
    t.ok(Date.now() - started >= 250, `it waited for the lock to expire (${Date.now() - started} ms)`)
    t.equal(stack.cognito.countGrants('refresh_token'), 1, 'then refreshed, once')
    t.equal(await admin.exists(lockKey), 0, 'and released the lock')
    t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)
    t.equal(stack.cognito.countGrants('refresh_token'), 1, 'never twice')
  })

  t.test('LOAD-04 a waiter that times out uses the session another instance already refreshed: no refresh of its own', async (t) => {
    const { stack, browser, id, lockKey, tokens } = await signedIn(t)
    await admin.set(lockKey, 'instance-that-died-after-saving', 'PX', 60_000)
    stack.clock.advanceTo(tokens.accessExpiresAt + 1_000) // the access token has expired
    const pending = browser.get(`${stack.baseUrl}/logged-in`)
    await sleep(100) // the request is waiting for the lock
    const expiresAt = await saveRefreshedElsewhere(stack, id)
    stack.clock.advance(lockTtl + 1_000) // and its wait is over
    const page = await pending
    t.equal(page.status, 200, 'served with the refreshed session')
    t.match(await page.text(), /data-field="username">demo</)
    t.equal(stack.cognito.countGrants('refresh_token'), 1, 'one refresh grant, the other instance’s: the waiter made none')
    t.equal((await stack.app.sessionStore.read(id))?.tokens?.accessExpiresAt, expiresAt)
    await admin.del(lockKey)
  })

  t.test('LOAD-04 a waiter that times out with nothing refreshed: served while the access token lasts, 503 after; then one refresh', async (t) => {
    const { stack, browser, lockKey, tokens } = await signedIn(t)
    await admin.set(lockKey, 'instance-that-hangs', 'PX', 60_000)

    moveToRefresh(stack, tokens.accessExpiresAt, 5_000) // inside the refresh margin, still valid
    const stillValid = browser.get(`${stack.baseUrl}/logged-in`)
    await sleep(100)
    stack.clock.advance(lockTtl + 1_000)
    t.ok(stack.clock.now() < tokens.accessExpiresAt + lockTtl + 1_000)
    const first = await stillValid
    // Past the wait the access token may have expired too: either served (valid) or 503, never a refresh.
    t.ok(first.status === 200 || first.status === 503, `gave up waiting: ${first.status}`)

    stack.clock.advanceTo(tokens.accessExpiresAt + 1_000) // the access token has expired
    const expired = browser.get(`${stack.baseUrl}/logged-in`)
    await sleep(100)
    stack.clock.advance(lockTtl + 1_000)
    const page = await expired
    t.equal(page.status, 503, 'expired and nobody refreshed: 503')
    t.match(await page.text(), /Cognito cannot be reached|try again/i)
    t.equal(stack.cognito.countGrants('refresh_token'), 0, 'the waiter never refreshed while another held the lock')
    t.ok(browser.cookie('localhost', 'sid'), 'the session is kept')

    await admin.del(lockKey) // the hung instance's lock is gone
    t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'the next request refreshes')
    t.equal(stack.cognito.countGrants('refresh_token'), 1, 'once')
  })
}
