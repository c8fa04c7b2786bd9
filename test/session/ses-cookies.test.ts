/**
 * Session ids and hostile session cookies: ids are long, random and opaque; cookies that are too long,
 * badly encoded, full of format strings, control characters, Unicode or duplicated never cause a 500
 * and never become a store key (Redis store).
 */
import { connect } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import { sessionPlugin } from '../../src/session/index.js'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import type { RedisSessionStore } from '../../src/session/stores/redis.js'
import { Browser } from '../helpers/browser.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { sessionIdOf, signIn, startStack } from '../helpers/stack.js'

const SECRET = 'test-session-secret-that-is-long-enough-0123456789'

/** Each of the 192 bit positions of 32-character base64url ids: the positions set in fewer than 46 % or more than 54 % of them. */
function skewedBits(ids: string[]): Array<readonly [number, number]> {
  const bytes = ids.map((id) => Buffer.from(id, 'base64url'))
  const ones = new Array<number>(192).fill(0)
  for (const b of bytes) for (let bit = 0; bit < 192; bit++) ones[bit] = (ones[bit] ?? 0) + (((b[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1)
  return ones.map((n, bit) => [bit, n / ids.length] as const).filter(([, share]) => share < 0.46 || share > 0.54)
}

t.test('SES-02 10 000 session ids: unique, 192 random bits (≥ 128), every bit varies, no PII; a signed-in id is a 10-character tag of its owner, then the 192 bits', async (t) => {
  // The session plugin as the app registers it, in a bare Fastify with routes that draw ids.
  const app = Fastify()
  const store = new MemorySessionStore({ sweepIntervalMs: 0 })
  await app.register(sessionPlugin, { secret: SECRET, secureCookies: false, idleTimeoutMs: 600_000, maxAgeMs: 3_600_000, store })
  app.get('/ids', async (request) => {
    const ids: string[] = []
    for (let i = 0; i < 10_000; i++) {
      await request.session.regenerate()
      ids.push(request.session.sessionId)
    }
    return ids
  })
  // As at sign-in: the new id carries the owner's tag.
  app.get<{ Querystring: { owner: string } }>('/owned-ids', async (request, reply) => {
    const ids: string[] = []
    for (let i = 0; i < 10_000; i++) {
      await app.startSession(request, reply, { owner: request.query.owner })
      ids.push(request.session.sessionId)
    }
    return ids
  })
  t.teardown(() => app.close())
  const ids = (await app.inject({ url: '/ids' })).json() as string[]
  t.equal(ids.length, 10_000)
  t.equal(new Set(ids).size, 10_000, 'all unique')
  t.ok(ids.every((id) => /^[A-Za-z0-9_-]{32}$/.test(id)), 'an id without an owner is 32 base64url characters')
  t.ok(ids.every((id) => Buffer.from(id, 'base64url').length === 24), '24 bytes = 192 bits each (≥ 128)')
  // Each of the 192 bit positions is set in about half of the ids: no fixed, counting or clock part.
  t.same(skewedBits(ids), [], 'every bit is set in 46–54 % of the ids')

  const owned = (await app.inject({ url: '/owned-ids?owner=3c1e9a52-41f0-7011-8d2b-6a9e0f4c7b13' })).json() as string[]
  t.equal(new Set(owned).size, 10_000, 'ids with an owner: all unique')
  t.ok(owned.every((id) => /^[A-Za-z0-9_-]{42}$/.test(id)), 'each is 42 base64url characters')
  const tags = new Set(owned.map((id) => id.slice(0, 10)))
  t.equal(tags.size, 1, 'the first 10 are the owner\'s tag, the same for each of their sessions')
  t.same(skewedBits(owned.map((id) => id.slice(10))), [], 'the other 32 are 192 random bits, each set in 46–54 % of the ids')
  const other = (await app.inject({ url: '/owned-ids?owner=someone-else' })).json() as string[]
  t.not(other[0]?.slice(0, 10), [...tags][0], 'another owner has another tag')

  // The ids the real app hands out at sign-in have the same form and say nothing about the person.
  const stack = await startStack(t)
  const browser = new Browser()
  await signIn(browser, stack)
  const id = sessionIdOf(browser) as string
  t.match(id, /^[A-Za-z0-9_-]{42}$/, 'a signed-in session id: the owner\'s tag, then 192 random bits')
  t.equal(id.slice(0, 10), [...tags][0], 'its tag is the person\'s (an HMAC of the sub under the session secret)')
  for (const pii of ['demo', 'Demo User', 'demo@example.com', '3c1e9a52']) t.notOk(id.includes(pii), `no ${pii} in the id`)
})

/** Sends a raw GET with the given Cookie header bytes (what fetch would refuse to send) and returns the status line. */
function rawGet(port: number, cookie: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
    })
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)))
    socket.on('error', reject)
    socket.write(Buffer.concat([Buffer.from('GET /logged-in HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: '), cookie, Buffer.from('\r\n\r\n')]))
  })
}

