/**
 * SES-16: what a Redis dump shows of a signed-in session: no JWT and no refresh token. The tokens are
 * sealed inside the record (AES-256-GCM, a key derived from SESSION_SECRET); their expiry is kept
 * outside, so a page view with fresh tokens opens nothing; a refresh writes a new sealed set.
 */
import { Redis } from 'ioredis'
import t from 'tap'
import { sessionKey } from '../../src/session/stores/redis.js'
import { createTokenSealer } from '../../src/session/stores/token-sealer.js'
import { Browser } from '../helpers/browser.js'
import { deleteKeys, REDIS_URL, requireRedis, uniquePrefix } from '../helpers/redis.js'
import { moveToRefresh, sessionIdOf, signIn, startStack } from '../helpers/stack.js'

t.test('the token sealer: sealed apart per secret, tamper-evident, several secrets during a rotation', async (t) => {
  const a = createTokenSealer('a'.repeat(40))
  const sealed = a.seal('{"i":"id","a":"access"}')
  t.notMatch(sealed, /access/)
  t.not(a.seal('same text'), a.seal('same text'), 'a fresh nonce each time')
  t.equal(a.open(sealed), '{"i":"id","a":"access"}')
  t.equal(createTokenSealer('b'.repeat(40)).open(sealed), undefined, 'another secret cannot open it')
  t.equal(createTokenSealer(['b'.repeat(40), 'a'.repeat(40)]).open(sealed), '{"i":"id","a":"access"}', 'an older secret still opens it')
  const [v, iv, body = '', tag] = sealed.split('.')
  const flipped = `${body.slice(0, -2)}${body.at(-2) === 'A' ? 'B' : 'A'}${body.at(-1)}`
  t.equal(a.open([v, iv, flipped, tag].join('.')), undefined, 'a changed byte fails authentication')
  t.equal(a.open('garbage'), undefined)
})

t.test('SES-16: a Redis dump of a signed-in session shows no JWT and no refresh token', async (t) => {
  if (!(await requireRedis(t))) return
  const prefix = uniquePrefix('at-rest')
  const admin = new Redis(REDIS_URL)
  t.teardown(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await admin.quit()
  })
  const stack = await startStack(t, { env: { SESSION_STORE: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix } })
  const browser = new Browser()
  t.equal((await signIn(browser, stack)).response.status, 200)
  const id = sessionIdOf(browser) as string
  const session = await stack.app.sessionStore.read(id)
  const tokens = session?.tokens
  t.ok(tokens?.refreshToken && tokens.accessToken.startsWith('eyJ'), 'the app reads its tokens')

  const dump = async (): Promise<string> => (await admin.get(sessionKey(prefix, id))) ?? ''
  const raw = await dump()
  t.ok(raw.length > 0, 'the session is in Redis')
  t.notMatch(raw, /(?<![\w-])eyJ[\w-]+\.[\w-]*\./, 'no JWT in the record')
  t.notOk(raw.includes(tokens?.refreshToken ?? '-'), 'no refresh token in the record')
  t.notOk(raw.includes(tokens?.accessToken ?? '-'), 'no access token in the record')
  t.equal(JSON.parse(raw).tokens.accessExpiresAt, tokens?.accessExpiresAt, 'the expiry is kept outside the seal')

  // A refresh writes a new sealed set; the page goes on.
  moveToRefresh(stack, tokens?.accessExpiresAt as number, 5_000)
  t.equal((await browser.get(`${stack.baseUrl}/logged-in`)).status, 200)
  t.equal(stack.cognito.countGrants('refresh_token'), 1)
  const after = await dump()
  t.not(after, raw, 'rewritten')
  t.notMatch(after, /(?<![\w-])eyJ[\w-]+\.[\w-]*\./, 'still no JWT after the refresh')
})
