/**
 * The local Cognito's pages in a real browser: screenshots (phone 360 px and desktop, light and dark), axe-core,
 * no inline code and no CSP violation, touch-sized inputs, no sideways scrolling on a phone; and the journeys
 * (demo hint, sign-up with confirmation, forgotten password, MFA) with JavaScript off.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { MFA_DEMO_USER, totpCode } from '../../src/local-cognito/index.js'
import { startStack, type Stack } from '../helpers/stack.js'
import { launchChromium } from './chromium.js'
import { SCREENSHOT_DIR, blocking, inlineCodeIn, openPage, runAxe, waitForApp } from './helpers.js'

const SHOTS = [
  { name: 'phone-light', viewport: { width: 360, height: 740 }, colorScheme: 'light' },
  { name: 'phone-dark', viewport: { width: 360, height: 740 }, colorScheme: 'dark' },
  { name: 'desktop-light', viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  { name: 'desktop-dark', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
] as const

const browser = await launchChromium(t)
if (browser) {
  const lines: string[] = []
  const stack = await startStack(t, { cognito: { appName: 'Northwind Books', logger: (line) => void lines.push(line) } })
  const { cognito } = stack
  const written: string[] = []
  const lastCode = (what: string, who: string): string => {
    const line = [...lines].reverse().find((l) => l.includes(what) && l.includes(who))
    const code = line ? /\b(\d{6})\b/.exec(line)?.[1] : undefined
    if (!code) throw new Error(`no ${what} for ${who}`)
    return code
  }

  /** The local Cognito's pages are what is watched here (openPage watches the origin of `baseUrl`). */
  const atCognito = { ...stack, baseUrl: cognito.origin } as Stack

  /** Axe (light and dark), no inline code, touch-sized inputs, nothing wider than a 360 px phone; then screenshots. */
  async function checkPage(t: Test, page: Page, name: string): Promise<void> {
    t.ok(page.url().startsWith(cognito.origin), `${name} is a local Cognito page`)
    t.same(inlineCodeIn(await page.content()), [], `${name}: no inline script, style or handler`)
    t.equal(await page.evaluate(`document.querySelectorAll('script, style, [style]').length`), 0, `${name}: none in the DOM`)
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      t.same(blocking(await runAxe(page)), [], `${name} (${scheme}): no serious or critical accessibility violation`)
    }
    await page.setViewportSize({ width: 360, height: 740 })
    await page.emulateMedia({ colorScheme: 'light' })
    const sizes = (await page.evaluate(`[...document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]), button')].map((el) => {
      const r = el.getBoundingClientRect(); return { font: parseFloat(getComputedStyle(el).fontSize), height: r.height, id: el.id }
    })`)) as Array<{ font: number; height: number; id: string }>
    for (const s of sizes) {
      t.ok(s.font >= 16, `${name} #${s.id}: font ${s.font}px >= 16`)
      t.ok(s.height >= 44, `${name} #${s.id}: ${s.height}px tall >= 44`)
    }
    const overflow = (await page.evaluate('document.documentElement.scrollWidth')) as number
    t.ok(overflow <= 360, `${name}: fits a 360 px phone (scrollWidth ${overflow})`)
    await mkdir(SCREENSHOT_DIR, { recursive: true })
    for (const shot of SHOTS) {
      await page.setViewportSize(shot.viewport)
      await page.emulateMedia({ colorScheme: shot.colorScheme })
      const path = join(SCREENSHOT_DIR, `local-cognito-${name}-${shot.name}.png`)
      await page.screenshot({ path, fullPage: true, animations: 'disabled' })
      written.push(path)
    }
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.emulateMedia({ colorScheme: 'light' })
  }

  t.test('sign-in page: card, app name, hint with click-to-fill (no JavaScript), sign in to the app', async (t) => {
    const { context, page, csp, dialogs } = await openPage(browser, atCognito, { javaScriptEnabled: false })
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/login`)
    t.equal(await page.title(), 'Sign in')
    t.equal((await page.locator('.lc-brand').textContent())?.trim(), 'Northwind Books')
    const background = await page.locator('#signInSubmitButton').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor)
    t.not(background, 'rgba(0, 0, 0, 0)', 'the stylesheet applies')
    t.ok(await page.getByRole('link', { name: 'Forgot your password?' }).isVisible())
    t.ok(await page.getByRole('link', { name: 'Create an account' }).isVisible())
    t.ok(await page.getByRole('link', { name: 'Back to Northwind Books' }).isVisible())

    await page.locator('#demoUsersHint').getByRole('link', { name: 'reader', exact: true }).click()
    await page.waitForURL((url) => url.searchParams.get('username') === 'reader')
    t.equal(await page.locator('#signInFormUsername').inputValue(), 'reader', 'the username is filled in')
    await page.locator('#signInFormPassword').fill('Reader-passw0rd')
    await page.locator('#signInSubmitButton').click()
    await waitForApp(page, stack)
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
    t.equal(await page.locator('[data-field="username"]').textContent(), 'reader')
    t.same(csp, [], 'no CSP violation on the local Cognito')
    t.same(dialogs, [])
  })

  t.test('sign-in page checks; wrong password; the hint dismissed', async (t) => {
    const { context, page, csp } = await openPage(browser, atCognito)
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/login`)
    await checkPage(t, page, 'sign-in')
    await page.locator('#signInFormUsername').fill('demo')
    await page.locator('#signInFormPassword').fill('not-it')
    await page.locator('#signInSubmitButton').click()
    await page.waitForLoadState()
    t.equal((await page.locator('#loginErrorMessage').textContent())?.trim(), 'Incorrect username or password.')
    await checkPage(t, page, 'sign-in-error')
    await page.getByRole('link', { name: 'Hide this hint' }).click()
    await page.waitForLoadState()
    t.equal(await page.locator('#demoUsersHint').count(), 0, 'hidden')
    t.ok(await page.getByRole('link', { name: 'Show the demo users' }).isVisible())
    t.same(csp, [])
  })

  t.test('sign-up, confirmation code, back in the app', async (t) => {
    const { context, page, csp } = await openPage(browser, atCognito)
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/login`)
    await page.getByRole('link', { name: 'Create an account' }).click()
    await page.waitForURL((url) => url.pathname === '/signup')
    t.equal(await page.title(), 'Sign up')
    await page.locator('#signUpFormUsername').fill('e2e-newbie')
    await page.locator('#signUpFormEmail').fill('e2e.newbie@example.com')
    await page.locator('#signUpFormPassword').fill('weak')
    await page.locator('#signUpButton').click()
    await page.waitForLoadState()
    t.equal((await page.locator('#signupErrorMessage').textContent())?.trim(), 'Password did not conform with policy: Password not long enough')
    await checkPage(t, page, 'sign-up')
    await page.locator('#signUpFormPassword').fill('E2e-newbie-passw0rd')
    await page.locator('#signUpButton').click()
    await page.waitForURL((url) => url.pathname === '/confirmUser')
    t.equal(cognito.user('e2e-newbie')?.status, 'UNCONFIRMED')
    await checkPage(t, page, 'confirm-account')
    await page.locator('#confirmFormCode').fill(lastCode('confirmation code', 'e2e-newbie'))
    await page.locator('#confirmButton').click()
    await waitForApp(page, stack)
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
    t.equal(await page.locator('[data-field="username"]').textContent(), 'e2e-newbie')
    t.equal(cognito.user('e2e-newbie')?.status, 'CONFIRMED')
    t.same(csp, [])
  })

  t.test('forgotten password: code, new password, sign in with it', async (t) => {
    const { context, page, csp } = await openPage(browser, atCognito)
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/login`)
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await page.waitForURL((url) => url.pathname === '/forgotPassword')
    await checkPage(t, page, 'forgot-password')
    await page.locator('#forgotFormUsername').fill('demo@example.com')
    await page.locator('#resetPasswordButton').click()
    await page.waitForURL((url) => url.pathname === '/confirmforgotPassword')
    await checkPage(t, page, 'reset-password')
    await page.locator('#forgotFormCode').fill(lastCode('password reset code', 'demo'))
    await page.locator('#forgotFormPassword').fill('Demo-passw0rd-2')
    await page.locator('#changePasswordButton').click()
    await page.waitForLoadState()
    t.match(await page.locator('#loginInfoMessage').textContent(), 'Your password has been reset.')
    await page.locator('#signInFormPassword').fill('Demo-passw0rd-2')
    await page.locator('#signInSubmitButton').click()
    await waitForApp(page, stack)
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
    t.same(csp, [])
  })

  t.test('MFA: the code page, then the app', async (t) => {
    const { context, page, csp } = await openPage(browser, atCognito)
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/login`)
    await page.locator('#signInFormUsername').fill(MFA_DEMO_USER.username)
    await page.locator('#signInFormPassword').fill(MFA_DEMO_USER.password)
    await page.locator('#signInSubmitButton').click()
    await page.waitForLoadState()
    t.equal(await page.title(), 'Multi-factor authentication')
    await checkPage(t, page, 'mfa')
    await page.locator('#mfaFormCode').fill(totpCode(MFA_DEMO_USER.totpSecret, stack.clock.now()))
    await page.locator('#mfaSubmitButton').click()
    await waitForApp(page, stack)
    t.equal(await page.locator('[data-field="username"]').textContent(), 'mfa')
    t.same(csp, [])
  })

  t.test('local pages: mailbox, faults, error', async (t) => {
    const { context, page, csp } = await openPage(browser, atCognito)
    t.teardown(() => context.close())
    await page.goto(`${cognito.origin}/mailbox`)
    t.ok(await page.locator('#mailbox').isVisible(), 'the codes sent so far')
    await checkPage(t, page, 'mailbox')
    await page.goto(`${cognito.origin}/_local/faults`)
    await checkPage(t, page, 'faults')
    await page.locator('#faultRefreshRefused').check()
    await page.locator('#faultsSaveButton').click()
    await page.waitForLoadState()
    t.equal(cognito.faults.refreshRefused, true, 'switched by the form')
    cognito.faults.refreshRefused = undefined
    await page.goto(`${cognito.origin}/error?error=redirect_mismatch`)
    await checkPage(t, page, 'error')
    t.same(csp, [])
  })

  t.test('screenshots written', async (t) => {
    t.ok(written.length >= 40, `${written.length} screenshots under test-output/screenshots`)
  })
}
