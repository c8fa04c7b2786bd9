/**
 * The entry point: reads the environment once (plus a `.env` file when present), validates it,
 * starts the embedded local Cognito when no pool is configured (development only), builds the app,
 * listens, and shuts down gracefully.
 */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { hasPool, loadConfigOrReport, withPool, type Config, type LoadedConfig, type PoolCredentials } from './config/index.js'
import { readEnvironment } from './lib/environment.js'
import { createLogDestination } from './lib/logger.js'

interface LocalProvider extends PoolCredentials {
  close(): Promise<void>
}

/** Starts the embedded local Cognito. Imported lazily: production code paths never load it. */
async function startLocalProvider(config: LoadedConfig): Promise<LocalProvider> {
  const { startLocalCognito, defaultLocalClient, DEMO_USERS } = await import('./local-cognito/index.js')
  const client = defaultLocalClient(config.web.baseUrl)
  let cognito
  try {
    cognito = await startLocalCognito({ port: config.server.localCognitoPort, clients: [client] })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
    cognito = await startLocalCognito({ port: 0, clients: [client] })
  }
  const lines = [
    '',
    `  Local Cognito (development stand-in for a user pool) at ${cognito.origin}`,
    `  Issuer: ${cognito.issuer}`,
    '  Sign in with one of the demo users:',
    ...DEMO_USERS.map((u) => `    ${u.username.padEnd(10)} password ${u.password.padEnd(18)} ${u.description}`),
    '  To use your own pool instead, set COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID and COGNITO_CLIENT_SECRET (see README).',
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  return {
    issuer: cognito.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret as string,
    close: () => cognito.close(),
  }
}

async function main(): Promise<void> {
  const loaded = loadConfigOrReport(readEnvironment(), process.stderr)
  if (!loaded) process.exit(1)
  // Development without a pool: the local Cognito provides one before the app is built.
  let local: LocalProvider | undefined
  let config: Config
  if (hasPool(loaded)) config = loaded
  else {
    local = await startLocalProvider(loaded)
    config = withPool(loaded, local)
  }

  const app = await buildApp(config, { logStream: createLogDestination() })
  if (config.session.secretGenerated) {
    app.log.warn('SESSION_SECRET is not set: using a random one, so sessions end when the process restarts')
  }

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err: { message: err.message } }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await local?.close()
  })

  await app.listen({ port: config.server.port, host: config.server.host })
  process.stdout.write(`\n  App ready at ${config.web.baseUrl}\n\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`Failed to start: ${(error as Error)?.message ?? String(error)}\n`)
  process.exit(1)
})
