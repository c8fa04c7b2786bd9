/**
 * The checks behind `npm run doctor`: this app's Cognito settings against the live user pool, without
 * signing anyone in. Each check is one HTTP exchange whose answer tells a right setting from a wrong
 * one (a dummy code at the token endpoint, an authorization request that stops at the sign-in page,
 * a sign-out request with no session), made the way the sign-in component (src/auth) makes it.
 * The checks are a table, run in order; one whose prerequisite did not pass is skipped, with the reason.
 * Results never contain the client secret.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { causeChain, cognitoErrorInChain } from '../auth/errors.js'
import { clientAuthorizationHeader, logoutEndpoint, logoutUrlFor, pkceChallenge } from '../auth/flow.js'
import { isLoopbackHost, type Config } from '../config/index.js'
import { readBounded } from '../lib/bounded-fetch.js'
import { appRegisteredUrls } from '../web/auth-paths.js'

export type CheckId =
  | 'discovery' | 'issuer' | 'jwks' | 'domain' | 'revocation' | 'callback' | 'code-grant' | 'scopes' | 'logout' | 'client-secret'

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

interface Check {
  readonly id: CheckId
  /** Checks that must have passed first; the first one that did not is why this one is skipped. */
  readonly needs: readonly Prerequisite[]
  /** What is checked, as a statement that holds when it passes. */
  readonly title: string
  readonly run: (ctx: Context) => Outcome | Promise<Outcome>
}

/** The checks, in the order they run. */
const CHECKS: readonly Check[] = [
  { id: 'discovery', needs: [], title: 'The discovery document can be fetched', run: discoveryDocument },
  { id: 'issuer', needs: ['discovery'], title: 'The discovery document names the configured issuer', run: issuerMatches },
  { id: 'jwks', needs: ['discovery'], title: 'The signing keys (JWKS) can be fetched', run: signingKeys },
  { id: 'domain', needs: ['discovery'], title: 'The pool has a domain for the hosted sign-in pages', run: poolDomain },
  { id: 'revocation', needs: ['discovery', 'domain'], title: 'Cognito offers token revocation (used at sign-out)', run: revocation },
  { id: 'callback', needs: ['discovery', 'domain'], title: 'The callback URL is registered on the app client', run: callbackUrl },
  { id: 'code-grant', needs: ['discovery', 'domain', 'callback'], title: 'The app client allows the authorization code grant', run: codeGrant },
  { id: 'scopes', needs: ['discovery', 'domain', 'code-grant'], title: 'Cognito accepts the requested scopes', run: scopes },
  { id: 'logout', needs: ['discovery', 'domain'], title: 'The sign-out URL is registered on the app client', run: signOutUrl },
  { id: 'client-secret', needs: ['discovery', 'issuer', 'domain'], title: 'Cognito accepts the client id and secret', run: clientSecret },
]

/** What a skipped check says when this prerequisite did not pass. */
const NEEDS = {
  discovery: 'needs the discovery document',
  issuer: 'needs a discovery document that names the configured issuer (the client secret is sent only to that pool)',
  domain: 'needs a pool domain',
  callback: 'needs a registered callback URL',
  'code-grant': 'needs the sign-in page to open for this app client',
} as const satisfies Partial<Record<CheckId, string>>

type Prerequisite = keyof typeof NEEDS

/**
 * Runs every check in order and returns one result per check. A check whose prerequisite did not pass
 * is skipped (with the reason). No one is signed in and nothing in the pool is changed.
 */
export async function runDoctor(config: Config, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const ctx: Context = {
    cognito: config.cognito,
    urls: appRegisteredUrls(config.web.baseUrl),
    fetch: options.fetch ?? globalThis.fetch,
    metadata: {},
    signIns: new Map(),
  }
  const results: CheckResult[] = []
  const passed = new Set<CheckId>()
  for (const { id, needs, title, run } of CHECKS) {
    const missing = needs.find((prerequisite) => !passed.has(prerequisite))
    const outcome = missing ? { status: 'skip' as const, detail: NEEDS[missing] } : await run(ctx)
    if (outcome.status === 'pass') passed.add(id)
    results.push({ id, title, ...outcome })
  }
  return results
}

