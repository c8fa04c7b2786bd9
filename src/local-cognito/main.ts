/** Standalone local Cognito for development: `npm run local-cognito`. */
import { defaultLocalClient, DEMO_USERS, localCognitoOptionsFromEnv, startLocalCognito } from './index.js'

const port = Number(process.env['LOCAL_COGNITO_PORT'] ?? 9099)
const appBaseUrl = process.env['APP_BASE_URL'] ?? 'http://localhost:3000'
const client = defaultLocalClient(appBaseUrl)
let fromEnv
try {
  fromEnv = localCognitoOptionsFromEnv(process.env)
} catch (error) {
  process.stderr.write(`Local Cognito: ${(error as Error).message}\n`)
  process.exit(1)
}
const appName = process.env['APP_NAME']?.trim()
// The issuer on the next port: an origin of its own, as in production.
const cognito = await startLocalCognito({ port, issuerPort: port === 0 ? 0 : port + 1, clients: [client], ...fromEnv, ...(appName ? { appName } : {}) })

const lines = [
  `Local Cognito listening on ${cognito.origin}`,
  `  issuer:        ${cognito.issuer}`,
  `  client id:     ${client.clientId}`,
  `  client secret: ${client.clientSecret ?? '(public client)'}`,
  `  callback URL:  ${client.callbackUrls.join(', ')}`,
  `  sign-out URL:  ${client.logoutUrls.join(', ')}`,
  `  mailbox:       ${cognito.origin}/mailbox  (codes for sign-up and forgotten passwords; also printed here)`,
  `  faults:        ${cognito.origin}/_local/faults  (Cognito down, slow token endpoint, refresh refused)`,
  ...(fromEnv.usersFile ? [`  users file:    ${fromEnv.usersFile}`] : []),
  '',
  'Demo users:',
  ...DEMO_USERS.map((u) => `  ${u.username} / ${u.password}  (${u.description})`),
  '',
  'Environment for the app:',
  `COGNITO_ISSUER=${cognito.issuer}`,
  `COGNITO_CLIENT_ID=${client.clientId}`,
  `COGNITO_CLIENT_SECRET=${client.clientSecret ?? ''}`,
  '',
]
process.stdout.write(lines.join('\n') + '\n')

let stopping = false
const stop = (signal: string): void => {
  if (stopping) return
  stopping = true
  process.stdout.write(`Local Cognito: ${signal}, shutting down\n`)
  cognito.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`Local Cognito: close failed: ${String(err)}\n`)
      process.exit(1)
    },
  )
}
process.once('SIGINT', () => stop('SIGINT'))
process.once('SIGTERM', () => stop('SIGTERM'))
