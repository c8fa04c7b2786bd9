/** Helpers for the doctor tests: configurations pointing at a real local Cognito. */
import type { Test } from 'tap'
import { loadPoolConfig, type Config } from '../../src/config/index.js'
import type { CheckId, CheckResult, CheckStatus } from '../../src/doctor/checks.js'
import { defaultLocalClient, type LocalCognito, type LocalCognitoClient } from '../../src/local-cognito/index.js'

export const APP_BASE_URL = 'http://localhost:3000'
export const CALLBACK = `${APP_BASE_URL}/auth/callback`
export const SIGNED_OUT = `${APP_BASE_URL}/logged-out`

/** The app's client as the local Cognito registers it by default (everything right). */
export const RIGHT_CLIENT: LocalCognitoClient = defaultLocalClient(APP_BASE_URL)

export function client(id: string, changes: Partial<LocalCognitoClient> = {}): LocalCognitoClient {
  return { ...RIGHT_CLIENT, clientId: id, clientSecret: `${id}-secret-0123456789abcdefghijklmnop`, ...changes }
}

export function envFor(cognito: LocalCognito, c: LocalCognitoClient, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    APP_BASE_URL,
    COGNITO_ISSUER: cognito.issuer,
    COGNITO_CLIENT_ID: c.clientId,
    COGNITO_CLIENT_SECRET: c.clientSecret ?? '',
    COGNITO_TIMEOUT: '3s',
    ...extra,
  }
}

export function configFor(cognito: LocalCognito, c: LocalCognitoClient, extra: Record<string, string> = {}): Config {
  return loadPoolConfig(envFor(cognito, c, extra))
}

export const ALL_CHECKS: readonly CheckId[] = [
  'discovery',
  'issuer',
  'jwks',
  'domain',
  'revocation',
  'callback',
  'code-grant',
  'scopes',
  'logout',
  'client-secret',
]

/** Asserts every check's outcome: `expected` lists the non-passing ones; all others must pass. */
export function assertOutcomes(t: Test, results: readonly CheckResult[], expected: Partial<Record<CheckId, CheckStatus>>): void {
  t.same(
    results.map((r) => r.id),
    ALL_CHECKS,
    'one result per check, in order',
  )
  for (const result of results) {
    t.equal(result.status, expected[result.id] ?? 'pass', `${result.id}: ${result.status}${result.detail ? ` (${result.detail})` : ''}`)
  }
}

export function resultOf(results: readonly CheckResult[], id: CheckId): CheckResult {
  const result = results.find((r) => r.id === id)
  if (!result) throw new Error(`no result for ${id}`)
  return result
}

/**
 * A fetch that changes the discovery document on its way (to show the doctor other shapes of it);
 * every other request goes through untouched.
 */
export function rewritingDiscovery(change: (doc: Record<string, unknown>) => Record<string, unknown>): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (!url.endsWith('/.well-known/openid-configuration') || response.status !== 200) return response
    const doc = (await response.json()) as Record<string, unknown>
    return new Response(JSON.stringify(change(doc)), { status: 200, headers: { 'content-type': 'application/json' } })
  }
}