t.test('SES-04 hostile session cookies (8 KB, bad base64, %s%n, CRLF, NUL, Unicode, duplicates): no 500, anonymous, never a Redis key', async (t) => {
  if (!(await requireRedis(t))) return
  const prefix = uniquePrefix('ses-hostile')
  t.teardown(() => deleteKeys(REDIS_URL, prefix))
  const stack = await startStack(t, { env: { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix } })
  const owner = new Browser()
  await signIn(owner, stack)
  const real = owner.cookie('localhost', 'sid') as string
  const port = Number(new URL(stack.baseUrl).port)

  // Every id the app looks up in the store.
  const inner = stack.app.sessionStore.inner
  const lookedUp: string[] = []
  const get = inner.get.bind(inner)
  inner.get = (id, callback) => {
    lookedUp.push(id)
    get(id, callback)
  }

  const hostile: Array<[string, Buffer]> = [
    ['8 KB', Buffer.from(`sid=${'A'.repeat(8192)}`)],
    ['8 KB with a dot', Buffer.from(`sid=${'A'.repeat(4096)}.${'B'.repeat(4096)}`)],
    ['invalid base64', Buffer.from('sid=!!!***$$$.@@@===')],
    ['format strings', Buffer.from('sid=%s%n%s%n%x%x.%s%n')],
    ['percent-encoded format strings', Buffer.from('sid=%25s%25n%25s%25n.%25x')],
    ['CRLF', Buffer.from('sid=abc\r\nX-Injected: 1')],
    ['encoded CRLF', Buffer.from('sid=abc%0d%0aX-Injected:%201.sig')],
    ['NUL', Buffer.from('sid=abc\u0000def.sig', 'latin1')],
    ['encoded NUL', Buffer.from('sid=abc%00def.sig')],
    ['Unicode (UTF-8 bytes)', Buffer.from('sid=ünï©ødé✓.🍪', 'utf8')],
    ['duplicate cookies', Buffer.from(`sid=forged.value; sid=${real}; sid=another`)],
    ['duplicate, real one first', Buffer.from(`sid=${real}; sid=forged.value`)],
    ['empty', Buffer.from('sid=')],
    ['only separators', Buffer.from('sid=;;;===;')],
  ]
  for (const [name, cookie] of hostile) {
    const status = await rawGet(port, cookie)
    t.ok(status >= 200 && status < 500, `${name}: answered ${status}, not a 5xx`)
    if (!name.startsWith('duplicate, real')) t.not(status, 200, `${name}: not served as a session`)
  }
  const unexpected = lookedUp.filter((id) => id !== sessionIdOf(owner))
  t.same(unexpected, [], 'no hostile value was ever looked up as a session id (only signed ids reach the store)')
  const keys = await (inner as RedisSessionStore).client.keys(`${prefix}*`)
  const shapes = /^(?:[A-Za-z0-9_-]{32}|\{[A-Za-z0-9_-]{10}\}(?:[A-Za-z0-9_-]{32}|:index)|lock:.*|name:[A-Za-z0-9_-]{22})$/
  t.ok(keys.length > 0 && keys.every((key) => shapes.test(key.slice(prefix.length))), 'every Redis key is prefix + a session id ({tag} + 32 characters), a person\'s index, a lock or a person\'s other name')

  // The app is still up, and the real session still works.
  t.equal((await owner.get(`${stack.baseUrl}/logged-in`)).status, 200, 'the real session still works')
  t.equal((await new Browser().get(`${stack.baseUrl}/`)).status, 200, 'the app still serves')
})
