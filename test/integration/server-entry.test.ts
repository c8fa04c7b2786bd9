import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import { sleep } from '../helpers/clock.js'
import { freePort } from '../helpers/stack.js'

const ENTRY = new URL('../../src/server.ts', import.meta.url).pathname

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    // Empty values win over a developer's .env (an empty variable counts as unset).
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      COGNITO_USER_POOL_ID: '',
      COGNITO_ISSUER: '',
      COGNITO_REGION: '',
      COGNITO_CLIENT_ID: '',
      COGNITO_CLIENT_SECRET: '',
      SESSION_STORE: 'memory',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  return { child, output: () => output }
}

t.test('with no configuration the entry starts the local Cognito, prints demo users, and a person can sign in', async (t) => {
  const port = await freePort()
  const cognitoPort = await freePort()
  const baseUrl = `http://localhost:${port}`
  const { child, output } = run({ PORT: String(port), LOCAL_COGNITO_PORT: String(cognitoPort), APP_BASE_URL: baseUrl, LOG_LEVEL: 'info' })
  t.teardown(() => void child.kill('SIGKILL'))
  for (let i = 0; i < 200 && !output().includes('App ready'); i++) await sleep(100)
  t.match(output(), new RegExp(`Local Cognito .* at http://127\\.0\\.0\\.1:${cognitoPort}`))
  t.match(output(), /demo\s+password Demo-passw0rd/)
  t.match(output(), /reader\s+password Reader-passw0rd/)
  t.match(output(), new RegExp(`App ready at ${baseUrl}`))

  const browser = new Browser()
  const toForm = await browser.navigate(`${baseUrl}/login`)
  t.equal(new URL(toForm.url).port, String(cognitoPort), 'sent to the local Cognito')
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  const back = await browser.follow(submitted, form.action)
  t.equal(back.url, `${baseUrl}/logged-in`)
  t.match(await back.response.text(), /data-field="username">demo</)

  // Log lines are written in batches, and within about a second when traffic is light.
  const accessLine = /"url":"\/logged-in","statusCode":200,.*"msg":"request completed"/
  for (let i = 0; i < 30 && !accessLine.test(output()); i++) await sleep(100)
  t.match(output(), accessLine, 'the access-log line for the page view reached stdout while the server runs')
  t.match(output(), /"url":"\/auth\/callback\?code=\[redacted\]&state=\[redacted\]"/, 'the callback is logged without its code and state')

  // What is still in the batch at shutdown is written before the process exits.
  const viewed = await browser.navigate(`${baseUrl}/logout`)
  t.equal(viewed.response.status, 200)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'shuts down gracefully on SIGTERM')
  t.match(output(), /"url":"\/logout","statusCode":200,.*"msg":"request completed"/, 'the last request is logged')
  t.match(output(), /"signal":"SIGTERM".*"msg":"shutting down"/)
})

t.test('in production without a pool the entry refuses to start and names the variable', async (t) => {
  const { child, output } = run({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), PORT: String(await freePort()) })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(output(), /Configuration error: COGNITO_USER_POOL_ID: is required when NODE_ENV=production/)
  t.notMatch(output(), /Local Cognito/)
})

t.test('a bad value stops the start with its name', async (t) => {
  const { child, output } = run({ PORT: 'eighty' })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(output(), /PORT: expected a whole number/)
})

t.test('every missing production variable is named in one start, a line each', async (t) => {
  const { child, output } = run({ NODE_ENV: 'production', SESSION_SECRET: '', PORT: 'eighty', LOG_LEVEL: 'loud' })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  const lines = output().split('\n').filter((line) => line.startsWith('Configuration error: '))
  t.same(
    lines.map((line) => /^Configuration error: ([A-Z_]+):/.exec(line)?.[1]).sort(),
    ['APP_BASE_URL', 'COGNITO_USER_POOL_ID', 'LOG_LEVEL', 'PORT', 'SESSION_SECRET'],
    'the base URL, the pool, the secret and both bad values, in one go',
  )
  t.match(output(), /See \.env\.example for every variable\./)
  t.notMatch(output(), /Local Cognito|App ready/)
})
