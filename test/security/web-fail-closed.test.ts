/**
 * Fail closed: when the session store cannot be read or Cognito's discovery fails, nobody is treated
 * as signed in: protected pages answer 5xx or send to sign in, never the page.
 */
import type { Session } from 'fastify'
import t from 'tap'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import { Browser } from '../helpers/browser.js'
import { signIn, startSharedCognito, startStack } from '../helpers/stack.js'

/** A memory store whose reads fail while `failing` is set. */
class FlakyStore extends MemorySessionStore {
  failing = false
  override get(sessionId: string, callback: (err: unknown, result?: Session | null) => void): void {
    if (this.failing) {
      setImmediate(callback, new Error('store read failed'))
      return
    }
    super.get(sessionId, callback)
  }
}

t.test('WEB-13 a session store that fails to read: protected pages answer 503, never the page', async (t) => {
  const { cognito, clock } = await startSharedCognito(t)
  const store = new FlakyStore({ now: () => clock.now() })
  t.teardown(() => store.close())
  const stack = await startStack(t, { sharedCognito: cognito, clock, deps: { store } })
  const browser = new Browser()
  await signIn(browser, stack)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'signed in while the store works')
  store.failing = true
  for (const path of ['/logged-in', '/admin', '/api/me']) {
    const response = await browser.get(`${stack.baseUrl}${path}`)
    const body = await response.text()
    t.ok(response.status >= 500 || response.status === 302, `${path}: ${response.status}`)
    t.notMatch(body, /data-field="username"|"sub":|Administration</, `${path}: no signed-in content`)
  }
  const home = await browser.get(`${stack.baseUrl}/`)
  t.notMatch(await home.text(), /Welcome back/, 'the home page does not greet anyone')
  store.failing = false
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'back once the store reads again')
})

t.test('WEB-13 discovery failing: sign-in ends in an error page and nobody is signed in', async (t) => {
  const { cognito, clock } = await startSharedCognito(t)
  cognito.faults = { unavailable: true }
  const stack = await startStack(t, { sharedCognito: cognito, clock })
  t.notOk(stack.app.cognito.isReady(), 'discovery has failed')
  const browser = new Browser()
  const login = await browser.get(`${stack.baseUrl}/login`)
  await login.arrayBuffer()
  t.ok(login.status >= 500, `/login: ${login.status}`)
  const page = await browser.get(`${stack.baseUrl}/logged-in`)
  await page.arrayBuffer()
  t.equal(page.status, 302, '/logged-in sends to sign in')
  const api = await browser.get(`${stack.baseUrl}/api/me`)
  t.equal(api.status, 401, '/api/me: unauthenticated')
  t.equal(browser.cookie('localhost', 'sid'), undefined, 'no session')
  cognito.faults = {}
})