/** True when every check passed. */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.length > 0 && results.every((r) => r.status === 'pass')
}

type Outcome = { status: 'pass'; detail?: string } | { status: 'fail'; detail: string; fix: string } | { status: 'skip'; detail: string }

const pass = (detail?: string): Outcome => (detail === undefined ? { status: 'pass' } : { status: 'pass', detail })
const fail = (detail: string, fix: string): Outcome => ({ status: 'fail', detail, fix })

const METADATA_FIELDS = ['issuer', 'jwks_uri', 'authorization_endpoint', 'token_endpoint', 'revocation_endpoint', 'end_session_endpoint'] as const

/** The discovery document's fields the checks read (non-empty strings only). */
type Metadata = Partial<Record<(typeof METADATA_FIELDS)[number], string>>

/** What the checks share: the settings, and what earlier checks found. */
interface Context {
  readonly cognito: Config['cognito']
  readonly urls: { readonly redirectUri: string; readonly postLogoutRedirectUri: string }
  readonly fetch: typeof fetch
  /** Set by the discovery check; empty until it passes. */
  metadata: Metadata
  /** /oauth2/authorize's answer by scope: the callback, code-grant and scopes checks share one request. */
  readonly signIns: Map<string, Promise<SignIn>>
}

const POOL_SETTING = 'COGNITO_USER_POOL_ID (or COGNITO_ISSUER)'
const STANDARD_SCOPES = 'openid, email, phone, profile, aws.cognito.signin.user.admin'
/** Where the app client's settings are; follows "in" or "In". */
const APP_CLIENT = 'the Cognito console, open the user pool → App clients → this app client'
const LOGIN_PAGES = `${APP_CLIENT} → Login pages`

async function discoveryDocument(ctx: Context): Promise<Outcome> {
  const url = `${ctx.cognito.issuer}/.well-known/openid-configuration`
  const answer = await ask(ctx, url)
  if (!answer.ok) return fail(`${url}: ${answer.problem}`, `Check ${POOL_SETTING} and that this machine can reach ${new URL(url).host}.`)
  if (answer.status !== 200) {
    return fail(
      `${url} answered HTTP ${answer.status}`,
      answer.status === 404 || answer.status === 400
        ? `There is no user pool at this issuer: check the pool id and its region in ${POOL_SETTING}.`
        : `Cognito did not serve the discovery document; check ${POOL_SETTING} and try again later.`,
    )
  }
  const doc = json(answer.text)
  if (!doc) return fail(`${url} did not answer a JSON document`, `Check that ${POOL_SETTING} points at a Cognito user pool.`)
  for (const key of METADATA_FIELDS) {
    const value = doc[key]
    if (typeof value === 'string' && value !== '') ctx.metadata[key] = value
  }
  return pass(url)
}

function issuerMatches({ cognito, metadata: { issuer } }: Context): Outcome {
  if (issuer === cognito.issuer) return pass(issuer)
  return fail(
    `discovery names ${issuer ? `"${printable(issuer)}"` : 'no issuer'}; configured: "${cognito.issuer}"`,
    issuer
      ? `Set ${POOL_SETTING} so that the issuer is exactly ${printable(issuer)} (tokens carry that issuer and would be refused).`
      : `Check ${POOL_SETTING}: this is not a Cognito discovery document.`,
  )
}

