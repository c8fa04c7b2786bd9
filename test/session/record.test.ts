import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type Session } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import type { TokenSet } from '../../src/auth/types.js'
import { MemorySessionStore } from '../../src/session/stores/memory.js'
import { StoredTokenSet, parseSession, serializeSession } from '../../src/session/stores/record.js'
import type { AppSessionStore } from '../../src/session/stores/types.js'
import { requireRedis } from '../helpers/redis.js'
import { redisStoreFor } from './helpers.js'

const SECRET = 'a-test-secret-that-is-at-least-32-characters-long'

/** Token-like strings: long, ending differently for each issue (as a JWT's signature, or a JWE's tag, does). */
function issueTokens (n: number): TokenSet {
  return {
    idToken: `eyJ.id.${'i'.repeat(900)}.signature-of-id-${n}`,
    accessToken: `eyJ.access.${'a'.repeat(800)}.signature-of-access-${n}`,
    refreshToken: `refresh.${'r'.repeat(1500)}.tag-of-refresh-${n}`,
    accessExpiresAt: 1_800_000_000_000 + n
  }
}

const asSession = (data: Record<string, unknown>): Session => data as unknown as Session

t.test('a stored token set reads as the tokens but serialises to a tag without them', async (t) => {
  const tokens = issueTokens(1)
  const stored = new StoredTokenSet(tokens)
  t.same(stored.toRecord(), tokens, 'the same four fields')
  t.equal(stored.accessToken, tokens.accessToken)
  t.equal(stored.idToken, tokens.idToken)
  t.equal(stored.refreshToken, tokens.refreshToken)
  t.equal(stored.accessExpiresAt, tokens.accessExpiresAt)
  t.ok(Object.isFrozen(stored), 'tokens are never changed in place')

  const json = JSON.stringify({ tokens: stored })
  t.ok(json.length < 200, `short JSON form (${json.length} chars)`)
  for (const token of [tokens.idToken, tokens.accessToken, tokens.refreshToken as string]) {
    t.notOk(json.includes(token.slice(0, 40)), 'no token text in the JSON form')
  }
  t.equal(JSON.stringify(new StoredTokenSet(issueTokens(1))), JSON.stringify(stored), 'same tokens, same tag')
  const tags = new Set([
    issueTokens(2),
    { ...tokens, accessToken: issueTokens(2).accessToken },
    { ...tokens, idToken: issueTokens(2).idToken },
    { ...tokens, refreshToken: issueTokens(2).refreshToken },
    { ...tokens, refreshToken: undefined },
    { ...tokens, accessExpiresAt: tokens.accessExpiresAt + 1 }
  ].map((other) => JSON.stringify(new StoredTokenSet(other))))
  t.equal(tags.size, 6, 'any change to any token or the expiry changes the tag')
  t.notOk(tags.has(JSON.stringify(stored)))
})

t.test('serializeSession writes the tokens in full and no cookie; parseSession reads them back as a stored set', async (t) => {
  const tokens = issueTokens(1)
  for (const given of [tokens, new StoredTokenSet(tokens)]) {
    const json = serializeSession(asSession({ cookie: { originalMaxAge: 1000 }, user: { sub: 'u-1' }, tokens: given, signedInAt: 5 }))
    t.same(JSON.parse(json), { user: { sub: 'u-1' }, tokens, signedInAt: 5 }, 'full tokens in the stored text, no cookie')
    const back = parseSession(json)
    t.ok(back?.tokens instanceof StoredTokenSet, 'read back as a stored set')
    t.same((back?.tokens as StoredTokenSet).toRecord(), tokens)
    t.same(back?.user, { sub: 'u-1' })
    t.equal(back?.signedInAt, 5)
  }

  const noRefresh = parseSession(serializeSession(asSession({ tokens: { ...issueTokens(3), refreshToken: undefined } })))
  t.ok(noRefresh?.tokens instanceof StoredTokenSet, 'a set without a refresh token is a token set too')
  t.equal(noRefresh?.tokens?.refreshToken, undefined)

  t.same(parseSession('{"user":{"sub":"u-2"}}'), { user: { sub: 'u-2' } }, 'a session without tokens is left as it is')
  const older = parseSession('{"cookie":{"originalMaxAge":1000,"expires":"2030-01-01T00:00:00.000Z"},"user":{"sub":"u-3"}}')
  t.same(older, { user: { sub: 'u-3' } }, 'a record written with its cookie reads back without it')
  t.notOk(older !== undefined && 'cookie' in older)
  t.same(parseSession('{"tokens":{"idToken":1}}'), { tokens: { idToken: 1 } }, 'something that is not a token set is left as it is')
  for (const bad of ['', 'not json', '[]', 'null', '42', '"text"']) {
    t.equal(parseSession(bad), undefined, `${JSON.stringify(bad)} is not a session`)
  }
})

