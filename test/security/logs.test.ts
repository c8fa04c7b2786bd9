/**
 * The log: run the sign-in scenarios (success, failures with a code in the URL, sign-out, a forged
 * cookie) and read every line written: no token, code, state, client secret, session id or cookie,
 * and every line written while serving a request carries its request id.
 */
import Fastify from 'fastify'
import t from 'tap'
import { generateRequestId, LOGGED_OBJECTS, loggerOptions, REDACT_PATHS } from '../../src/lib/logger.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { callbackUrlFor, signIn, startStack } from '../helpers/stack.js'
import { signInWithFaults } from './helpers.js'

t.test('WEB-14 no secret in any log line, a request id on every request line', async (t) => {
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
  t.ok(lines.length > 12, `the scenarios wrote log lines (${lines.length})`)
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

t.test('request ids are unique, and carry an instance part that tells processes apart', async (t) => {
  const ids = Array.from({ length: 10_000 }, () => generateRequestId())
  t.equal(new Set(ids).size, ids.length, 'no id repeats')
  const instances = new Set(ids.map((id) => id.split('-')[0]))
  t.equal(instances.size, 1, 'one instance part per process')
  t.match(ids[0], /^[0-9a-f]{10}-[0-9a-z]+$/)
})

t.test('the redaction list covers cookies, authorization, tokens, codes and the client secret', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: loggerOptions('info', { write: (line: string) => void lines.push(line) }) })
  await app.ready()
  const secret = 'VERY-SECRET-VALUE-123'
  const secrets = (): Record<string, unknown> => ({
    headers: { cookie: secret, authorization: secret, 'set-cookie': [secret] },
    refreshToken: secret,
    accessToken: secret,
    idToken: secret,
    clientSecret: secret,
    codeVerifier: secret,
    password: secret,
    refresh_token: secret,
    access_token: secret,
    id_token: secret,
    client_secret: secret,
    code_verifier: secret,
  })
  app.log.info({ ...secrets(), code: secret }, 'at the top level')
  for (const object of LOGGED_OBJECTS) app.log.info({ [object]: secrets() }, `inside ${object}`)
  app.log.info({ query: { code: secret }, body: { code: secret }, params: { code: secret } }, 'codes')
  app.log.info({ err: { code: 'ERR_SOMETHING', message: 'kept' } }, 'an error code')
  await app.close()
  t.equal(lines.length, LOGGED_OBJECTS.length + 3)
  for (const line of lines) {
    const entry = JSON.parse(line) as { msg: string }
    t.notOk(line.includes(secret), `all redacted: ${entry.msg}`)
  }
  t.match(lines[0], /"refreshToken":"\[redacted\]"/, 'replaced, not dropped')
  t.match(lines.at(-1), /"code":"ERR_SOMETHING"/, 'error codes are kept')
  t.ok(REDACT_PATHS.every((path) => !path.includes('*')), 'exact paths only: a wildcard costs about 1 µs on every line')
})

/** What a stack logged since `before`, parsed. */
function entriesSince(stack: { logs: string[] }, before: number): Array<Record<string, unknown>> {
  return stack.logs.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>)
}

t.test('one access-log line per request, at info level only', async (t) => {
  const stack = await startStack(t)
  const before = stack.logs.length
  const response = await fetch(`${stack.baseUrl}/logged-out?code=secret-code-123&x=1`)
  await response.arrayBuffer()
  const missing = await fetch(`${stack.baseUrl}/no-such-page`)
  await missing.arrayBuffer()
  const lines = entriesSince(stack, before)
  const access = lines.filter((entry) => entry.msg === 'request completed')
  t.equal(access.length, 2, 'one line for each request')
  t.notOk(lines.some((entry) => entry.msg === 'incoming request'), 'not two')
  t.match(access[0], { level: 30, method: 'GET', url: '/logged-out?code=[redacted]&x=1', statusCode: 200, responseTime: Number, reqId: String })
  t.match(access[1], { method: 'GET', url: '/no-such-page', statusCode: 404 })
  t.not(access[0]?.reqId, access[1]?.reqId, 'each with its own request id')

  // The stylesheet and the logo come with every page: not logged, unless they fail.
  const staticBefore = stack.logs.length
  t.equal((await fetch(`${stack.baseUrl}/public/css/site.css`)).status, 200)
  t.equal((await fetch(`${stack.baseUrl}/public/css/missing.css`)).status, 404)
  const staticLines = entriesSince(stack, staticBefore).filter((entry) => entry.msg === 'request completed')
  t.same(staticLines.map((entry) => [entry.url, entry.statusCode]), [['/public/css/missing.css', 404]], 'a served static file is not logged, a missing one is')
  t.notOk(JSON.stringify(lines).includes('secret-code-123'), 'the code in the URL is not logged')

  const quiet = await startStack(t, { env: { LOG_LEVEL: 'warn' } })
  const quietBefore = quiet.logs.length
  await (await fetch(`${quiet.baseUrl}/logged-out`)).arrayBuffer()
  await (await fetch(`${quiet.baseUrl}/no-such-page`)).arrayBuffer()
  t.same(quiet.logs.slice(quietBefore), [], 'nothing at LOG_LEVEL=warn')
})

t.test('ACCESS_LOG=errors (the production default): refused and missing pages only, security events always', async (t) => {
  const stack = await startStack(t, { env: { ACCESS_LOG: 'errors' } })
  const browser = new Browser()
  await signIn(browser, stack)
  const before = stack.logs.length
  const page = await browser.get(`${stack.baseUrl}/logged-in`)
  t.equal(page.status, 200)
  const csrf = csrfTokenOf(await page.text())
  const forged = await browser.post(`${stack.baseUrl}/logout`, { _csrf: 'forged-token' })
  t.equal(forged.status, 403)
  await forged.arrayBuffer()
  const missing = await browser.get(`${stack.baseUrl}/no-such-page?token=leaked-value`)
  t.equal(missing.status, 404)
  await missing.arrayBuffer()
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: csrf })
  t.equal(out.status, 303)

  const entries = entriesSince(stack, before)
  const access = entries.filter((entry) => entry.msg === 'request completed')
  t.same(
    access.map((entry) => [entry.method, entry.url, entry.statusCode]),
    [
      ['POST', '/logout', 403],
      ['GET', '/no-such-page?token=[redacted]', 404],
    ],
    'a line for the refused form and the missing page, none for the page view or the sign-out',
  )
  t.match(access[0], { level: 30, responseTime: Number, reqId: String, remoteAddress: String })
  const signedOut = entries.filter((entry) => entry.msg === 'signed out')
  t.equal(signedOut.length, 1, 'the sign-out is logged as an event of its own')
  t.match(signedOut[0], { level: 30, sub: String, reqId: String })
  t.notOk(JSON.stringify(entries).includes('leaked-value'), 'sensitive query values stay redacted')
})

t.test('ACCESS_LOG=off: no access line, security events still logged', async (t) => {
  const stack = await startStack(t, { env: { ACCESS_LOG: 'off' } })
  const browser = new Browser()
  const before = stack.logs.length
  await signIn(browser, stack)
  await (await browser.get(`${stack.baseUrl}/no-such-page`)).arrayBuffer()
  const entries = entriesSince(stack, before)
  t.equal(entries.filter((entry) => entry.msg === 'request completed').length, 0, 'no access line, not even for a 404')
  t.equal(entries.filter((entry) => entry.msg === 'signed in').length, 1, 'the sign-in is logged')
})
