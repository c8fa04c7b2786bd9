/**
 * The checks behind `npm run doctor`: this app's Cognito settings against the live user pool, without
 * signing anyone in. Each check is one HTTP exchange whose answer tells a right setting from a wrong
 * one (a dummy code at the token endpoint, an authorization request that stops at the sign-in page,
 * a sign-out request with no session). Results never contain the client secret.
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto'
import type { Config } from '../config/index.js'
import { appRegisteredUrls } from '../web/auth-paths.js'

export type CheckId =
  | 'configuration'
  | 'discovery'
  | 'issuer'
  | 'jwks'
  | 'domain'
  | 'revocation'
  | 'callback'
  | 'code-grant'
  | 'scopes'
  | 'logout'
  | 'client-secret'

export type CheckStatus = 'pass' | 'fail' | 'skip'

export interface CheckResult {
  readonly id: CheckId
  /** What is checked, as a statement that holds when it passes. */
  readonly title: string
  readonly status: CheckStatus
  /** What was seen (or, for a skipped check, why it was not run). */
  readonly detail?: string
  /** What to change, for a failed check. */
  readonly fix?: string
}

export interface DoctorOptions {
  /** The fetch to use (default: the global one); tests may pass one that rewrites answers. */
  fetch?: typeof fetch
}

const TITLES: Record<CheckId, string> = {
  configuration: 'A user pool is configured',
  discovery: 'The discovery document can be fetched',
  issuer: 'The discovery document names the configured issuer',
  jwks: 'The signing keys (JWKS) can be fetched',
  domain: 'The pool has a domain for the hosted sign-in pages',
  revocation: 'Cognito offers token revocation (used at sign-out)',
  callback: 'The callback URL is registered on the app client',
  'code-grant': 'The app client allows the authorization code grant',
  scopes: 'Cognito accepts the requested scopes',
  logout: 'The sign-out URL is registered on the app client',
  'client-secret': 'Cognito accepts the client id and secret',
}

const STANDARD_SCOPES = 'openid, email, phone, profile, aws.cognito.signin.user.admin'

type Answer =
  | { ok: true; status: number; location: string | undefined; text: string }
  | { ok: false; problem: string }

interface Context {
  readonly config: Config
  readonly cognito: Config['cognito']
  readonly urls: { readonly redirectUri: string; readonly postLogoutRedirectUri: string }
  readonly fetch: typeof fetch
}

function pass(id: CheckId, detail?: string): CheckResult {
  return detail === undefined ? { id, title: TITLES[id], status: 'pass' } : { id, title: TITLES[id], status: 'pass', detail }
}

function fail(id: CheckId, detail: string, fix: string): CheckResult {
  return { id, title: TITLES[id], status: 'fail', detail, fix }
}

function skip(id: CheckId, reason: string): CheckResult {
  return { id, title: TITLES[id], status: 'skip', detail: reason }
}

/** Only a short, printable token from what the server said (error codes), never a whole body. */
function printable(value: unknown): string {
  return typeof value === 'string' ? value.replace(/[^\w .:/+-]/g, '').slice(0, 80) : ''
}

function describeFailure(error: unknown, timeoutMs: number): string {
  const chain: unknown[] = []
  for (let e: unknown = error; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e)
  for (const link of chain) {
    const name = (link as { name?: string }).name
    if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`
    const code = (link as { code?: unknown }).code
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name does not resolve (${code})`
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `could not connect (${code})`
  }
  return `the request failed (${printable((error as Error)?.message) || 'unknown error'})`
}

async function ask(ctx: Context, url: string, init: RequestInit = {}): Promise<Answer> {
  try {
    const response = await ctx.fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(ctx.cognito.timeoutMs) })
    const text = await response.text()
    return { ok: true, status: response.status, location: response.headers.get('location') ?? undefined, text: text.slice(0, 64 * 1024) }
  } catch (error) {
    return { ok: false, problem: describeFailure(error, ctx.cognito.timeoutMs) }
  }
}

