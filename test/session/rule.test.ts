/**
 * The rule the session speed-ups rest on (stated once, in src/session/plugin.ts): a session's values
 * are replaced, never changed in place. Every store hands back deep-frozen values, so a change in
 * place throws instead of being silently lost by the identity-based change check; and the app's own
 * updates (sign-in, refresh, the idle slide) replace values, which the change check sees and saves.
 */
import t, { type Test } from 'tap'
import type { Session } from 'fastify'
import { changedSince, fingerprint } from '../../src/session/fingerprint.js'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import type { AppSessionStore } from '../../src/session/stores/types.js'
import { Browser } from '../helpers/browser.js'
import { requireRedis } from '../helpers/redis.js'
import { redisStoreFor } from './helpers.js'
import { sessionIdOf, signIn, startStack } from '../helpers/stack.js'

const record = {
  user: { sub: 'u-1', username: 'ada', groups: ['admin'] },
  tokens: { idToken: 'id.t.x', accessToken: 'ac.t.x', refreshToken: 'rf.t.x', accessExpiresAt: Date.now() + 60_000 },
  lastSeenAt: Date.now(),
} as unknown as Session

function roundTrip(store: AppSessionStore, id: string): Promise<Session> {
  return new Promise((resolve, reject) => {
    store.set(id, record, (error) => {
      if (error) return reject(error)
      store.get(id, (err, session) => (err || !session ? reject(err ?? new Error('no session')) : resolve(session)))
    })
  })
}

function assertHeldToTheRule(t: Test, session: Session): void {
  const s = session as unknown as { user: { name?: string; groups: string[] }; tokens: { accessToken: string } }
  t.ok(Object.isFrozen(session) && Object.isFrozen(s.user) && Object.isFrozen(s.user.groups) && Object.isFrozen(s.tokens), 'deep-frozen')
  t.throws(() => { s.user.name = 'changed in place' }, TypeError, 'a field of a value cannot be changed in place')
  t.throws(() => { s.user.groups.push('staff') }, TypeError, 'nor a list inside it')
  t.throws(() => { s.tokens.accessToken = 'x' }, TypeError, 'nor a token')
  // Why it matters: the change check compares values by identity, so a change in place would not be seen.
  const before = fingerprint(session)
  t.notOk(changedSince(before, { ...session }), 'the same values are no change')
  t.ok(changedSince(before, { ...session, user: { ...s.user } }), 'a replaced value is seen as a change')
}

t.test('the memory store hands back values that cannot be changed in place', async (t) => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 })
  t.teardown(() => store.close())
  assertHeldToTheRule(t, await roundTrip(store, 'rule-memory'))
})

t.test('the Redis store hands back values that cannot be changed in place', async (t) => {
  if (!(await requireRedis(t))) return
  const { store } = await redisStoreFor(t, 'rule')
  assertHeldToTheRule(t, await roundTrip(store, 'rule-redis'))
})

t.test('through the app: a signed-in session read back is frozen, and a refresh replaces its values', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  t.equal((await signIn(browser, stack)).response.status, 200)
  const id = sessionIdOf(browser) as string
  const first = (await stack.app.sessionStore.read(id)) as Session
  assertHeldToTheRule(t, first)

  stack.clock.advance(3_600_000)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200, 'refreshed on the next page view')
  const second = (await stack.app.sessionStore.read(id)) as Session
  t.not(second.tokens, first.tokens, 'the refresh replaced the token set')
  t.not(second.tokens?.accessToken, first.tokens?.accessToken, 'with new tokens, saved to the store')
  assertHeldToTheRule(t, second)
})
