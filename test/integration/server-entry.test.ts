import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { Browser, parseSignInForm } from '../helpers/browser.js'
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
  const { child, output } = run({ PORT: String(port), LOCAL_COGNITO_PORT: String(cognitoPort), APP_BASE_URL: baseUrl, LOG_LEVEL: 'warn' })
  t.teardown(() => void child.kill('SIGKILL'))
  for (let i = 0; i < 200 && !output().includes('App ready'); i++) await new Promise((r) => setTimeout(r, 100))
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

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'shuts down gracefully on SIGTERM')
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