async function signingKeys(ctx: Context): Promise<Outcome> {
  const url = ctx.metadata.jwks_uri ?? `${ctx.cognito.issuer}/.well-known/jwks.json`
  const answer = await ask(ctx, url)
  const keys = answer.ok && answer.status === 200 ? json(answer.text)?.keys : undefined
  const usable = Array.isArray(keys) ? keys.filter((k) => k && typeof k === 'object' && typeof k.kid === 'string' && typeof k.kty === 'string') : []
  if (usable.length > 0) return pass(`${usable.length} key${usable.length === 1 ? '' : 's'} at ${url}`)
  return fail(
    `${url}: ${answer.ok ? (answer.status === 200 ? 'no keys in the answer' : `HTTP ${answer.status}`) : answer.problem}`,
    `Tokens cannot be verified without the pool's keys: check ${POOL_SETTING} and that this machine can reach ${new URL(url).host}.`,
  )
}

function poolDomain({ metadata }: Context): Outcome {
  const endpoints = oauthEndpoints(metadata)
  if (endpoints) return pass(endpoints.authorization.origin)
  const seen = metadata.authorization_endpoint ? printable(metadata.authorization_endpoint) : 'missing'
  return fail(
    `authorization_endpoint is ${seen}: the OAuth endpoints are not on a pool domain`,
    'Give the user pool a domain (Cognito console → the user pool → Domain: a Cognito prefix domain or your own), then run the doctor again.',
  )
}

function revocation({ metadata }: Context): Outcome {
  if (metadata.revocation_endpoint) return pass(metadata.revocation_endpoint)
  return fail(
    'discovery lists no revocation_endpoint',
    `Sign-out cannot revoke the refresh token. Turn on token revocation for the app client (in ${APP_CLIENT} → Edit → Advanced security configurations → Enable token revocation).`,
  )
}

async function callbackUrl(ctx: Context): Promise<Outcome> {
  const attempt = await signIn(ctx, 'openid')
  const callback = ctx.urls.redirectUri
  if (attempt.kind === 'sign-in-page') return pass(`${callback}: /oauth2/authorize leads to the sign-in page`)
  if (attempt.kind === 'error-to-callback') return pass(`${callback}: Cognito redirects to it`)
  return fail(
    `/oauth2/authorize answered ${attempt.summary}`,
    attempt.kind === 'unregistered-callback'
      ? `In ${LOGIN_PAGES}: add ${callback} to Allowed callback URLs (exactly, with no trailing slash). If APP_BASE_URL is wrong instead, fix APP_BASE_URL.`
      : `Check COGNITO_CLIENT_ID (an app client of this pool), then in ${LOGIN_PAGES}: add ${callback} to Allowed callback URLs.`,
  )
}

async function codeGrant(ctx: Context): Promise<Outcome> {
  const attempt = await signIn(ctx, 'openid')
  if (attempt.kind === 'sign-in-page') return pass()
  return fail(
    `/oauth2/authorize answered ${said(attempt)}`,
    attempt.kind === 'error-to-callback' && attempt.error === 'unauthorized_client'
      ? `In ${LOGIN_PAGES}: under OAuth 2.0 grant types, select "Authorization code grant", and choose Cognito user pool as an identity provider.`
      : `In ${LOGIN_PAGES}: check the OAuth 2.0 grant types and identity providers of the app client.`,
  )
}

async function scopes(ctx: Context): Promise<Outcome> {
  const scope = ctx.cognito.scopes.join(' ')
  const attempt = await signIn(ctx, scope)
  if (attempt.kind === 'sign-in-page') return pass(`${scope} (scopes the app client does not allow are dropped silently: check its Allowed OAuth scopes)`)
  return fail(
    `with scope "${scope}", /oauth2/authorize answered ${said(attempt)}`,
    `Check COGNITO_SCOPES: use ${STANDARD_SCOPES}, or custom scopes (resource-server-id/scope) defined in this pool, and allow them on the app client.`,
  )
}

