import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadPoolConfig } from '../../src/config/index.js'
import { defaultLocalClient, startLocalCognito } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { freePort, signIn, type Stack } from '../helpers/stack.js'

const formAction = (response: Response) =>
  /(?:^|;)\s*form-action ([^;]*)/.exec(response.headers.get('content-security-policy') ?? '')?.[1]

t.test('FLT-01 Cognito down at start-up: the app starts, serves public pages, and sign-in works once Cognito answers', async (t) => {
  const cognitoPort = await freePort()
  const appPort = await freePort()
  const baseUrl = `http://localhost:${appPort}`
  const client = defaultLocalClient(baseUrl)
  const config = loadPoolConfig({
    NODE_ENV: 'test',
    APP_BASE_URL: baseUrl,
    COGNITO_ISSUER: `http://127.0.0.1:${cognitoPort}/us-east-1_LocalPool1`,
    COGNITO_CLIENT_ID: client.clientId,
    COGNITO_CLIENT_SECRET: client.clientSecret,
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
    COGNITO_TIMEOUT: '2s',
    LOG_LEVEL: 'warn',
  })
  const logs: string[] = []
  const app = await buildApp(config, { logStream: { write: (line) => void logs.push(line) } })
  t.teardown(() => app.close())
  await app.listen({ port: appPort, host: '127.0.0.1' })

  const browser = new Browser()
  const before = await browser.get(`${baseUrl}/healthz`)
  t.equal(before.status, 200, 'healthz while Cognito is down')
  t.equal(formAction(before), "'self'", 'before discovery, forms may post only here (no COGNITO_DOMAIN set)')
  t.equal((await browser.get(`${baseUrl}/`)).status, 200, 'public page while Cognito is down')
  const ready = await browser.get(`${baseUrl}/readyz`)
  t.equal(ready.status, 503)
  t.same(((await ready.json()) as { checks: unknown }).checks, { cognitoDiscovery: 'unavailable', sessionStore: 'ok' })
  const login = await browser.get(`${baseUrl}/login`)
  t.equal(login.status, 503, 'sign-in explains that Cognito cannot be reached')
  t.equal(login.headers.get('retry-after'), '10', 'and when to try again')
  const html = await login.text()
  t.match(html, /Cognito could not be reached/)
  t.match(html, /Try again/)
  t.notMatch(html, /ECONNREFUSED|127\.0\.0\.1/, 'the page names neither the error code nor the address')
  t.equal((await browser.get(`${baseUrl}/logged-in`)).status, 302, 'protected pages still redirect to sign-in')

  const cognito = await startLocalCognito({ port: cognitoPort, clients: [client] })
  t.teardown(() => cognito.close())
  let status = 503
  for (let i = 0; i < 100 && status !== 200; i++) {
    await sleep(100)
    status = (await browser.get(`${baseUrl}/readyz`)).status
  }
  t.equal(status, 200, 'ready once discovery succeeds on a background retry')
  t.equal(formAction(await browser.get(`${baseUrl}/`)), `'self' ${cognito.origin}`, 'after discovery, the CSP admits Cognito for the sign-out redirect')
  const retry = logs.find((l) => l.includes('Cognito discovery failed at'))
  t.match(retry, `Cognito discovery failed at http://127.0.0.1:${cognitoPort}/`, 'the retries were logged with the issuer')
  t.match(retry, `ECONNREFUSED 127.0.0.1:${cognitoPort}`, 'and what went wrong there')

  const stack = { app, cognito, config, baseUrl, clientId: client.clientId, clientSecret: client.clientSecret, logs } as Stack
  const result = await signIn(browser, stack)
  t.equal(result.response.status, 200)
  t.equal(new URL(result.url).pathname, '/logged-in')

  // Discovery and JWKS were fetched once; page views do not reach Cognito.
  const discoveries = cognito.requests.filter((r) => r.path.endsWith('/.well-known/openid-configuration')).length
  const jwks = cognito.requests.filter((r) => r.path.endsWith('/.well-known/jwks.json')).length
  t.equal(discoveries, 1, 'one discovery request')
  t.equal(jwks, 1, 'one JWKS request')
  cognito.resetRequests()
  for (let i = 0; i < 5; i++) await browser.get(`${baseUrl}/logged-in`)
  await browser.get(`${baseUrl}/`)
  t.equal(cognito.requests.length, 0, 'page views never wait on Cognito')
})
