/** Shared helpers for the local Cognito tests (real HTTP, no mocks). */
import { createHash, randomBytes } from 'node:crypto'
import type { LocalCognito, LocalCognitoClient } from '../../src/local-cognito/index.js'

export const APP = 'http://localhost:3000'
export const CALLBACK = `${APP}/auth/callback`

export class CookieJar {
  private readonly cookies = new Map<string, string>()

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? ''
      const i = pair.indexOf('=')
      const name = pair.slice(0, i).trim()
      const value = pair.slice(i + 1).trim()
      if (value === '' || /max-age=0\b/i.test(line) || /expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }

  set(name: string, value: string): void {
    this.cookies.set(name, value)
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}

export async function get(url: string | URL, jar?: CookieJar, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(url, { redirect: 'manual', headers: { ...(jar ? { cookie: jar.header() } : {}), ...headers } })
  jar?.store(res)
  return res
}

export async function postForm(url: string | URL, form: Record<string, string>, jar?: CookieJar, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(jar ? { cookie: jar.header() } : {}), ...headers },
    body: new URLSearchParams(form).toString(),
  })
  jar?.store(res)
  return res
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export function authorizeUrl(cognito: LocalCognito, params: Record<string, string>): string {
  return `${cognito.origin}/oauth2/authorize?${new URLSearchParams(params).toString()}`
}

export function codeParams(client: LocalCognitoClient, extra: Record<string, string> = {}): Record<string, string> {
  return { response_type: 'code', client_id: client.clientId, redirect_uri: client.callbackUrls[0] ?? '', ...extra }
}

export interface LoginForm {
  action: string
  csrf: string
  html: string
}

export function parseForm(html: string): LoginForm {
  const action = /<form method="post" action="([^"]*)"/.exec(html)?.[1]
  const csrf = /name="_csrf" value="([^"]*)"/.exec(html)?.[1]
  if (action === undefined || csrf === undefined) throw new Error('no form in page')
  return { action: action.replace(/&amp;/g, '&'), csrf, html }
}

/** GET the page at `url` (following one redirect to /login if needed) and return its form. */
export async function openForm(cognito: LocalCognito, url: string, jar: CookieJar): Promise<LoginForm> {
  let res = await get(url, jar)
  if (res.status === 302) res = await get(new URL(res.headers.get('location') ?? '', cognito.origin), jar)
  if (res.status !== 200) throw new Error(`form page answered ${res.status}`)
  return parseForm(await res.text())
}

/** Authorize → /login → POST credentials; returns the final response (302 to the callback on success). */
export async function signIn(
  cognito: LocalCognito,
  params: Record<string, string>,
  username: string,
  password: string,
  jar = new CookieJar(),
): Promise<{ res: Response; jar: CookieJar }> {
  const form = await openForm(cognito, authorizeUrl(cognito, params), jar)
  const res = await postForm(new URL(form.action, cognito.origin), { _csrf: form.csrf, username, password }, jar)
  return { res, jar }
}

/** Sign in and return the code from the callback redirect. */
export async function obtainCode(cognito: LocalCognito, params: Record<string, string>, username = 'demo', password = 'Demo-passw0rd'): Promise<string> {
  const { res } = await signIn(cognito, params, username, password)
  const location = res.headers.get('location')
  if (res.status !== 302 || !location) throw new Error(`sign-in answered ${res.status}`)
  const code = new URL(location).searchParams.get('code')
  if (!code) throw new Error(`no code in ${location}`)
  return code
}

export function basic(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` }
}

export async function token(
  cognito: LocalCognito,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; json: Record<string, unknown> }> {
  const res = await postForm(`${cognito.origin}/oauth2/token`, form, undefined, headers)
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, json }
}

export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = jwt.split('.')
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  }
}

export function atHashOf(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url')
}

export const confidentialClient = (id: string, extra: Partial<LocalCognitoClient> = {}): LocalCognitoClient => ({
  clientId: id,
  clientSecret: `${id}-secret-0123456789abcdefghijklmnop`,
  callbackUrls: [CALLBACK],
  logoutUrls: [`${APP}/logged-out`],
  allowedScopes: ['openid', 'email', 'profile', 'phone', 'aws.cognito.signin.user.admin'],
  allowedOAuthFlows: ['code'],
  ...extra,
})
