/**
 * Shared checks for the attack suite: every attack must end in a clean error page in the site's
 * layout, with nobody signed in, nothing secret shown, and the app still serving the next request.
 */
import type { Test } from 'tap'
import type { Faults } from '../../src/local-cognito/index.js'
import type { MemorySessionStore } from '../../src/session/stores/memory.js'
import { Browser } from '../helpers/browser.js'
import { signIn, type Stack } from '../helpers/stack.js'

export type Assert = Test

/** Number of sessions in the app's (memory) store. */
export function storeSize(stack: Stack): number {
  return (stack.app.sessionStore.inner as MemorySessionStore).size
}

/** The session cookie's name for this stack (`sid`, or `__Host-sid` on https). */
export function sessionCookieName(stack: Stack): string {
  return stack.config.session.cookieName
}

/** The first CSRF-free proof that nobody is signed in in this browser, and that the app still works. */
export async function assertNobodySignedIn(t: Assert, stack: Stack, browser: Browser): Promise<void> {
  t.notOk(browser.cookie('localhost', sessionCookieName(stack)), 'no session cookie in the browser')
  const protectedPage = await browser.get(`${stack.baseUrl}/logged-in`)
  await protectedPage.arrayBuffer()
  t.equal(protectedPage.status, 302, '/logged-in is not served')
  t.match(protectedPage.headers.get('location') ?? '', /^\/login\?returnTo=/, '/logged-in redirects to /login')
  const home = await browser.get(`${stack.baseUrl}/`)
  t.equal(home.status, 200, 'the app still serves the next request')
  t.match(await home.text(), /id="greeting">Welcome</, 'the home page is the anonymous one')
}

/**
 * Asserts an error page: status, HTML in the site layout with "Error <status>", not cached, no stack
 * trace, none of `secrets` (plus the client secret) shown; then that nobody is signed in.
 */
export async function assertCleanFailure(
  t: Assert,
  stack: Stack,
  browser: Browser,
  response: Response,
  status: number,
  options: { html?: string; secrets?: Array<string | undefined | null>; title?: RegExp } = {},
): Promise<string> {
  t.equal(response.status, status, `answers ${status}`)
  t.match(response.headers.get('content-type') ?? '', /^text\/html/, 'an HTML page')
  t.equal(response.headers.get('cache-control'), 'no-store', 'the error page is not cached')
  const html = options.html ?? (await response.text())
  t.match(html, /<header class="site-header">/, 'in the site layout (header)')
  t.match(html, /<footer class="site-footer">/, 'in the site layout (footer)')
  t.match(html, new RegExp(`<p class="status-code">Error ${status}</p>`), 'shows the status')
  if (options.title) t.match(html, options.title, 'explains what happened')
  t.notMatch(html, /\bat [\w.<>]+ \(|node_modules|\.ts:\d+/, 'no stack trace')
  const secrets = [stack.clientSecret, ...(options.secrets ?? [])].filter((s): s is string => typeof s === 'string' && s.length > 0)
  for (const secret of secrets) t.notOk(html.includes(secret), 'nothing secret on the page')
  await assertNobodySignedIn(t, stack, browser)
  return html
}

/** Signs in with the given emulator faults switched on (and off again afterwards). */
export async function signInWithFaults(
  stack: Stack,
  faults: Faults,
  browser = new Browser(),
  options: { username?: string; password?: string; start?: string } = {},
): Promise<{ browser: Browser; response: Response; html: string; code: string | null; url: string }> {
  stack.cognito.faults = { ...faults }
  try {
    const result = await signIn(browser, stack, options)
    const callback = result.hops.find((h) => h.url.includes('/auth/callback'))?.url
    const code = callback ? new URL(callback).searchParams.get('code') : null
    return { browser, response: result.response, html: result.html, code, url: result.url }
  } finally {
    stack.cognito.faults = {}
  }
}

/** The state the app sent to Cognito for this browser's latest /login. */
export async function startLoginState(browser: Browser, stack: Stack, path = '/login'): Promise<string> {
  const response = await browser.get(`${stack.baseUrl}${path}`)
  await response.arrayBuffer()
  const location = response.headers.get('location')
  if (response.status !== 302 || !location) throw new Error(`/login answered ${response.status}`)
  const state = new URL(location).searchParams.get('state')
  if (!state) throw new Error('no state in the authorization URL')
  return state
}
