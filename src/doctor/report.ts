/** The doctor's checklist as text: one ✓/✗/– line per check, with what was seen and the fix under a failure. */
import type { Config } from '../config/index.js'
import { appRegisteredUrls } from '../web/auth-paths.js'
import type { CheckResult } from './checks.js'

const MARK = { pass: '✓', fail: '✗', skip: '–' } as const

/** The report for a configured pool. Prints identifiers and URLs, never the client secret. */
export function formatReport(config: Config, results: readonly CheckResult[]): string {
  const cognito = config.cognito
  const urls = appRegisteredUrls(config.web.baseUrl)
  const lines: string[] = ['', 'Checking this app’s Cognito settings against the user pool (no one is signed in):', '']
  {
    lines.push(
      `  Issuer        ${cognito.issuer}`,
      `  App client    ${cognito.clientId}`,
      `  Callback URL  ${urls.redirectUri}`,
      `  Sign-out URL  ${urls.postLogoutRedirectUri}`,
      `  Scopes        ${cognito.scopes.join(' ')}`,
      '',
    )
  }
  for (const result of results) {
    lines.push(`  ${MARK[result.status]} ${result.title}${result.status === 'skip' ? ' (not checked)' : ''}`)
    if (result.status === 'fail') {
      if (result.detail) lines.push(`      Seen: ${result.detail}`)
      if (result.fix) lines.push(`      Fix:  ${result.fix}`)
    } else if (result.status === 'skip' && result.detail) {
      lines.push(`      ${result.detail}`)
    }
  }
  const count = (status: CheckResult['status']): number => results.filter((r) => r.status === status).length
  const failed = count('fail')
  const skipped = count('skip')
  lines.push(
    '',
    failed === 0 && skipped === 0
      ? `All ${results.length} checks passed.`
      : `${count('pass')} passed, ${failed} failed${skipped ? `, ${skipped} not checked` : ''}. Fix the ✗ lines first, then run \`npm run doctor\` again.`,
    '',
  )
  return lines.join('\n')
}
