/**
 * Shared pieces of the browser tests: a watched browser context (CSP violations, dialogs), signing in
 * through the local Cognito's hosted form, axe-core, the no-inline-code check and screenshots.
 */
import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import { PROJECT_ROOT } from '../../src/lib/paths.js'
import type { Stack } from '../helpers/stack.js'

const require = createRequire(import.meta.url)
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

export const SCREENSHOT_DIR = join(PROJECT_ROOT, 'test-output', 'screenshots')

export interface Watched {
  context: BrowserContext
  page: Page
  /** CSP violations seen on the app's pages (securitypolicyviolation events and console reports). */
  csp: string[]
  /** Messages of JavaScript dialogs (alert, confirm, prompt) that opened; each is dismissed. */
  dialogs: string[]
}

/** A fresh context (own cookies) and page, watched for CSP violations and dialogs. */
export async function openPage(browser: Browser, stack: Stack, options: BrowserContextOptions = {}): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
  context.setDefaultTimeout(10_000)
  const appOrigin = new URL(stack.baseUrl).origin
  const onApp = (url: string | undefined) => url !== undefined && url.startsWith(appOrigin)
  const csp: string[] = []
  const dialogs: string[] = []
  // The binding and the init script are installed by the DevTools protocol, so the app's CSP does not apply to them.
  await context.exposeBinding('__e2eReportCsp', ({ frame }, detail: string) => {
    if (onApp(frame.url())) csp.push(detail)
  })
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => {
      window.__e2eReportCsp(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' on ' + e.documentURI)
    })`,
  })
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text()) && onApp(message.page()?.url())) {
      csp.push(`console: ${message.text()}`)
    }
  })
  const page = await context.newPage()
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`)
    void dialog.dismiss().catch(() => undefined)
  })
  return { context, page, csp, dialogs }
}

/** Waits until the page shows an app URL (not the callback, which only redirects). */
export async function waitForApp(page: Page, stack: Stack): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(stack.baseUrl) && url.pathname !== '/auth/callback')
}

/** On the local Cognito's sign-in form: types the credentials and submits them like a person would. */
export async function submitCognitoForm(page: Page, username: string, password: string): Promise<void> {
  await page.locator('#signInFormUsername').fill(username)
  await page.locator('#signInFormPassword').fill(password)
  await page.locator('#signInSubmitButton').click()
}

/** From anywhere in the app: goes to `start` (default /login), signs in at the hosted form, waits to be back. */
export async function signInWithBrowser(
  page: Page,
  stack: Stack,
  options: { username?: string; password?: string; start?: string } = {},
): Promise<void> {
  await page.goto(new URL(options.start ?? '/login', stack.baseUrl).href)
  if (!page.url().startsWith(stack.cognito.origin)) throw new Error(`expected the hosted sign-in form, got ${page.url()}`)
  await submitCognitoForm(page, options.username ?? 'demo', options.password ?? 'Demo-passw0rd')
  await waitForApp(page, stack)
}

/** The OAuth `state` of the authorize request the page was sent to (the hosted form's URL carries it). */
export function stateOf(page: Page): string {
  const state = new URL(page.url()).searchParams.get('state')
  if (!state) throw new Error(`no state in ${page.url()}`)
  return state
}

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: string[]
}

/**
 * Runs axe-core in the page. The source goes in through page.evaluate (the DevTools protocol), not a
 * <script> tag: the app's CSP forbids inline script, and must keep doing so.
 */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE)
  return (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').join(' ')) })))`)) as AxeViolation[]
}

/** Only what blocks people: serious and critical violations. */
export function blocking(violations: AxeViolation[]): AxeViolation[] {
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

/** Inline script, inline style, style attributes and event-handler attributes found in an HTML text. */
export function inlineCodeIn(html: string): string[] {
  const found: string[] = []
  for (const m of html.matchAll(/<script\b[^>]*>/gi)) if (!/\bsrc\s*=/i.test(m[0])) found.push(m[0])
  for (const m of html.matchAll(/<style\b[^>]*>/gi)) found.push(m[0])
  for (const m of html.matchAll(/<[a-z][^>]*\s(style|on[a-z]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi)) found.push(m[0])
  for (const m of html.matchAll(/\bjavascript:/gi)) found.push(m[0])
  return found
}

export const VARIANTS = [
  { name: 'phone', viewport: { width: 390, height: 844 }, colorScheme: 'light' },
  { name: 'desktop', viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  { name: 'phone-dark', viewport: { width: 390, height: 844 }, colorScheme: 'dark' },
  { name: 'desktop-dark', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
] as const

/** Full-page screenshots of the current page at each width and colour scheme; back to desktop light after. */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const files: string[] = []
  for (const variant of VARIANTS) {
    await page.setViewportSize(variant.viewport)
    await page.emulateMedia({ colorScheme: variant.colorScheme })
    const path = join(SCREENSHOT_DIR, `${name}-${variant.name}.png`)
    await page.screenshot({ path, fullPage: true, animations: 'disabled' })
    files.push(path)
  }
  await page.setViewportSize({ width: 1280, height: 800 })
  await page.emulateMedia({ colorScheme: 'light' })
  return files
}
