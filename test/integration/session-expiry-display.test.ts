import t from 'tap'
import type { Session } from 'fastify'
import { Browser } from '../helpers/browser.js'
import { sessionIdOf, signIn, startStack } from '../helpers/stack.js'

const MINUTE = 60_000

function shownExpiry(html: string): number {
  const match = /data-field="session-expires"><time datetime="([^"]+)"/.exec(html)
  if (!match?.[1]) throw new Error('no session expiry on the page')
  return Date.parse(match[1])
}

t.test('the logged-in page shows when the session ends: the idle window, or the absolute lifetime if sooner', async (t) => {
  const stack = await startStack(t, { env: { SESSION_IDLE_TIMEOUT: '30m', SESSION_MAX_AGE: '1h' } })
  const browser = new Browser()
  const before = Date.now()
  const result = await signIn(browser, stack)
  const after = Date.now()
  t.equal(result.response.status, 200)
  const idleEnd = shownExpiry(result.html)
  t.ok(idleEnd >= before + 30 * MINUTE && idleEnd <= after + 30 * MINUTE, 'idle window: 30 minutes from sign-in')

  // The stored session as the store has it, with an absolute end sooner than the idle window's.
  const sid = sessionIdOf(browser)
  if (!sid) throw new Error('no session cookie')
  const stored = await stack.app.sessionStore.read(sid)
  if (!stored) throw new Error('no stored session')
  const absoluteEnd = Date.now() + 10 * MINUTE
  await new Promise<void>((resolve, reject) =>
    stack.app.sessionStore.set(
      sid,
      { ...stored, cookie: { expires: new Date(Date.now() + 30 * MINUTE) }, absoluteExpiresAt: absoluteEnd } as unknown as Session,
      (error) => (error ? reject(error) : resolve()),
    ),
  )
  const page = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(page.status, 200)
  t.equal(shownExpiry(await page.text()), absoluteEnd, 'the absolute lifetime, when it ends first')
})
