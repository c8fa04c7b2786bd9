/**
 * `npm run doctor`: checks the configuration (process.env over `.env`, as `npm start` reads it)
 * against the live user pool and prints a checklist with a fix for each failure.
 * Exit status: 0 all checks passed, 1 a check failed, 2 the configuration is invalid or names no pool.
 */
import { hasPool, loadConfigOrReport } from './config/index.js'
import { runDoctor, allPassed } from './doctor/checks.js'
import { formatReport } from './doctor/report.js'
import { readEnvironment } from './lib/environment.js'

async function main(): Promise<number> {
  const config = loadConfigOrReport(readEnvironment(), process.stderr)
  if (!config) return 2
  if (!hasPool(config)) {
    process.stderr.write(
      [
        'No user pool is configured: COGNITO_USER_POOL_ID (or COGNITO_ISSUER) is not set.',
        '`npm start` would use the local Cognito (a development stand-in), so there is nothing to check.',
        'To use your own pool, set COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID and COGNITO_CLIENT_SECRET (see .env.example), then run `npm run doctor` again.',
        '',
      ].join('\n'),
    )
    return 2
  }
  const results = await runDoctor(config)
  process.stdout.write(formatReport(config, results))
  return allPassed(results) ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`The doctor could not run: ${(error as Error)?.message ?? String(error)}\n`)
    process.exitCode = 1
  },
)
