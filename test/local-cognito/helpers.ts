/** Shared helpers for the local Cognito tests (real HTTP through the tests' one Browser, no mocks). */
import { createHash, randomBytes } from 'node:crypto'
import type { LocalCognito, LocalCognitoClient } from '../../src/local-cognito/index.js'
import { Browser, parseSignInForm, type HostedForm } from '../helpers/browser.js'

export const APP = 'http://localhost:3000'
export const CALLBACK = `${APP}/auth/callback`

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

export interface LoginForm extends HostedForm {
  /** The page the form is on. */
  html: string
}

/** GET the page at `url` (following one redirect to the page, e.g. authorize → /login) and return its form. */
export async function openForm(url: string | URL, browser: Browser): Promise<LoginForm> {
  let pageUrl = new URL(url)
  let res = await browser.get(pageUrl)
  if (res.status === 302) {
    pageUrl = new URL(res.headers.get('location') ?? '', pageUrl)
    res = await browser.get(pageUrl)
  }
  if (res.status !== 200) throw new Error(`form page answered ${res.status}`)
  const html = await res.text()
  return { ...parseSignInForm(html, pageUrl), html }
}

/** Authorize → /login → POST credentials; returns the final response (302 to the callback on success). */
export async function signIn(
  cognito: LocalCognito,
  params: Record<string, string>,
  username: string,
  password: string,
  browser = new Browser(),
): Promise<{ res: Response; browser: Browser }> {
  const form = await openForm(authorizeUrl(cognito, params), browser)
  const res = await browser.post(form.action, { _csrf: form.csrf, username, password })
  return { res, browser }
}

/** The cookie `name` the browser holds for the local Cognito's site. */
export function cognitoCookie(browser: Browser, cognito: LocalCognito, name: string): string | undefined {
  return browser.cookie(new URL(cognito.origin).hostname, name)
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
  const res = await new Browser().post(`${cognito.origin}/oauth2/token`, form, headers)
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

/** The POST form named `name` in a page: where it posts (resolved) and its hidden fields. */
export function namedForm(html: string, pageUrl: string | URL, name: string): { action: string; hidden: Record<string, string> } {
  const decode = (v: string): string => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
  const tag = new RegExp(`<form\\b[^>]*\\bname="${name}"[^>]*>`, 'i').exec(html)
  if (!tag) throw new Error(`no form ${name} at ${pageUrl}`)
  const action = /\saction="([^"]*)"/.exec(tag[0])?.[1]
  if (action === undefined) throw new Error(`form ${name} has no action`)
  const end = html.indexOf('</form>', tag.index)
  const body = html.slice(tag.index, end)
  const hidden: Record<string, string> = {}
  for (const m of body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) hidden[m[1] ?? ''] = decode(m[2] ?? '')
  return { action: new URL(decode(action), pageUrl).href, hidden }
}

/** An href in a page by the link's id, resolved against the page. */
export function linkById(html: string, pageUrl: string | URL, id: string): string {
  const m = new RegExp(`<a href="([^"]*)" id="${id}"`).exec(html)
  if (!m?.[1]) throw new Error(`no link #${id} at ${pageUrl}`)
  return new URL(m[1].replace(/&amp;/g, '&'), pageUrl).href
}

/** Lines the local Cognito printed, for its `logger` option. */
export function captureLog(): { lines: string[]; logger: (line: string) => void } {
  const lines: string[] = []
  return { lines, logger: (line) => void lines.push(line) }
}

/** The 6-digit code in the last logged line that mentions `what` and `username`. */
export function loggedCode(lines: string[], what: string, username: string): string {
  const line = [...lines].reverse().find((l) => l.includes(what) && l.includes(username))
  const code = line ? /\b(\d{6})\b/.exec(line)?.[1] : undefined
  if (!code) throw new Error(`no ${what} for ${username} in ${JSON.stringify(lines)}`)
  return code
}
