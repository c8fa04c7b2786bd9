/** `npm run doctor` as a child process: exit status and output. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startCognito } from '../helpers/stack.js'
import { RIGHT_CLIENT, envFor } from './helpers.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Every variable the configuration reads, blank unless given: a developer's `.env` cannot change the outcome. */
const CONFIG_VARIABLES = [
  'API_ALLOWED_CLIENT_IDS', 'API_JWKS_REFETCH_COOLDOWN', 'API_REQUIRED_SCOPE', 'APP_BASE_URL', 'COGNITO_CLIENT_ID',
  'COGNITO_CLIENT_SECRET', 'COGNITO_DOMAIN', 'COGNITO_ISSUER', 'COGNITO_REGION', 'COGNITO_SCOPES', 'COGNITO_TIMEOUT',
  'COGNITO_USER_POOL_ID', 'HOST', 'LOCAL_COGNITO_PORT', 'LOG_LEVEL', 'NODE_ENV', 'PORT', 'RATE_LIMIT_SIGNIN',
  'REDIS_KEY_PREFIX', 'REDIS_URL', 'SESSION_IDLE_TIMEOUT', 'SESSION_MAX_AGE', 'SESSION_MEMORY_MAX', 'SESSION_SECRET',
  'SESSION_STORE', 'TOKEN_REFRESH_MARGIN', 'TRUST_PROXY',
]

function runCli(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const blank = Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, '']))
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/doctor.ts'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...blank, ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

const cognito = await startCognito(t, { clients: [RIGHT_CLIENT] })

t.test('all checks pass: exit 0 and a checklist of ✓', async (t) => {
  const { code, stdout, stderr } = await runCli(envFor(cognito, RIGHT_CLIENT))
  t.equal(code, 0, stderr)
  t.match(stdout, /✓ The discovery document can be fetched/)
  t.match(stdout, /✓ Cognito accepts the client id and secret/)
  t.match(stdout, /All 10 checks passed\./)
  t.match(stdout, `App client    ${RIGHT_CLIENT.clientId}`)
  t.notOk(stdout.includes(RIGHT_CLIENT.clientSecret ?? '?') || stderr.includes(RIGHT_CLIENT.clientSecret ?? '?'), 'no secret printed')
})

t.test('a failing check: exit 1, the ✗ line and its fix', async (t) => {
  const secret = 'a-wrong-secret-0123456789abcdefghijklmnopqrstuvw'
  const { code, stdout, stderr } = await runCli(envFor(cognito, RIGHT_CLIENT, { COGNITO_CLIENT_SECRET: secret }))
  t.equal(code, 1)
  t.match(stdout, /✗ Cognito accepts the client id and secret\n\s+Seen: the token endpoint answered invalid_client/)
  t.match(stdout, /Fix: {2}COGNITO_CLIENT_SECRET is not this app client's secret/)
  t.match(stdout, /9 passed, 1 failed\./)
  t.notOk(stdout.includes(secret) || stderr.includes(secret), 'no secret printed')
})

t.test('no pool configured: exit 2, and it says npm start would use the local Cognito', async (t) => {
  const { code, stdout, stderr } = await runCli({})
  t.equal(code, 2)
  t.equal(stdout, '')
  t.match(stderr, /No user pool is configured/)
  t.match(stderr, /`npm start` would use the local Cognito/)
})

t.test('an invalid configuration: exit 2 with the ConfigError message', async (t) => {
  const { code, stderr } = await runCli({ COGNITO_USER_POOL_ID: 'not-a-pool-id' })
  t.equal(code, 2)
  t.match(stderr, /Configuration error: COGNITO_USER_POOL_ID: expected a user pool id like us-east-1_AbC123xyz, got "not-a-pool-id"/)
})
