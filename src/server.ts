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
  /** What to print once the app listens: where the local Cognito is and who can sign in. */
  banner: string
  close(): Promise<void>
}

/** A start-up failure with one line for the person at the terminal (no stack, no banner). */
class StartError extends Error {}

function isPortInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE'
}

function nextPort(port: number): number {
  return port >= 65535 ? port - 1 : port + 1
}

/** Starts the embedded local Cognito. Imported lazily: production code paths never load it. */
async function startLocalProvider(config: LoadedConfig, env: Record<string, string | undefined>): Promise<LocalProvider> {
  const { startLocalCognito, defaultLocalClient, localCognitoOptionsFromEnv, DEMO_USERS } = await import('./local-cognito/index.js')
  const client = defaultLocalClient(config.web.baseUrl)
  const port = config.server.localCognitoPort
  let settings
  try {
    // LOCAL_COGNITO_USERS (a users file), token lifetimes, email sign-in: see .env.example.
    settings = localCognitoOptionsFromEnv(env)
  } catch (error) {
    throw new StartError(`Local Cognito: ${(error as Error).message}`)
  }
  let cognito
  try {
    // The issuer on the next port, an origin of its own as in production (beside the pool's domain).
    const issuerPort = port === 0 ? 0 : port + 1
    cognito = await startLocalCognito({ port, issuerPort, clients: [client], appName: config.web.appName, allowSignUp: config.web.signupEnabled, ...settings })
  } catch (error) {
    if (!isPortInUse(error)) {
      // A users file that cannot be read or is not valid: one line, not a stack.
      if (settings.usersFile !== undefined) throw new StartError(`Local Cognito: ${(error as Error).message}`)
      throw error
    }
    // Not moved to another port behind the person's back: a running local Cognito of another clone,
    // or something else, holds it.
    const busy = (error as { port?: number }).port ?? port
    const what = busy === port ? 'the local Cognito' : 'the local Cognito\'s issuer, LOCAL_COGNITO_PORT + 1'
    throw new StartError(`Port ${busy} (${what}) is in use: set LOCAL_COGNITO_PORT=${nextPort(busy)} or stop what uses it.`)
  }
  const lines = [
    '',
    `  Local Cognito (development stand-in for a user pool) at ${cognito.origin}`,
    `  Issuer: ${cognito.issuer} (an origin of its own, as in production)`,
    '  Sign in with one of the demo users:',
    ...DEMO_USERS.map((u) => `    ${u.username.padEnd(10)} password ${u.password.padEnd(18)} ${u.description}`),
    `  Codes for sign-up and forgotten passwords: ${cognito.origin}/mailbox (also printed here)`,
    `  Make Cognito fail to see the app's error pages: ${cognito.origin}/_local/faults`,
    '  To use your own pool instead, set COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID and COGNITO_CLIENT_SECRET (see README).',
    '',
  ]
  return {
    banner: `${lines.join('\n')}\n`,
    issuer: cognito.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret as string,
    close: () => cognito.close(),
  }
}

async function main(): Promise<void> {
  const env = readEnvironment()
  const loaded = loadConfigOrReport(env, process.stderr)
  if (!loaded) process.exit(1)
  // Development without a pool: the local Cognito provides one before the app is built.
  let local: LocalProvider | undefined
  let config: Config
  if (hasPool(loaded)) config = loaded
  else {
    local = await startLocalProvider(loaded, env)
    config = withPool(loaded, local)
  }

  // Readable lines for a person at a terminal in development; JSON when piped, and always in production.
  const { logFormat } = config.server
  const pretty = logFormat === 'pretty' || (logFormat === 'auto' && process.stdout.isTTY === true)
  const app = await buildApp(config, { logStream: createLogDestination(pretty ? 'pretty' : 'json') })

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ error: { message: err.message } }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await local?.close()
  })

  const { port, host } = config.server
  let address: string
  try {
    address = await app.listen({ port, host })
  } catch (error) {
    if (!isPortInUse(error)) throw error
    await app.close()
    await local?.close()
    throw new StartError(`Port ${port} is in use: set PORT=${nextPort(port)} (or stop what uses it).`)
  }
  if (local) process.stdout.write(local.banner)
  if (config.session.secretGenerated) {
    app.log.warn('SESSION_SECRET is not set: using a random one, so sessions end when the process restarts')
  }
  // The public address, and where the process listens when that is somewhere else (behind a proxy).
  const listening = new URL(address)
  const base = new URL(config.web.baseUrl)
  const samePlace = listening.port === (base.port || (base.protocol === 'https:' ? '443' : '80'))
  process.stdout.write(`\n  App ready at ${config.web.baseUrl}${samePlace ? '' : ` (listening on ${address})`}\n\n`)
}

main().catch((error: unknown) => {
  if (error instanceof StartError) process.stderr.write(`${error.message}\n`)
  else process.stderr.write(`Failed to start: ${(error as Error)?.message ?? String(error)}\n`)
  process.exit(1)
})
