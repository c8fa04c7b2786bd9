import t from 'tap'
import Fastify from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { deepFreeze } from '../../src/lib/deep-freeze.js'
import { changedSince, fingerprint, installFingerprint } from '../../src/session/fingerprint.js'
import { MemorySessionStore } from '../../src/session/stores/memory.js'

t.test('a session changed since its fingerprint exactly when a field was added, removed or given another value', async (t) => {
  const user = deepFreeze({ sub: 'u-1', groups: ['a'] })
  const base = { cookie: { expires: 1 }, user, signedInAt: 5, csrfToken: 'abc', flag: true, none: null, gone: undefined, odd: Number.NaN }
  const before = fingerprint(base)
  t.notOk(changedSince(before, { ...base }), 'same values: unchanged')
  t.notOk(changedSince(before, { ...base, cookie: { expires: 2 } }), 'the cookie is not part of it')
  const changed: Array<[string, object]> = [
    ['an equal but new object', { ...base, user: { sub: 'u-1', groups: ['a'] } }],
    ['another number', { ...base, signedInAt: 6 }],
    ['a string for a number', { ...base, signedInAt: '5' }],
    ['another string', { ...base, csrfToken: 'abd' }],
    ['another boolean', { ...base, flag: false }],
    ['undefined for null', { ...base, none: undefined }],
    ['null for undefined', { ...base, gone: null }],
    ['a number for NaN', { ...base, odd: 0 }],
    ['a field added', { ...base, extra: 1 }],
    ['a field removed', (({ csrfToken: _csrfToken, ...rest }) => rest)(base)],
    ['the last field removed', (({ odd: _odd, ...rest }) => rest)(base)],
    ['a field renamed', (({ flag, ...rest }) => ({ ...rest, flagged: flag }))(base)],
  ]
  for (const [what, session] of changed) t.ok(changedSince(before, session), what)
  t.ok(changedSince(undefined, base), 'no fingerprint (never taken): changed')
  t.ok(changedSince('a hex digest', base), 'a fingerprint of another kind: changed')
  t.same(fingerprint({ cookie: 1, a: 'x', b: user }), ['a', 'x', 'b', user], 'names and values, the cookie left out')
})

t.test('deepFreeze freezes all the way down', async (t) => {
  const value = deepFreeze({ user: { groups: ['a'] } })
  t.ok(Object.isFrozen(value) && Object.isFrozen(value.user) && Object.isFrozen(value.user.groups))
  t.throws(() => (value.user.groups as string[]).push('b'), TypeError)
})

/** The session as a bag of untyped fields. */
const bag = (request: { session: unknown }) => request.session as { set(key: string, value: unknown): void, get(key: string): unknown }

t.test('installed in @fastify/session: writes happen exactly when the session changed', async (t) => {
  t.equal(installFingerprint(), true, '@fastify/session has the change check where expected (an upgrade that moves it fails here)')
  t.equal(installFingerprint(), true, 'idempotent')

  const store = new MemorySessionStore({ sweepIntervalMs: 0 })
  let writes = 0
  const counting = {
    get: store.get.bind(store),
    destroy: store.destroy.bind(store),
    set: (id: string, session: never, cb: (err?: unknown) => void) => {
      writes++
      store.set(id, session, cb)
    },
  }
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, { secret: 'a-test-secret-that-is-at-least-32-characters-long', store: counting, saveUninitialized: false, rolling: false, cookie: { secure: false } })
  app.post('/login', async (request) => {
    bag(request).set('profile', { sub: 'u-1', groups: ['a'] })
    return 'ok'
  })
  app.get('/view', async (request) => ({ user: bag(request).get('profile') ?? null }))
  app.post('/rename', async (request) => {
    bag(request).set('profile', { sub: 'u-1', groups: ['a', 'b'] })
    return 'ok'
  })
  app.post('/mutate', async (request) => {
    ;(bag(request).get('profile') as { groups: string[] }).groups.push('c')
    return 'ok'
  })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })

  const anonymous = await app.inject({ method: 'GET', url: '/view' })
  t.equal(anonymous.cookies.length, 0, 'an untouched anonymous session is not saved')
  t.equal(writes, 0)

  const login = await app.inject({ method: 'POST', url: '/login' })
  const cookie = login.cookies.find((c) => c.name === 'sessionId')?.value ?? ''
  t.equal(writes, 1, 'a new value is saved')
  for (let i = 0; i < 3; i++) {
    const view = await app.inject({ method: 'GET', url: '/view', cookies: { sessionId: cookie } })
    t.same(view.json(), { user: { sub: 'u-1', groups: ['a'] } })
    t.equal(view.cookies.length, 0, 'no Set-Cookie on an unchanged view')
  }
  t.equal(writes, 1, 'unchanged page views write nothing')

  await app.inject({ method: 'POST', url: '/rename', cookies: { sessionId: cookie } })
  t.equal(writes, 2, 'a replaced value is saved')
  t.same((await app.inject({ method: 'GET', url: '/view', cookies: { sessionId: cookie } })).json(), { user: { sub: 'u-1', groups: ['a', 'b'] } })

  const mutate = await app.inject({ method: 'POST', url: '/mutate', cookies: { sessionId: cookie } })
  t.equal(mutate.statusCode, 500, 'a change in place of a stored value fails loudly instead of being lost')
  t.equal(writes, 2)
  t.same((await app.inject({ method: 'GET', url: '/view', cookies: { sessionId: cookie } })).json(), { user: { sub: 'u-1', groups: ['a', 'b'] } })
})
