import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import { RedisSessionStore } from '../../src/session/stores/redis.js'
import type { AppSessionStore } from '../../src/session/stores/types.js'
import { requireRedis, startOwnRedis, uniquePrefix } from '../helpers/redis.js'
import { redisStoreFor } from './helpers.js'

const SECRET = 'a-test-secret-that-is-at-least-32-characters-long'

/** Session fields used only by this test, reached without augmenting fastify's global Session type. */
type TestFields = { storeTestUser?: string, absoluteExpiresAt?: number }
const fields = (req: FastifyRequest): TestFields => req.session as unknown as TestFields

async function buildApp (t: Test, store: AppSessionStore): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    store,
    saveUninitialized: false,
    cookie: { secure: false, maxAge: 60 * 60 * 1000 }
  })
  app.post('/login', async (req) => {
    await req.session.regenerate()
    fields(req).storeTestUser = 'alice'
    fields(req).absoluteExpiresAt = Date.now() + 30 * 60 * 1000
    return { ok: true }
  })
  app.get('/me', async (req) => ({ user: fields(req).storeTestUser ?? null }))
  app.post('/logout', async (req) => {
    await req.session.destroy()
    return { ok: true }
  })
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** Login, read back, logout; returns the raw session id of the login session. */
async function cookieRoundTrip (t: Test, app: FastifyInstance): Promise<string> {
  const anon = await app.inject({ method: 'GET', url: '/me' })
  t.equal(anon.statusCode, 200)
  t.same(anon.json(), { user: null })
  t.equal(anon.cookies.length, 0, 'saveUninitialized: false → no cookie for an untouched session')

  const login = await app.inject({ method: 'POST', url: '/login' })
  t.equal(login.statusCode, 200)
  const cookie = login.cookies.find((c) => c.name === 'sessionId')
  if (cookie === undefined) throw new Error('no session cookie set by /login')
  t.ok(cookie.httpOnly, 'cookie is httpOnly')

  const me = await app.inject({ method: 'GET', url: '/me', cookies: { sessionId: cookie.value } })
  t.equal(me.statusCode, 200)
  t.same(me.json(), { user: 'alice' }, 'session written in one request is read back in the next')

  const again = await app.inject({ method: 'GET', url: '/me', cookies: { sessionId: cookie.value } })
  t.same(again.json(), { user: 'alice' }, 'still there after a rolling save')

  const forged = await app.inject({ method: 'GET', url: '/me', cookies: { sessionId: cookie.value.replace(/.$/, (c) => c === 'A' ? 'B' : 'A') } })
  t.same(forged.json(), { user: null }, 'a tampered cookie gets no session')

  const logout = await app.inject({ method: 'POST', url: '/logout', cookies: { sessionId: cookie.value } })
  t.equal(logout.statusCode, 200)
  const after = await app.inject({ method: 'GET', url: '/me', cookies: { sessionId: cookie.value } })
  t.same(after.json(), { user: null }, 'destroyed session is gone')
  return cookie.value.split('.')[0] ?? ''
}

t.test('memory store behind @fastify/session', async (t) => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 })
  t.teardown(() => store.close())
  const app = await buildApp(t, store)
  const id = await cookieRoundTrip(t, app)
  t.ok(id.length > 10)
  t.equal(store.size, 0, 'logout removed the only session')
})

t.test('redis store behind @fastify/session', async (t) => {
  if (!(await requireRedis(t))) return
  const { store, admin, prefix } = await redisStoreFor(t, 'fastify-session')
  const app = await buildApp(t, store)

  const login = await app.inject({ method: 'POST', url: '/login' })
  const cookie = login.cookies.find((c) => c.name === 'sessionId')
  const id = cookie?.value.split('.')[0] ?? ''
  const raw = await admin.get(prefix + id)
  t.ok(raw, 'session stored under prefix + id')
  const stored = JSON.parse(raw ?? '{}')
  t.match(stored, { storeTestUser: 'alice' })
  t.notOk('cookie' in stored, 'the cookie is not stored: its attributes come from the options, its expiry is the key TTL')
  const pttl = await admin.pttl(prefix + id)
  t.ok(pttl > 29 * 60 * 1000 && pttl <= 30 * 60 * 1000, `key TTL ${pttl} follows absoluteExpiresAt (30 min), not the 60 min cookie`)

  await cookieRoundTrip(t, app)
  t.equal(await admin.exists(prefix + id), 1, 'the first login session is untouched by the second one')
})

t.test('redis down → 503 from the session layer; back up → sessions work again', async (t) => {
  if (!(await requireRedis(t))) return
  const own = await startOwnRedis()
  t.teardown(() => own.close())
  const store = new RedisSessionStore({ url: own.url, prefix: uniquePrefix('fastify-503') })
  t.teardown(() => store.close())
  t.equal(await store.ping(), true)
  const app = await buildApp(t, store)

  const login = await app.inject({ method: 'POST', url: '/login' })
  const value = login.cookies.find((c) => c.name === 'sessionId')?.value ?? ''
  t.same((await app.inject({ method: 'GET', url: '/me', cookies: { sessionId: value } })).json(), { user: 'alice' })

  await own.stop()
  const started = Date.now()
  const down = await app.inject({ method: 'GET', url: '/me', cookies: { sessionId: value } })
  t.equal(down.statusCode, 503, 'store error carries statusCode 503')
  t.ok(Date.now() - started < 2000, 'answered quickly')
  t.notMatch(down.body, /alice/, 'no session data in the error body')

  await own.start()
  const deadline = Date.now() + 10_000
  while (!(await store.ping()) && Date.now() < deadline) { /* wait for reconnect */ }
  const relogin = await app.inject({ method: 'POST', url: '/login' })
  t.equal(relogin.statusCode, 200)
  const value2 = relogin.cookies.find((c) => c.name === 'sessionId')?.value ?? ''
  t.same((await app.inject({ method: 'GET', url: '/me', cookies: { sessionId: value2 } })).json(), { user: 'alice' }, 'works again without a restart')
})
