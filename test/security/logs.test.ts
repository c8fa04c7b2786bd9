/**
 * The log: run the sign-in scenarios (success, failures with a code in the URL, sign-out, a forged
 * cookie) and read every line written: no token, code, state, client secret, session id or cookie,
 * and every line written while serving a request carries its request id.
 */
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import t from 'tap'
import { loggerOptions, REDACT_PATHS } from '../../src/logger.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { callbackUrlFor, signIn, startStack } from '../helpers/stack.js'
import { signInWithFaults } from './helpers.js'

t.test('no secret in any log line, a request id on every request line', async (t) => {
  const stack = await startStack(t)
  const startupLines = stack.logs.length
  const secrets = new Set<string>([stack.clientSecret, stack.config.session.secret])

  // 1. A good sign-in, a page view, sign-out.
  const browser = new Browser()
  const result = await signIn(browser, stack)
  const callback = new URL(result.hops.find((h) => h.url.includes('/auth/callback'))?.url ?? '')
  secrets.add(callback.searchParams.get('code') ?? 'missing')
  secrets.add(callback.searchParams.get('state') ?? 'missing')
  const cookie = decodeURIComponent(browser.cookie('localhost', 'sid') ?? '')
  secrets.add(cookie)
  secrets.add(cookie.slice(0, cookie.lastIndexOf('.')))
  secrets.add(browser.setCookies.find((l) => l.startsWith('signin='))?.split(';')[0]?.slice('signin='.length) ?? 'missing')
  const session = await stack.app.sessionStore.read(cookie.slice(0, cookie.lastIndexOf('.')))
  for (const token of [session?.tokens?.idToken, session?.tokens?.accessToken, session?.tokens?.refreshToken]) {
    t.ok(token, 'the session holds a token')
    if (token) secrets.add(token)
  }
  const page = await browser.get(`${stack.baseUrl}/logged-in`)
  const csrf = csrfTokenOf(await page.text())
  secrets.add(csrf)
  await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrf })

  // 2. Failures that carry a code: a stolen code replayed, a forged ID token, a token endpoint error.
  const replay = await new Browser().get(callback.href)
  await replay.arrayBuffer()
  const forged = await signInWithFaults(stack, { idTokenSigning: 'hs256-client-secret' })
  if (forged.code) secrets.add(forged.code)
  const failing = await signInWithFaults(stack, { tokenEndpoint: { status: 500, body: '{"error":"server_error","error_description":"boom"}' } })
  if (failing.code) secrets.add(failing.code)
  // A code whose state does not match, and a request sending an Authorization header and a cookie.
  const other = new Browser()
  const url = new URL(await callbackUrlFor(other, stack))
  secrets.add(url.searchParams.get('code') ?? 'missing')
  secrets.add(other.cookie('localhost', 'signin') ?? 'missing')
  url.searchParams.set('state', 'wrong')
  await (await other.get(url)).arrayBuffer()
  await (await other.get(`${stack.baseUrl}/logged-in`, { authorization: 'Bearer super-secret-bearer', cookie: 'sid=planted.cookie-value' })).arrayBuffer()
  secrets.add('super-secret-bearer')
  secrets.add('planted.cookie-value')

  const lines = stack.logs.slice(startupLines)
  t.ok(lines.length > 20, `the scenarios wrote log lines (${lines.length})`)
  const all = lines.join('\n')
  for (const secret of secrets) {
    t.ok(secret.length >= 8, 'a real secret to look for')
    if (all.includes(secret)) t.fail(`a secret reached the log: ${secret.slice(0, 6)}…`)
  }
  t.pass(`${secrets.size} secrets absent from ${lines.length} lines`)
  t.match(all, /"url":"\/auth\/callback\?code=\[redacted\]&state=\[redacted\]"/, 'callback URLs are logged with the code redacted')

  for (const line of lines) {
    const entry = JSON.parse(line) as { reqId?: string; msg?: string }
    if (typeof entry.reqId !== 'string' || entry.reqId.length < 8) t.fail(`a line without a request id: ${entry.msg}`)
  }
  const ids = new Set(lines.map((l) => (JSON.parse(l) as { reqId: string }).reqId))
  t.ok(ids.size > 10, 'request ids differ between requests')
})

t.test('the redaction list covers cookies, authorization, tokens, codes and the client secret', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const app = Fastify({ logger: loggerOptions('info', { write: (line: string) => void stream.write(line) }) })
  await app.ready()
  const secret = 'VERY-SECRET-VALUE-123'
  app.log.info({
    request: { headers: { cookie: secret, authorization: secret } },
    response: { headers: { 'set-cookie': secret } },
    tokens: { refreshToken: secret, accessToken: secret, idToken: secret },
    settings: { clientSecret: secret },
    body: { code: secret, code_verifier: secret, client_secret: secret, refresh_token: secret, id_token: secret, access_token: secret },
    headers: { authorization: secret, cookie: secret },
  }, 'everything secret at once')
  app.log.info({ headers: { 'set-cookie': [secret] }, code: secret, tokens: { idToken: secret } }, 'again at the top level')
  await app.close()
  t.equal(lines.length, 2)
  for (const line of lines) t.notOk(line.includes(secret), 'all redacted')
  t.match(lines[0], /"\[redacted\]"/)
  t.ok(REDACT_PATHS.length > 5)
})
