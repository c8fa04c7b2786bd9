import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { once } from 'node:events'
import t from 'tap'
import { Browser, csrfTokenOf, parseSignInForm } from '../helpers/browser.js'
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

/** Waits until the child prints `text` or exits; returns the exit code (undefined while running). */
async function waitFor(child: ReturnType<typeof run>, text: RegExp): Promise<number | null | undefined> {
  let exit: number | null | undefined
  child.child.once('exit', (code) => (exit = code))
  for (let i = 0; i < 200 && exit === undefined && !text.test(child.output()); i++) await sleep(100)
  return exit
}

t.test('a fresh start with only PORT set signs in and out on that port', async (t) => {
  const port = await freePort()
  // No APP_BASE_URL: in development it follows PORT, for the app and for the local Cognito's callback.
  const app = run({ PORT: String(port), LOCAL_COGNITO_PORT: String(await freePort()), APP_BASE_URL: '' })
  t.teardown(() => void app.child.kill('SIGKILL'))
  await waitFor(app, /App ready/)
  const baseUrl = `http://localhost:${port}`
  t.match(app.output(), new RegExp(`App ready at ${baseUrl}\\n`), 'the printed address is the one listened on')
  t.notMatch(app.output(), /localhost:3000/)

  const browser = new Browser()
  const toForm = await browser.navigate(`${baseUrl}/login`)
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  t.match(decodeURIComponent(form.action), `redirect_uri=${baseUrl}/auth/callback`, 'the callback names the port listened on')
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  const back = await browser.follow(submitted, form.action)
  t.equal(back.url, `${baseUrl}/logged-in`, 'signed in on that port')
  const page = await browser.navigate(`${baseUrl}/logout`)
  const out = await browser.post(`${baseUrl}/logout`, { _csrf: csrfTokenOf(await page.response.text()) })
  const ended = await browser.follow(out, `${baseUrl}/logout`)
  t.equal(ended.url, `${baseUrl}/logged-out`, 'signed out through the local Cognito and back on that port')
  t.equal((await browser.navigate(`${baseUrl}/logged-in`)).url.startsWith(`${baseUrl}/login`), false, 'not served the signed-in page')
})

t.test('a busy app port gets one clear line, and no banner', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => void blocker.close())
  const port = (blocker.address() as { port: number }).port
  const app = run({ PORT: String(port), LOCAL_COGNITO_PORT: String(await freePort()), APP_BASE_URL: '' })
  const [code] = await once(app.child, 'exit')
  t.equal(code, 1)
  t.equal(app.output().trim(), `Port ${port} is in use: set PORT=${port + 1} (or stop what uses it).`, 'that line and nothing else')
})

t.test('a busy local Cognito port is reported, not silently changed', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1')
  await once(blocker, 'listening')
  t.teardown(() => void blocker.close())
  const port = (blocker.address() as { port: number }).port
  const app = run({ PORT: String(await freePort()), LOCAL_COGNITO_PORT: String(port), APP_BASE_URL: '' })
  const [code] = await once(app.child, 'exit')
  t.equal(code, 1)
  t.equal(app.output().trim(), `Port ${port} (the local Cognito) is in use: set LOCAL_COGNITO_PORT=${port + 1} or stop what uses it.`)
  t.notMatch(app.output(), /App ready|Demo|demo/)
})

t.test('the embedded local Cognito takes LOCAL_COGNITO_* settings; a bad one stops the start with one line', async (t) => {
  const bad = run({ PORT: String(await freePort()), LOCAL_COGNITO_PORT: String(await freePort()), APP_BASE_URL: '', LOCAL_COGNITO_SIGN_IN_WITH: 'phone' })
  const [code] = await once(bad.child, 'exit')
  t.equal(code, 1)
  t.equal(bad.output().trim(), 'Local Cognito: LOCAL_COGNITO_SIGN_IN_WITH: expected username or email, got "phone"')

  const missing = run({ PORT: String(await freePort()), LOCAL_COGNITO_PORT: String(await freePort()), APP_BASE_URL: '', LOCAL_COGNITO_USERS: '/nonexistent/users.json' })
  const [missingCode] = await once(missing.child, 'exit')
  t.equal(missingCode, 1)
  t.match(missing.output().trim(), /^Local Cognito: LOCAL_COGNITO_USERS: cannot read \/nonexistent\/users\.json: ENOENT$/)
  t.notMatch(missing.output(), /App ready|\n\s+at /, 'no banner, no stack')
})
