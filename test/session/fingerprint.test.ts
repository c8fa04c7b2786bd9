import t from 'tap'
import Fastify from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { deepFreeze } from '../../src/lib/deep-freeze.js'
import { fingerprint, installFingerprint } from '../../src/session/fingerprint.js'
import { MemorySessionStore } from '../../src/session/stores/memory.js'

t.test('the fingerprint changes with any field, and only with a field', async (t) => {
  const user = deepFreeze({ sub: 'u-1', groups: ['a'] })
  const base = { cookie: { expires: 1 }, user, signedInAt: 5, csrfToken: 'abc', flag: true, none: null, gone: undefined }
  const same = fingerprint(base)
  t.equal(fingerprint({ ...base }), same, 'same values, same fingerprint')
  t.equal(fingerprint({ ...base, cookie: { expires: 2 } }), same, 'the cookie is not part of it')
  const changed = [
    { ...base, user: { sub: 'u-1', groups: ['a'] } },
    { ...base, signedInAt: 6 },
    { ...base, signedInAt: '5' },
    { ...base, csrfToken: 'abd' },
    { ...base, flag: false },
    { ...base, none: undefined },
    { ...base, gone: null },
    { ...base, extra: 1 },
    (({ csrfToken: _csrfToken, ...rest }) => rest)(base),
  ].map(fingerprint)
  t.equal(new Set([same, ...changed]).size, changed.length + 1, 'each change gives a new fingerprint (an equal but new object too)')
  t.not(fingerprint({ a: 's1:x' }), fingerprint({ a: 'x' }), 'strings cannot be confused with other encodings')
  t.not(fingerprint({ 'a=s1:x;1:b': 'y' }), fingerprint({ a: 'x', b: 'y' }), 'nor names with values')
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
