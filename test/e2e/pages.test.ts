/**
 * Every page in a real browser: screenshots at phone and desktop widths and in dark mode, axe-core
 * (no serious or critical violation, light and dark), no inline script or style, no CSP violation.
 */
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { startStack } from '../helpers/stack.js'
import { launchChromium } from './chromium.js'
import { blocking, inlineCodeIn, openPage, runAxe, screenshots, signInWithBrowser, stateOf } from './helpers.js'

const browser = await launchChromium(t)
if (browser) {
  const stack = await startStack(t)
  const watched = await openPage(browser, stack)
  t.teardown(() => watched.context.close())
  const { page } = watched

  /** The checks every app page gets. */
  async function checkAppPage(t: Test, page: Page, name: string, { screenshot = true } = {}): Promise<void> {
    t.ok(page.url().startsWith(stack.baseUrl), `${name} is an app page (${page.url()})`)
    t.same(inlineCodeIn(await page.content()), [], `${name}: no inline script, style or handler`)
    const inDom = await page.evaluate(
      `document.querySelectorAll('script:not([src]), style, [style]').length`,
    )
    t.equal(inDom, 0, `${name}: no inline script or style in the DOM`)
    t.ok(await page.locator('main h1').first().isVisible(), `${name}: has a visible heading in <main>`)
    t.ok(await page.locator('header nav[aria-label]').isVisible(), `${name}: labelled navigation`)
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      const serious = blocking(await runAxe(page))
      t.same(serious, [], `${name} (${scheme}): no serious or critical accessibility violation`)
    }
    await page.emulateMedia({ colorScheme: 'light' })
    if (screenshot) await screenshots(page, name)
  }

  t.test('home page, anonymous', async (t) => {
    const response = await page.goto(`${stack.baseUrl}/`)
    t.equal(response?.status(), 200)
    t.ok(await page.getByRole('link', { name: 'Sign in', exact: true }).first().isVisible())
    t.ok(await page.getByRole('link', { name: 'Create account' }).first().isVisible())
    await checkAppPage(t, page, 'index-anonymous')
  })

  t.test('the stylesheet and logo load from the app', async (t) => {
    const css = await page.request.get(`${stack.baseUrl}/public/css/site.css`)
    t.equal(css.status(), 200)
    t.match(css.headers()['content-type'], /text\/css/)
    const logo = await page.request.get(`${stack.baseUrl}/public/img/logo.svg`)
    t.equal(logo.status(), 200)
    t.match(logo.headers()['content-type'], /image\/svg\+xml/)
    const styled = await page.evaluate(`getComputedStyle(document.querySelector('.site-header')).borderBottomStyle`)
    t.equal(styled, 'solid', 'the stylesheet applies')
  })

  t.test('Cognito sign-in form', async (t) => {
    await page.goto(`${stack.baseUrl}/login`)
    t.ok(page.url().startsWith(stack.cognito.origin), 'on the local Cognito')
    t.ok(await page.locator('#signInFormUsername').isVisible())
    await screenshots(page, 'cognito-sign-in')
  })

  t.test('logged-in page', async (t) => {
    await signInWithBrowser(page, stack)
    t.equal(new URL(page.url()).pathname, '/logged-in')
    t.equal(await page.locator('[data-field="username"]').textContent(), 'demo')
    t.ok(await page.getByText('Verified', { exact: true }).isVisible())
    t.ok(await page.locator('.avatar-lg').isVisible(), 'an avatar with initials')
    t.equal((await page.locator('.avatar-lg').textContent())?.trim(), 'DU')
    await checkAppPage(t, page, 'logged-in')
  })

  t.test('times on the account page in the viewer\'s own zone and language (Tokyo, en-US)', async (t) => {
    const tokyo = await openPage(browser, stack, { timezoneId: 'Asia/Tokyo', locale: 'en-US' })
    t.teardown(() => tokyo.context.close())
    await signInWithBrowser(tokyo.page, stack)
    const signedIn = tokyo.page.locator('[data-field="signed-in"] time')
    const iso = (await signedIn.getAttribute('datetime')) as string
    const expected = new Date(iso).toLocaleString('en-US', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'short' })
    t.equal(await signedIn.textContent(), expected, 'shown in Tokyo time, US style')
    t.notMatch(await signedIn.textContent(), /UTC/)
    t.match(await tokyo.page.locator('[data-field="signed-in"] .time-hint').textContent(), /^\((now|\d+ minutes? ago)\)$/, 'with the relative hint')
    t.same(tokyo.csp, [], 'the script is allowed by the CSP')
  })

  t.test('home page, signed in', async (t) => {
    await page.goto(`${stack.baseUrl}/`)
    t.ok(await page.getByRole('heading', { name: 'Welcome back, Demo User' }).isVisible())
    await checkAppPage(t, page, 'index-signed-in', { screenshot: false })
  })

  t.test('sign-out confirmation page', async (t) => {
    await page.goto(`${stack.baseUrl}/logout`)
    t.ok(await page.getByRole('button', { name: 'Sign out' }).isVisible())
    await checkAppPage(t, page, 'sign-out', { screenshot: false })
  })

  t.test('logged-out page', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${stack.baseUrl}/logged-out`)
    t.ok(await page.getByRole('heading', { name: 'You have been signed out' }).isVisible())
    await checkAppPage(t, page, 'logged-out')
  })

  t.test('logged-in page of a person without groups or verified email', async (t) => {
    await signInWithBrowser(page, stack, { username: 'reader', password: 'Reader-passw0rd' })
    t.ok(await page.getByText('Not verified', { exact: true }).isVisible())
    t.ok(await page.getByText('No groups', { exact: true }).isVisible())
    await checkAppPage(t, page, 'logged-in-reader', { screenshot: false })
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${stack.baseUrl}/logged-out`)
  })

  t.test('admin page and the 403 page for a person outside the group', async (t) => {
    await signInWithBrowser(page, stack, { start: '/admin' })
    t.equal(page.url(), `${stack.baseUrl}/admin`)
    t.ok(await page.getByRole('heading', { name: 'Administration' }).isVisible())
    await checkAppPage(t, page, 'admin', { screenshot: false })
    await page.getByRole('button', { name: 'Sign out' }).or(page.getByRole('link', { name: 'Sign out' })).first().click()
    await page.waitForURL((url) => url.pathname === '/logged-out' || url.pathname === '/logout')
    if (new URL(page.url()).pathname === '/logout') {
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.waitForURL(`${stack.baseUrl}/logged-out`)
    }
    await signInWithBrowser(page, stack, { start: '/admin', username: 'reader', password: 'Reader-passw0rd' })
    t.ok(await page.getByRole('heading', { name: 'This page is not open to your account' }).isVisible())
    await checkAppPage(t, page, 'forbidden', { screenshot: false })
    await page.goto(`${stack.baseUrl}/logout`)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${stack.baseUrl}/logged-out`)
  })

  t.test('error page: sign-in refused', async (t) => {
    await page.goto(`${stack.baseUrl}/login`)
    const response = await page.goto(`${stack.baseUrl}/auth/callback?error=access_denied&state=${encodeURIComponent(stateOf(page))}`)
    t.equal(response?.status(), 403)
    t.ok(await page.getByRole('heading', { name: 'Sign-in was cancelled' }).isVisible())
    t.ok(await page.getByRole('link', { name: 'Try again' }).isVisible())
    await checkAppPage(t, page, 'error')
  })

  t.test('404 page', async (t) => {
    const response = await page.goto(`${stack.baseUrl}/no-such-page`)
    t.equal(response?.status(), 404)
    t.ok(await page.getByRole('heading', { name: 'Page not found' }).isVisible())
    await checkAppPage(t, page, 'not-found')
  })

  t.test('keyboard: the skip link comes first and shows when focused', async (t) => {
    await page.goto(`${stack.baseUrl}/`)
    await page.keyboard.press('Tab')
    const focused = await page.evaluate(`document.activeElement && document.activeElement.textContent`)
    t.equal(focused, 'Skip to content')
    const outline = await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle`)
    t.equal(outline, 'solid', 'visible focus style')
  })

  t.test('no CSP violation on any app page', async (t) => {
    t.same(watched.csp, [], 'no securitypolicyviolation event and no CSP console report')
    t.same(watched.dialogs, [], 'no dialog opened')
  })
}
