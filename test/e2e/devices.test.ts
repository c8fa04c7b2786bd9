/**
 * "Your devices" in a real browser: reached from the account page, lists both of a person's browsers,
 * ends the other one without any JavaScript, and passes axe-core in light and dark. Then sign out
 * everywhere after confirming an old sign-in, and an administrator's search, in the same browser.
 */
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { startStack } from '../helpers/stack.js'
import { launchChromium } from './chromium.js'
import { blocking, inlineCodeIn, openPage, runAxe, screenshots, signInWithBrowser, submitCognitoForm } from './helpers.js'

const browser = await launchChromium(t)
if (browser) {
  const stack = await startStack(t)

  async function accessible(t: Test, page: Page, name: string): Promise<void> {
    t.same(inlineCodeIn(await page.content()), [], `${name}: no inline script, style or handler`)
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      t.same(blocking(await runAxe(page)), [], `${name} (${scheme}): no serious or critical accessibility violation`)
    }
    await page.emulateMedia({ colorScheme: 'light' })
  }

  t.test('the devices page: three browsers listed, one ended from a browser without JavaScript, axe-clean in light and dark', async (t) => {
    const desktop = await openPage(browser, stack)
    const phone = await openPage(browser, stack, {
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      viewport: { width: 390, height: 844 },
    })
    // This one runs without JavaScript: the page must work as plain forms.
    const laptop = await openPage(browser, stack, { javaScriptEnabled: false })
    t.teardown(async () => {
      for (const watched of [desktop, phone, laptop]) await watched.context.close()
    })
    await signInWithBrowser(phone.page, stack)
    await signInWithBrowser(laptop.page, stack)
    await signInWithBrowser(desktop.page, stack)

    await desktop.page.getByRole('link', { name: 'Your devices' }).click()
    t.equal(new URL(desktop.page.url()).pathname, '/account/sessions', 'linked from the account page')
    t.ok(await desktop.page.getByRole('heading', { level: 1, name: 'Your devices' }).isVisible())
    t.equal(await desktop.page.locator('[data-device]').count(), 3, 'three sessions listed')
    t.ok(await desktop.page.locator('[data-device="current"]').getByText('This device').isVisible(), 'this device is marked')
    await accessible(t, desktop.page, 'devices')
    await screenshots(desktop.page, 'devices')
    await phone.page.goto(`${stack.baseUrl}/account/sessions`)
    await accessible(t, phone.page, 'devices-phone')

    await laptop.page.goto(`${stack.baseUrl}/account/sessions`)
    const phoneRow = laptop.page.locator('[data-device="other"]', { hasText: 'Safari 17 on iOS 17.5' })
    t.equal(await phoneRow.count(), 1, 'the phone, named by its browser and system')
    await phoneRow.getByRole('button', { name: 'End this session' }).click()
    await laptop.page.waitForURL((url) => url.search === '?ended=one')
    t.ok(await laptop.page.getByRole('status').isVisible(), 'without JavaScript: a notice says the session was ended')
    t.equal(await laptop.page.locator('[data-device]').count(), 2, 'two sessions left')

    await desktop.page.goto(`${stack.baseUrl}/account/sessions?ended=one`)
    t.equal(await desktop.page.locator('[data-device]').count(), 2)
    await accessible(t, desktop.page, 'devices-after-ending')
    await screenshots(desktop.page, 'devices-after-ending')

    // (A visit would pass through Cognito, whose own sign-in may still be alive there: ask the app alone.)
    const onPhone = await phone.page.request.get(`${stack.baseUrl}/logged-in`, { maxRedirects: 0 })
    t.equal(onPhone.status(), 302, 'the phone is signed out of the app')
    t.match(onPhone.headers()['location'] ?? '', /^\/login\?returnTo=/, 'and sent to sign in')
    t.same([...desktop.csp, ...phone.csp, ...laptop.csp], [], 'no CSP violation')
  })

  t.test('sign out everywhere after confirming an old sign-in, and an administrator\'s search: axe-clean in light and dark', async (t) => {
    const admin = await startStack(t, { env: { COGNITO_SCOPES: 'openid email profile aws.cognito.signin.user.admin' } })
    const other = await openPage(browser, admin)
    const laptop = await openPage(browser, admin)
    t.teardown(async () => {
      for (const watched of [other, laptop]) await watched.context.close()
    })
    await signInWithBrowser(other.page, admin, { username: 'reader', password: 'Reader-passw0rd' })
    await signInWithBrowser(laptop.page, admin)

    await laptop.page.goto(`${admin.baseUrl}/admin/sessions?user=reader%40example.com`)
    t.equal(await laptop.page.locator('[data-device]').count(), 1, 'the administrator finds the reader by email')
    await accessible(t, laptop.page, 'admin-sessions')
    await screenshots(laptop.page, 'admin-sessions')

    admin.clock.advance(11 * 60_000)
    await laptop.page.goto(`${admin.baseUrl}/account/sessions`)
    await laptop.page.getByRole('link', { name: 'Sign out everywhere…' }).click()
    t.ok(await laptop.page.getByRole('heading', { level: 1, name: 'Confirm it’s you' }).isVisible(), 'an old sign-in is asked to confirm')
    await accessible(t, laptop.page, 'reauthenticate')
    await screenshots(laptop.page, 'reauthenticate')
    await laptop.page.getByRole('button', { name: 'Sign in again' }).click()
    await laptop.page.waitForURL((url) => url.origin === admin.cognito.origin)
    await submitCognitoForm(laptop.page, 'demo', 'Demo-passw0rd')
    await laptop.page.waitForURL((url) => url.pathname === '/account/sessions/end-everywhere')
    t.ok(await laptop.page.getByRole('heading', { level: 1, name: 'Sign out everywhere' }).isVisible(), 'back at the page it was on')
    await accessible(t, laptop.page, 'end-everywhere')
    await screenshots(laptop.page, 'end-everywhere')
    await laptop.page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await laptop.page.waitForURL((url) => url.pathname === '/logged-out')
    t.match(await laptop.page.getByRole('status').textContent(), 'signed you out of every other app', 'the signed-out page says what happened')
    await accessible(t, laptop.page, 'signed-out-everywhere')
    t.same([...other.csp, ...laptop.csp], [], 'no CSP violation')
  })
}