/** Cognito's /logout with no session, at the URL the app sends people to (logoutEndpoint, logoutUrlFor). */
async function signOutUrl(ctx: Context): Promise<Outcome> {
  const signedOut = ctx.urls.postLogoutRedirectUri
  const endpoint = guaranteed(logoutEndpoint(ctx.metadata, ctx.cognito.domain), 'domain')
  const url = logoutUrlFor(endpoint, { clientId: ctx.cognito.clientId, postLogoutRedirectUri: signedOut }).href
  const answer = await ask(ctx, url)
  if (redirectTarget(answer, url)?.href === new URL(signedOut).href) return pass(`${signedOut}: /logout redirects to it`)
  return fail(`/logout answered ${answerSummary(answer, url)}`, `In ${LOGIN_PAGES}: add ${signedOut} to Allowed sign-out URLs (exactly).`)
}

/** A made-up code with the app's own client authentication: invalid_grant means the credentials were accepted. */
async function clientSecret(ctx: Context): Promise<Outcome> {
  const token = guaranteed(oauthEndpoints(ctx.metadata), 'domain').token
  // The secret goes only over https (plain http only to the local Cognito on this machine).
  if (token.protocol !== 'https:' && !(ctx.cognito.allowInsecureRequests && isLoopbackHost(token.hostname))) {
    return { status: 'skip', detail: `the token endpoint ${token.origin} is not https: the client secret is not sent there` }
  }
  const url = token.href
  const answer = await ask(ctx, url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: clientAuthorizationHeader(ctx.cognito.clientId, ctx.cognito.clientSecret),
      accept: 'application/json',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: randomUUID(),
      redirect_uri: ctx.urls.redirectUri,
      code_verifier: randomBytes(32).toString('base64url'),
    }).toString(),
  })
  const error = answer.ok ? printable(json(answer.text)?.error) : ''
  if (error === 'invalid_grant' || error === 'unauthorized_client') {
    return pass(`a made-up code was refused with ${error}, after the client credentials were accepted`)
  }
  if (answer.ok && error === 'invalid_client') {
    return fail(
      `the token endpoint answered invalid_client (HTTP ${answer.status})`,
      `COGNITO_CLIENT_SECRET is not this app client's secret (or COGNITO_CLIENT_ID is not a client of this pool): in ${APP_CLIENT} → Client secret → Show, and copy it.`,
    )
  }
  return fail(
    `the token endpoint answered ${answerSummary(answer, url)}`,
    'Cognito gave no verdict on the client credentials; check that the app client has a client secret and try again.',
  )
}

/** What a passed prerequisite guarantees: the runner runs a check only after its prerequisites passed. */
function guaranteed<T>(value: T | undefined, prerequisite: Prerequisite): T {
  if (value === undefined) throw new Error(`a doctor check ran although "${prerequisite}" did not pass`)
  return value
}

/** The hosted UI's endpoints, when discovery puts them on a pool domain (…/oauth2/authorize, …/oauth2/token). */
function oauthEndpoints(metadata: Metadata): { authorization: URL; token: URL } | undefined {
  const authorization = urlOf(metadata.authorization_endpoint)
  const token = urlOf(metadata.token_endpoint)
  const onDomain = authorization?.pathname.endsWith('/oauth2/authorize') && token?.pathname.endsWith('/oauth2/token')
  return onDomain && authorization && token ? { authorization, token } : undefined
}

type SignIn =
  | { kind: 'sign-in-page' | 'unregistered-callback' | 'other'; summary: string }
  | { kind: 'error-to-callback'; error: string; summary: string }

/** GET /oauth2/authorize as /login sends it (PKCE S256, state), once per scope; the answer is classified, never followed. */
function signIn(ctx: Context, scope: string): Promise<SignIn> {
  const attempt = ctx.signIns.get(scope) ?? authorize(ctx, scope)
  ctx.signIns.set(scope, attempt)
  return attempt
}

