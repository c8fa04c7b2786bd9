/** Helpers for the JSON API tests: real tokens from the local Cognito over HTTP, and calls to /api/me. */
import { createHash, randomBytes } from 'node:crypto'
import type { LocalCognito, LocalCognitoClient } from '../../src/local-cognito/index.js'
import { Browser, parseSignInForm } from '../helpers/browser.js'
import { signIn, type Stack } from '../helpers/stack.js'

export const API_SCOPE_READ = 'myapi/read'
export const API_SCOPE_WRITE = 'myapi/write'

/** A machine client (client_credentials) with custom scopes. */
export function machineClient(id: string, scopes: string[] = [API_SCOPE_READ, API_SCOPE_WRITE]): LocalCognitoClient {
  return {
    clientId: id,
    clientSecret: `${id}-secret-0123456789abcdefghijklmnop`,
    callbackUrls: [],
    logoutUrls: [],
    allowedScopes: scopes,
    allowedOAuthFlows: ['client_credentials'],
  }
}

/** Another web client of the same pool (authorization code flow). */
export function webClient(id: string, callback = 'http://localhost:4999/cb'): LocalCognitoClient {
  return {
    clientId: id,
    clientSecret: `${id}-secret-0123456789abcdefghijklmnop`,
    callbackUrls: [callback],
    logoutUrls: [],
    allowedScopes: ['openid', 'email', 'profile'],
    allowedOAuthFlows: ['code'],
  }
}

function basic(client: LocalCognitoClient): string {
  return `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret ?? ''}`).toString('base64')}`
}

async function tokenRequest(cognito: LocalCognito, client: LocalCognitoClient, form: Record<string, string>): Promise<Record<string, string>> {
  const response = await fetch(`${cognito.origin}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client) },
    body: new URLSearchParams(form).toString(),
  })
  const body = (await response.json()) as Record<string, string>
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status} ${JSON.stringify(body)}`)
  return body
}

/** A client-credentials access token. */
export async function clientCredentialsToken(cognito: LocalCognito, client: LocalCognitoClient, scope?: string): Promise<string> {
  const body = await tokenRequest(cognito, client, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) })
  return body.access_token as string
}

/** The tokens of a full code flow (hosted UI sign-in, PKCE, client_secret_basic) for a web client. */
export async function codeFlowTokens(
  cognito: LocalCognito,
  client: LocalCognitoClient,
  options: { username?: string; password?: string; scope?: string } = {},
): Promise<{ accessToken: string; idToken: string }> {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const redirectUri = client.callbackUrls[0] ?? ''
  const authorize = new URL('/oauth2/authorize', cognito.origin)
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: redirectUri,
    scope: options.scope ?? 'openid email profile',
    state: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  const browser = new Browser()
  const toForm = await browser.navigate(authorize)
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, {
    _csrf: form.csrf,
    username: options.username ?? 'demo',
    password: options.password ?? 'Demo-passw0rd',
  })
  const code = new URL(submitted.headers.get('location') ?? '').searchParams.get('code')
  if (!code) throw new Error(`no code: ${submitted.status} ${submitted.headers.get('location')}`)
  const body = await tokenRequest(cognito, client, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  })
  return { accessToken: body.access_token as string, idToken: body.id_token as string }
}

/** Signs in through the app and returns the tokens its session holds (the app's own client). */
export async function appSessionTokens(stack: Stack, browser = new Browser()): Promise<{ accessToken: string; idToken: string; browser: Browser }> {
  const result = await signIn(browser, stack)
  if (result.response.status !== 200) throw new Error(`sign-in ended with ${result.response.status}`)
  const sid = decodeURIComponent(browser.cookie('localhost', 'sid') ?? '').split('.').slice(0, -1).join('.')
  const session = await stack.app.sessionStore.read(sid)
  const tokens = session?.tokens
  if (!tokens) throw new Error('no tokens in the session')
  return { accessToken: tokens.accessToken, idToken: tokens.idToken, browser }
}

export interface ApiAnswer {
  status: number
  headers: Headers
  body: Record<string, unknown>
  text: string
}

/** GET /api/me (or another path) with the given headers; never follows a redirect. */
export async function callApi(stack: Stack, headers: Record<string, string> = {}, path = '/api/me', browser?: Browser): Promise<ApiAnswer> {
  const url = `${stack.baseUrl}${path}`
  const response = browser ? await browser.get(url, headers) : await fetch(url.replace('//localhost:', '//127.0.0.1:'), { headers, redirect: 'manual' })
  const text = await response.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    // asserted by the caller
  }
  return { status: response.status, headers: response.headers, body, text }
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` }
}

function b64(json: object): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url')
}

function parts(token: string): [string, string, string] {
  const [h = '', p = '', s = ''] = token.split('.')
  return [h, p, s]
}

/** The same token with a changed payload (so the signature no longer matches). */
export function tamperPayload(token: string, changes: Record<string, unknown>): string {
  const [h, p, s] = parts(token)
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>
  return `${h}.${b64({ ...payload, ...changes })}.${s}`
}

/** The same token with one signature character flipped. */
export function tamperSignature(token: string): string {
  const [h, p, s] = parts(token)
  const flipped = (s[5] === 'A' ? 'B' : 'A')
  return `${h}.${p}.${s.slice(0, 5)}${flipped}${s.slice(6)}`
}

/** An unsigned (`alg: none`) copy of the token's claims. */
export function algNone(token: string): string {
  const [h, p] = parts(token)
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>
  return `${b64({ ...header, alg: 'none' })}.${p}.`
}
