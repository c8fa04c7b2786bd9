/**
 * Cognito's discovery when it misbehaves: an endpoint that takes the connection and never answers
 * (aborted at COGNITO_TIMEOUT), and many first requests while discovery is pending and then fails
 * (one call in flight, everyone gets the error, the next request tries again).
 */
import { once } from 'node:events'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadPoolConfig } from '../../src/config/index.js'
import { Browser } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { freePort, type Teardown } from '../helpers/stack.js'

const POOL = 'us-east-1_FaultPool1'

async function startApp(t: Teardown, issuer: string, env: Record<string, string> = {}) {
  const port = await freePort()
  const baseUrl = `http://localhost:${port}`
  const config = loadPoolConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    APP_BASE_URL: baseUrl,
    COGNITO_ISSUER: issuer,
    COGNITO_CLIENT_ID: 'faultclient',
    COGNITO_CLIENT_SECRET: 'fault-client-secret',
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
    ...env,
  })
  const logs: string[] = []
  const app = await buildApp(config, { logStream: { write: (line: string) => void logs.push(line) } })
  t.teardown(() => app.close())
  await app.listen({ port, host: '127.0.0.1' })
  return { app, baseUrl, logs }
}

async function waitFor(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

t.test('FLT-02 a discovery endpoint that accepts the connection and never answers is aborted at COGNITO_TIMEOUT', async (t) => {
  // A raw TCP server: takes every connection, reads the request, never writes a byte.
  const connections: Array<{ openedAt: number; closedAt?: number; socket: Socket }> = []
  const silent = createServer((socket) => {
    const entry: { openedAt: number; closedAt?: number; socket: Socket } = { openedAt: Date.now(), socket }
    connections.push(entry)
    socket.on('data', () => undefined)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      entry.closedAt = Date.now()
    })
  })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(async () => {
    for (const c of connections) c.socket.destroy()
    silent.close()
    await once(silent, 'close')
  })
  const { port } = silent.address() as AddressInfo

  const { baseUrl, logs } = await startApp(t, `http://127.0.0.1:${port}/${POOL}`, { COGNITO_TIMEOUT: '1s' })
  await waitFor(() => connections.length >= 1, 'the discovery connection')
  await waitFor(() => connections[0]?.closedAt !== undefined, 'the app to give up', 5_000)
  const first = connections[0] as { openedAt: number; closedAt: number }
  const held = first.closedAt - first.openedAt
  t.ok(held >= 900 && held < 2_000, `the app hung up after about COGNITO_TIMEOUT (1 s), not openid-client's 30 s (${held} ms)`)
  await waitFor(() => logs.some((l) => l.includes('Cognito discovery failed at')), 'the failure log line')
  const failure = logs.find((l) => l.includes('Cognito discovery failed at')) ?? ''
  t.match(failure, /"reason":"timeout"/, 'logged as a timeout')

  // A person's /login meanwhile: a bounded wait, then the 503 page that says to try again.
  const browser = new Browser()
  const started = Date.now()
  const login = await browser.get(`${baseUrl}/login`)
  const elapsed = Date.now() - started
  t.equal(login.status, 503, '/login answers 503')
  t.equal(login.headers.get('retry-after'), '10', 'with Retry-After')
  t.match(await login.text(), /Cognito could not be reached/)
  t.ok(elapsed < 2_000, `/login waited at most about COGNITO_TIMEOUT (${elapsed} ms)`)
  t.equal((await browser.get(`${baseUrl}/healthz`)).status, 200, 'liveness is fine')
})

t.test('FLT-03 100 concurrent first requests while discovery is pending then failing: one call, all get the error, the next request retries', async (t) => {
  // A discovery endpoint that counts its calls and holds each answer until the test releases it.
  let calls = 0
  let mode: 'hold' | 'ok' = 'hold'
  const held: ServerResponse[] = []
  const fake = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
    if (!request.url?.endsWith('/.well-known/openid-configuration')) {
      response.writeHead(404).end()
      return
    }
    calls++
    if (mode === 'hold') {
      held.push(response)
      return
    }
    const origin = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        issuer: `${origin}/${POOL}`,
        authorization_endpoint: `${origin}/oauth2/authorize`,
        token_endpoint: `${origin}/oauth2/token`,
        jwks_uri: `${origin}/${POOL}/.well-known/jwks.json`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }),
    )
  })
  fake.listen(0, '127.0.0.1')
  await once(fake, 'listening')
  t.teardown(async () => {
    for (const r of held) r.destroy()
    fake.closeAllConnections()
    fake.close()
    await once(fake, 'close')
  })
  const origin = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`

  const { app, baseUrl } = await startApp(t, `${origin}/${POOL}`, { COGNITO_TIMEOUT: '5s', RATE_LIMIT_SIGNIN: '1000' })
  await waitFor(() => calls === 1, 'the first discovery call (at start-up)')
  const provider = app.cognito.provider
  // From here on only requests may call discovery: the background retry loop is stopped.
  provider.close()
  // Counts the requests that have asked for the configuration (and so wait on discovery).
  let askers = 0
  const getConfiguration = provider.getConfiguration.bind(provider)
  provider.getConfiguration = () => {
    askers++
    return getConfiguration()
  }

  const browser = new Browser()
  const pending = Array.from({ length: 100 }, () => browser.get(`${baseUrl}/login`))
  await waitFor(() => askers === 100, 'the 100 requests to wait on discovery', 10_000)
  t.equal(calls, 1, 'while discovery is pending, 100 first requests add no call')
  t.notOk(app.cognito.isReady(), 'discovery not loaded yet')

  // Cognito answers the one call with a failure: every waiting request gets it.
  for (const r of held.splice(0)) r.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable')
  const responses = await Promise.all(pending)
  t.same([...new Set(responses.map((r) => r.status))], [503], 'all 100 requests get the error (503)')
  t.ok(responses.every((r) => r.headers.get('retry-after') === '10'), 'each with Retry-After')
  await Promise.all(responses.map((r) => r.arrayBuffer()))
  t.equal(calls, 1, 'still one discovery call for all of them')

  // The failure is not cached: the next request makes a new call, and sign-in starts.
  mode = 'ok'
  const next = await browser.get(`${baseUrl}/login`)
  t.equal(next.status, 302, 'the next request starts the sign-in')
  t.match(next.headers.get('location') ?? '', new RegExp(`^${origin}/oauth2/authorize\\?`))
  t.equal(calls, 2, 'with one new discovery call')
  t.ok(app.cognito.isReady(), 'discovery is now loaded')
})