async function authorize(ctx: Context, scope: string): Promise<SignIn> {
  const url = new URL(guaranteed(oauthEndpoints(ctx.metadata), 'domain').authorization)
  url.search = new URLSearchParams({
    client_id: ctx.cognito.clientId,
    response_type: 'code',
    redirect_uri: ctx.urls.redirectUri,
    scope,
    code_challenge: await pkceChallenge(randomBytes(32).toString('base64url')),
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
  }).toString()
  const answer = await ask(ctx, url.href)
  const summary = answerSummary(answer, url.href)
  const target = redirectTarget(answer, url.href)
  if (!target) return { kind: 'other', summary }
  const error = target.searchParams.get('error') ?? undefined
  if (target.pathname.endsWith('/error')) {
    const unregistered = error === 'redirect_mismatch' || /required parameters missing/i.test(error ?? '')
    return { kind: unregistered ? 'unregistered-callback' : 'other', summary }
  }
  const callback = new URL(ctx.urls.redirectUri)
  if (target.origin === callback.origin && target.pathname === callback.pathname) {
    return { kind: 'error-to-callback', error: printable(error ?? 'no error, but a redirect without sign-in'), summary }
  }
  return { kind: target.origin === url.origin && target.pathname.endsWith('/login') ? 'sign-in-page' : 'other', summary }
}

/** What /oauth2/authorize said: the error it sent to the callback, else a summary of its answer. */
function said(attempt: SignIn): string {
  return attempt.kind === 'error-to-callback' ? `error=${attempt.error}` : attempt.summary
}

type Answer = { ok: true; status: number; location: string | undefined; text: string } | { ok: false; problem: string }

/** Cap on any answer the doctor reads, as on the app's own calls to Cognito. */
const MAX_ANSWER_BYTES = 256 * 1024

async function ask(ctx: Context, url: string, init: RequestInit = {}): Promise<Answer> {
  try {
    const response = await ctx.fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(ctx.cognito.timeoutMs) })
    const text = await readBounded(response, MAX_ANSWER_BYTES)
    if (text === undefined) return { ok: false, problem: `the answer is larger than ${MAX_ANSWER_BYTES / 1024} KiB` }
    return { ok: true, status: response.status, location: response.headers.get('location') ?? undefined, text }
  } catch (error) {
    return { ok: false, problem: describeFailure(error, ctx.cognito.timeoutMs) }
  }
}

/** Why a request failed: a timeout as the sign-in component detects one, else the network error's code. */
function describeFailure(error: unknown, timeoutMs: number): string {
  const known = cognitoErrorInChain(error)
  if (known) return known.kind === 'timeout' ? `no answer within ${timeoutMs / 1000} s` : printable(known.message)
  for (const link of causeChain(error)) {
    const code = (link as { code?: unknown }).code
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name does not resolve (${code})`
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `could not connect (${code})`
  }
  return `the request failed (${printable((error as Error)?.message) || 'unknown error'})`
}

/** Where a redirect goes, resolved; undefined when the answer is not a redirect. */
function redirectTarget(answer: Answer, from: string): URL | undefined {
  return answer.ok && answer.status >= 300 && answer.status < 400 ? urlOf(answer.location || undefined, from) : undefined
}

/** The answer in a few words: a redirect without the query's random values, or the status and the OAuth error. */
function answerSummary(answer: Answer, from: string): string {
  if (!answer.ok) return answer.problem
  const target = redirectTarget(answer, from)
  if (target) {
    const error = printable(target.searchParams.get('error'))
    return `HTTP ${answer.status} redirect to ${target.origin}${target.pathname}${error ? `?error=${error}` : ''}`
  }
  const error = printable(json(answer.text)?.error)
  return `HTTP ${answer.status}${error ? ` (${error})` : ''}`
}

/** Only a short, printable token from what the server said (error codes), never a whole body. */
function printable(value: unknown): string {
  return typeof value === 'string' ? value.replace(/[^\w .:/+-]/g, '').slice(0, 80) : ''
}

function json(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function urlOf(value: string | undefined, base?: string): URL | undefined {
  try {
    return value === undefined ? undefined : new URL(value, base)
  } catch {
    return undefined
  }
}