function json(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function stringField(doc: Record<string, unknown>, key: string): string | undefined {
  const value = doc[key]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Where a redirect goes, resolved; undefined when the answer is not a redirect. */
function redirectTarget(answer: Answer, from: string): URL | undefined {
  if (!answer.ok || answer.status < 300 || answer.status >= 400 || !answer.location) return undefined
  try {
    return new URL(answer.location, from)
  } catch {
    return undefined
  }
}

/** The redirect URL without the query's random values, for messages. */
function shown(url: URL): string {
  const error = url.searchParams.get('error')
  return `${url.origin}${url.pathname}${error ? `?error=${printable(error)}` : ''}`
}

function sameUrl(a: URL, b: string): boolean {
  try {
    return a.href === new URL(b).href
  } catch {
    return false
  }
}

function answerSummary(answer: Answer, from: string): string {
  if (!answer.ok) return answer.problem
  const target = redirectTarget(answer, from)
  if (target) return `HTTP ${answer.status} redirect to ${shown(target)}`
  const error = printable(json(answer.text)?.error)
  return `HTTP ${answer.status}${error ? ` (${error})` : ''}`
}

interface AuthorizeOutcome {
  kind: 'sign-in-page' | 'redirect-mismatch' | 'no-callback-urls' | 'error-to-callback' | 'other'
  error?: string
  summary: string
}

/** GET /oauth2/authorize as /login would send it (PKCE S256, state); the answer is classified, never followed. */
async function authorize(ctx: Context, endpoint: string, scope: string): Promise<AuthorizeOutcome> {
  const url = new URL(endpoint)
  url.search = new URLSearchParams({
    client_id: ctx.cognito.clientId,
    response_type: 'code',
    redirect_uri: ctx.urls.redirectUri,
    scope,
    code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
  }).toString()
  const answer = await ask(ctx, url.href)
  const summary = answerSummary(answer, url.href)
  const target = redirectTarget(answer, url.href)
  if (!target) return { kind: 'other', summary }
  const error = target.searchParams.get('error') ?? undefined
  if (target.pathname.endsWith('/error')) {
    if (error === 'redirect_mismatch') return { kind: 'redirect-mismatch', summary }
    if (error && /required parameters missing/i.test(error)) return { kind: 'no-callback-urls', summary }
    return { kind: 'other', summary }
  }
  const callback = new URL(ctx.urls.redirectUri)
  if (target.origin === callback.origin && target.pathname === callback.pathname) {
    return { kind: 'error-to-callback', error: printable(error ?? 'no error, but a redirect without sign-in'), summary }
  }
  if (target.origin === url.origin && target.pathname.endsWith('/login')) return { kind: 'sign-in-page', summary }
  return { kind: 'other', summary }
}

const consoleAppClient = 'In the Cognito console, open the user pool → App clients → this app client'
const consoleClient = `${consoleAppClient} → Login pages`

/**
 * Runs every check in order and returns one result per check. Checks whose prerequisite failed are
 * skipped (with the reason). No one is signed in and nothing in the pool is changed.
 */
export async function runDoctor(config: Config, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const cognito = config.cognito
  const urls = appRegisteredUrls(config.web.baseUrl)
  const ctx: Context = { config, cognito, urls, fetch: options.fetch ?? globalThis.fetch }
  const results: CheckResult[] = []
  const poolSetting = 'COGNITO_USER_POOL_ID (or COGNITO_ISSUER)'

  // Discovery, issuer, JWKS.
  const discoveryUrl = `${cognito.issuer}/.well-known/openid-configuration`
  const discovery = await ask(ctx, discoveryUrl)
  let metadata: Record<string, unknown> | undefined
  if (!discovery.ok) {
    results.push(
      fail('discovery', `${discoveryUrl}: ${discovery.problem}`, `Check ${poolSetting} and that this machine can reach ${new URL(discoveryUrl).host}.`),
    )
  } else if (discovery.status !== 200) {
    results.push(
      fail(
        'discovery',
        `${discoveryUrl} answered HTTP ${discovery.status}`,
        discovery.status === 404 || discovery.status === 400
          ? `There is no user pool at this issuer: check the pool id and its region in ${poolSetting}.`
          : `Cognito did not serve the discovery document; check ${poolSetting} and try again later.`,
      ),
    )
  } else if (!(metadata = json(discovery.text))) {
    results.push(fail('discovery', `${discoveryUrl} did not answer a JSON document`, `Check that ${poolSetting} points at a Cognito user pool.`))
  } else {
    results.push(pass('discovery', discoveryUrl))
  }

  if (!metadata) {
    const reason = 'needs the discovery document'
    for (const id of ['issuer', 'jwks', 'domain', 'revocation', 'callback', 'code-grant', 'scopes', 'logout', 'client-secret'] as const) {
      results.push(skip(id, reason))
    }
    return results
  }

  const discoveredIssuer = stringField(metadata, 'issuer')
  if (discoveredIssuer === cognito.issuer) {
    results.push(pass('issuer', cognito.issuer))
  } else {
    results.push(
      fail(
        'issuer',
        `discovery names ${discoveredIssuer ? `"${printable(discoveredIssuer)}"` : 'no issuer'}; configured: "${cognito.issuer}"`,
        discoveredIssuer
          ? `Set ${poolSetting} so that the issuer is exactly ${printable(discoveredIssuer)} (tokens carry that issuer and would be refused).`
          : `Check ${poolSetting}: this is not a Cognito discovery document.`,
      ),
    )
  }

  const jwksUri = stringField(metadata, 'jwks_uri') ?? `${cognito.issuer}/.well-known/jwks.json`
  const jwks = await ask(ctx, jwksUri)
  const keys = jwks.ok && jwks.status === 200 ? json(jwks.text)?.keys : undefined
  const usableKeys = Array.isArray(keys) ? keys.filter((k) => k && typeof k === 'object' && typeof k.kid === 'string' && typeof k.kty === 'string') : []
  if (usableKeys.length > 0) {
    results.push(pass('jwks', `${usableKeys.length} key${usableKeys.length === 1 ? '' : 's'} at ${jwksUri}`))
  } else {
    results.push(
      fail(
        'jwks',
        `${jwksUri}: ${jwks.ok ? (jwks.status === 200 ? 'no keys in the answer' : `HTTP ${jwks.status}`) : jwks.problem}`,
        `Tokens cannot be verified without the pool's keys: check ${poolSetting} and that this machine can reach ${new URL(jwksUri).host}.`,
      ),
    )
  }

  // Domain and revocation.
  const authorizationEndpoint = stringField(metadata, 'authorization_endpoint')
  const tokenEndpoint = stringField(metadata, 'token_endpoint')
  const hasDomain =
    authorizationEndpoint !== undefined &&
    tokenEndpoint !== undefined &&
    new URL(authorizationEndpoint).pathname.endsWith('/oauth2/authorize') &&
    new URL(tokenEndpoint).pathname.endsWith('/oauth2/token')
  if (hasDomain) {
    results.push(pass('domain', new URL(authorizationEndpoint).origin))
  } else {
    results.push(
      fail(
        'domain',
        `authorization_endpoint is ${authorizationEndpoint ? printable(authorizationEndpoint) : 'missing'}: the OAuth endpoints are not on a pool domain`,
        'Give the user pool a domain (Cognito console → the user pool → Domain: a Cognito prefix domain or your own), then run the doctor again.',
      ),
    )
  }
  const revocationEndpoint = stringField(metadata, 'revocation_endpoint')
  if (!hasDomain) {
    results.push(skip('revocation', 'needs a pool domain'))
  } else if (revocationEndpoint) {
    results.push(pass('revocation', revocationEndpoint))
  } else {
    results.push(
      fail(
        'revocation',
        'discovery lists no revocation_endpoint',
        `Sign-out cannot revoke the refresh token. Turn on token revocation for the app client (${consoleAppClient.replace(/^In/, 'in')} → Edit → Advanced security configurations → Enable token revocation).`,
      ),
    )
  }

  // The hosted UI: callback URL, code grant, scopes.
  if (!hasDomain || !authorizationEndpoint) {
    for (const id of ['callback', 'code-grant', 'scopes'] as const) results.push(skip(id, 'needs a pool domain'))
  } else {
    const minimal = await authorize(ctx, authorizationEndpoint, 'openid')
    switch (minimal.kind) {
      case 'sign-in-page':
        results.push(pass('callback', `${urls.redirectUri}: /oauth2/authorize leads to the sign-in page`))
        results.push(pass('code-grant'))
        break
      case 'error-to-callback':
        results.push(pass('callback', `${urls.redirectUri}: Cognito redirects to it`))
        results.push(
          fail(
            'code-grant',
            `/oauth2/authorize answered error=${minimal.error}`,
            minimal.error === 'unauthorized_client'
              ? `${consoleClient}: under OAuth 2.0 grant types, select "Authorization code grant", and choose Cognito user pool as an identity provider.`
              : `${consoleClient}: check the OAuth 2.0 grant types and identity providers of the app client.`,
          ),
        )
        break
      case 'redirect-mismatch':
      case 'no-callback-urls':
        results.push(
          fail(
            'callback',
            `/oauth2/authorize answered ${minimal.summary}`,
            `${consoleClient}: add ${urls.redirectUri} to Allowed callback URLs (exactly, with no trailing slash). If APP_BASE_URL is wrong instead, fix APP_BASE_URL.`,
          ),
        )
        results.push(skip('code-grant', 'needs a registered callback URL'))
        break
      default:
        results.push(
          fail(
            'callback',
            `/oauth2/authorize answered ${minimal.summary}`,
            `Check COGNITO_CLIENT_ID (an app client of this pool), then ${consoleClient.replace(/^In/, 'in')}: add ${urls.redirectUri} to Allowed callback URLs.`,
          ),
        )
        results.push(skip('code-grant', 'needs a registered callback URL'))
    }

    const scope = cognito.scopes.join(' ')
    if (minimal.kind !== 'sign-in-page') {
      results.push(skip('scopes', 'needs the sign-in page to open for this app client'))
    } else {
      const requested = scope === 'openid' ? minimal : await authorize(ctx, authorizationEndpoint, scope)
      if (requested.kind === 'sign-in-page') {
        results.push(pass('scopes', `${scope} (scopes the app client does not allow are dropped silently: check its Allowed OAuth scopes)`))
      } else {
        results.push(
          fail(
            'scopes',
            `with scope "${scope}", /oauth2/authorize answered ${requested.kind === 'error-to-callback' ? `error=${requested.error}` : requested.summary}`,
            `Check COGNITO_SCOPES: use ${STANDARD_SCOPES}, or custom scopes (resource-server-id/scope) defined in this pool, and allow them on the app client.`,
          ),
        )
      }
    }
  }

  // Sign-out URL.
  // As the app builds it: discovery's end_session_endpoint, else COGNITO_DOMAIN, else the authorization endpoint's origin.
  const logoutEndpoint = !hasDomain
    ? undefined
    : (stringField(metadata, 'end_session_endpoint') ??
      new URL('/logout', cognito.domain ?? authorizationEndpoint).href)
  if (!logoutEndpoint) {
    results.push(skip('logout', 'needs a pool domain'))
  } else {
    const url = new URL(logoutEndpoint)
    url.search = new URLSearchParams({ client_id: cognito.clientId, logout_uri: urls.postLogoutRedirectUri }).toString()
    const answer = await ask(ctx, url.href)
    const target = redirectTarget(answer, url.href)
    if (target && sameUrl(target, urls.postLogoutRedirectUri)) {
      results.push(pass('logout', `${urls.postLogoutRedirectUri}: /logout redirects to it`))
    } else {
      results.push(
        fail(
          'logout',
          `/logout answered ${answerSummary(answer, url.href)}`,
          `${consoleClient}: add ${urls.postLogoutRedirectUri} to Allowed sign-out URLs (exactly).`,
        ),
      )
    }
  }

  // Client secret: a dummy code with client_secret_basic. invalid_grant = the credentials were accepted.
  if (!hasDomain || !tokenEndpoint) {
    results.push(skip('client-secret', 'needs a pool domain'))
  } else {
    const form = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+')
    const credentials = Buffer.from(`${form(cognito.clientId)}:${form(cognito.clientSecret)}`).toString('base64')
    const answer = await ask(ctx, tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${credentials}`, accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: randomUUID(),
        redirect_uri: urls.redirectUri,
        code_verifier: randomBytes(32).toString('base64url'),
      }).toString(),
    })
    const error = answer.ok ? printable(json(answer.text)?.error) : ''
    if (answer.ok && (error === 'invalid_grant' || error === 'unauthorized_client')) {
      results.push(pass('client-secret', `a made-up code was refused with ${error}, after the client credentials were accepted`))
    } else if (answer.ok && error === 'invalid_client') {
      results.push(
        fail(
          'client-secret',
          `the token endpoint answered invalid_client (HTTP ${answer.status})`,
          `COGNITO_CLIENT_SECRET is not this app client's secret (or COGNITO_CLIENT_ID is not a client of this pool): ${consoleAppClient.replace(/^In/, 'in')} → Client secret → Show, and copy it.`,
        ),
      )
    } else {
      results.push(
        fail(
          'client-secret',
          `the token endpoint answered ${answer.ok ? `HTTP ${answer.status}${error ? ` (${error})` : ''}` : answer.problem}`,
          'Cognito gave no verdict on the client credentials; check that the app client has a client secret and try again.',
        ),
      )
    }
  }
  return results
}

/** True when every check passed. */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.length > 0 && results.every((r) => r.status === 'pass')
}
