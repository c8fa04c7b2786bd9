/**
 * BCP-15: the back-channel calls to Cognito verify the server's certificate. An https "issuer" whose
 * certificate no authority vouches for (self-signed, as a man in the middle would present) is never
 * talked to: discovery fails before any HTTP request is sent, sign-in answers 503, nobody is sent on.
 */
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startStack } from '../helpers/stack.js'

/** A self-signed certificate for 127.0.0.1, made for this test. */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bcp-tls-'))
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** An https server that answers discovery for its own issuer and counts the requests it got. */
async function startFakeIssuer(t: Test): Promise<{ issuer: string; requests: () => number; server: Server }> {
  let count = 0
  const server = createServer(selfSignedCertificate(), (request, response) => {
    count++
    const origin = `https://127.0.0.1:${(server.address() as { port: number }).port}`
    const issuer = `${origin}/us-east-1_Tls000001`
    if (request.url?.endsWith('/.well-known/openid-configuration')) {
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({
        issuer,
        authorization_endpoint: `${origin}/oauth2/authorize`,
        token_endpoint: `${origin}/oauth2/token`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      }))
      return
    }
    response.statusCode = 404
    response.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as { port: number }
  return { issuer: `https://127.0.0.1:${port}/us-east-1_Tls000001`, requests: () => count, server }
}

t.test('BCP-15 an https issuer with a certificate nobody vouches for is never talked to: no request reaches it, sign-in answers 503', async (t) => {
  const fake = await startFakeIssuer(t)
  const stack = await startStack(t, { env: { COGNITO_ISSUER: fake.issuer, COGNITO_TIMEOUT: '2s' } })
  t.equal(stack.app.cognito.provider.isReady, false, 'discovery did not succeed')
  const login = await fetch(`${stack.baseUrl}/login`, { redirect: 'manual' })
  t.equal(login.status, 503, 'sign-in is unavailable, not sent to an unverified server')
  t.equal(login.headers.get('location'), null)
  t.equal(fake.requests(), 0, 'the TLS handshake failed: not one HTTP request was sent to it')
  t.ok(stack.logs.some((line) => /certificate|self.signed/i.test(line)), 'the log says why')
})

t.test('BCP-15 control: the same server is reached once certificate checks are turned off (what the app never does)', async (t) => {
  const fake = await startFakeIssuer(t)
  const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
  t.teardown(() => {
    if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before
  })
  const stack = await startStack(t, { env: { COGNITO_ISSUER: fake.issuer, COGNITO_TIMEOUT: '2s' } })
  t.equal(stack.app.cognito.provider.isReady, true, 'discovery succeeded against it')
  t.ok(fake.requests() > 0, 'so the first test would have seen requests had the app not checked the certificate')
})