/** @fastify/session over a store, counting the store's writes. */
async function buildApp (t: Test, store: AppSessionStore): Promise<{ app: FastifyInstance, writes: () => number }> {
  let writes = 0
  const counting = {
    get: store.get.bind(store),
    destroy: store.destroy.bind(store),
    set (id: string, session: Session, callback: (err?: unknown) => void) {
      writes++
      store.set(id, session, callback)
    }
  }
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    store: counting,
    saveUninitialized: false,
    rolling: false,
    cookie: { secure: false, maxAge: 60 * 60 * 1000 }
  })
  app.post('/sign-in', async (request) => {
    await request.session.regenerate()
    request.session.user = { sub: 'u-1' } as Session['user']
    request.session.tokens = issueTokens(1)
    return { ok: true }
  })
  app.get('/page', async (request) => ({ accessToken: request.session.tokens?.accessToken ?? null }))
  app.post('/refresh', async (request) => {
    request.session.tokens = issueTokens(2)
    return { ok: true }
  })
  app.post('/same-tokens-again', async (request) => {
    // Replaced by an equal set (e.g. read back from the store after another instance refreshed).
    request.session.tokens = new StoredTokenSet(issueTokens(2))
    return { ok: true }
  })
  t.teardown(() => app.close())
  await app.ready()
  return { app, writes: () => writes }
}

async function checkChangeDetection (t: Test, store: AppSessionStore): Promise<void> {
  const { app, writes } = await buildApp(t, store)
  const signIn = await app.inject({ method: 'POST', url: '/sign-in' })
  const cookie = signIn.cookies.find((c) => c.name === 'sessionId')
  if (cookie === undefined) throw new Error(`no session cookie after sign-in: ${signIn.statusCode} ${signIn.body}`)
  const cookies = { sessionId: cookie.value }
  const written = writes()
  t.ok(written >= 1, 'sign-in wrote the session')

  for (let i = 0; i < 3; i++) {
    const page = await app.inject({ method: 'GET', url: '/page', cookies })
    t.same(page.json(), { accessToken: issueTokens(1).accessToken }, 'a page view reads the tokens')
  }
  t.equal(writes(), written, 'page views that change nothing write nothing')

  await app.inject({ method: 'POST', url: '/refresh', cookies })
  t.equal(writes(), written + 1, 'new tokens are written')
  const after = await app.inject({ method: 'GET', url: '/page', cookies })
  t.same(after.json(), { accessToken: issueTokens(2).accessToken }, 'and read back by the next request')

  await app.inject({ method: 'POST', url: '/same-tokens-again', cookies })
  t.equal(writes(), written + 1, 'an equal token set is not a change')
}

t.test('memory store: only a real change of tokens saves the session', async (t) => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 })
  t.teardown(() => store.close())
  await checkChangeDetection(t, store)
})

t.test('redis store: only a real change of tokens saves the session; Redis holds the tokens', async (t) => {
  if (!(await requireRedis(t))) return
  const { store, admin, prefix } = await redisStoreFor(t, 'session-record')
  await checkChangeDetection(t, store)
  const keys = await admin.keys(`${prefix}*`)
  t.equal(keys.length, 1, 'one session')
  t.same(JSON.parse((await admin.get(keys[0] as string)) ?? '{}').tokens, issueTokens(2), 'the stored entry holds the latest tokens in full')
})
