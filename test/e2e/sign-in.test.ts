/**
 * Signing in and out in a real browser, through the local Cognito's hosted form: the app at
 * http://localhost:<port> and Cognito at http://127.0.0.1:<port>, two sites as in production.
 */
import t from 'tap'
import { sleep } from '../helpers/clock.js'
import { startStack } from '../helpers/stack.js'
import { launchChromium } from './chromium.js'
import { openPage, signInWithBrowser, stateOf, submitCognitoForm, waitForApp } from './helpers.js'

const browser = await launchChromium(t)
if (browser) {
  const stack = await startStack(t)
  const XSS_NAME = '<script>alert(1)</script>'
  stack.cognito.addUser({
    username: 'xss-user',
    password: 'Xss-passw0rd',
    name: XSS_NAME,
    email: 'xss@example.com',
    emailVerified: true,
    groups: ['<b>bold</b>'],
  })

  t.test('sign in, land on /logged-in, reload, sign out, land on /logged-out', async (t) => {
    const { context, page, csp, dialogs } = await openPage(browser, stack)
    t.teardown(() => context.close())

    await page.goto(`${stack.baseUrl}/`)
    await page.getByRole('link', { name: 'Sign in', exact: true }).first().click()
    await page.waitForURL((url) => url.href.startsWith(stack.cognito.origin))
    t.equal(new URL(page.url()).origin, stack.cognito.origin, 'sent to the local Cognito')
    await submitCognitoForm(page, 'demo', 'Demo-passw0rd')
    await waitForApp(page, stack)
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
    t.equal(await page.locator('[data-field="username"]').textContent(), 'demo')
    t.ok(await page.getByRole('heading', { name: 'Your account' }).isVisible())

    const cookies = await context.cookies(stack.baseUrl)
    const sid = cookies.find((c) => c.name === 'sid')
    t.ok(sid, 'session cookie set')
    t.equal(sid?.httpOnly, true, 'the session cookie is HttpOnly')
    t.equal(sid?.sameSite, 'Lax')
    t.notOk(cookies.some((c) => c.name === 'signin'), 'the transaction cookie is gone')

    const reloaded = await page.reload()
    t.equal(reloaded?.status(), 200, 'reload keeps the session')
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
    t.equal(await page.locator('[data-field="username"]').textContent(), 'demo')

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${stack.baseUrl}/logged-out`)
    t.ok(await page.getByRole('heading', { name: 'You have been signed out' }).isVisible())
    t.notOk((await context.cookies(stack.baseUrl)).some((c) => c.name === 'sid'), 'session cookie cleared')

    const after = await page.goto(`${stack.baseUrl}/logged-in`)
    t.ok(page.url().startsWith(stack.cognito.origin), 'the protected page asks for sign-in again')
    t.equal(after?.status(), 200)
    t.same(csp, [], 'no CSP violation')
    t.same(dialogs, [])
  })

  t.test('a deep link comes back to itself after sign-in', async (t) => {
    const { context, page, csp } = await openPage(browser, stack)
    t.teardown(() => context.close())
    await signInWithBrowser(page, stack, { start: '/logged-in?x=1' })
    t.equal(page.url(), `${stack.baseUrl}/logged-in?x=1`)
    t.equal(await page.locator('[data-field="username"]').textContent(), 'demo')
    t.same(csp, [])
  })

  t.test('a refused sign-in shows the error page', async (t) => {
    const { context, page, csp } = await openPage(browser, stack)
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/login`)
    const state = stateOf(page)
    const response = await page.goto(`${stack.baseUrl}/auth/callback?error=access_denied&state=${encodeURIComponent(state)}`)
    t.equal(response?.status(), 403)
    t.ok(await page.getByRole('heading', { name: 'Sign-in was cancelled' }).isVisible())
    await page.getByRole('link', { name: 'Try again' }).click()
    await page.waitForURL((url) => url.href.startsWith(stack.cognito.origin))
    t.pass('"Try again" starts a new sign-in at Cognito')
    t.same(csp, [])
  })

  t.test('a wrong password stays on the Cognito form with its message', async (t) => {
    const { context, page } = await openPage(browser, stack)
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/login`)
    await submitCognitoForm(page, 'demo', 'not-the-password')
    await page.waitForLoadState()
    t.ok(page.url().startsWith(stack.cognito.origin), 'still at Cognito')
    t.equal((await page.locator('#loginErrorMessage').textContent())?.trim(), 'Incorrect username or password.')
    t.notOk((await context.cookies(stack.baseUrl)).some((c) => c.name === 'sid'), 'no session at the app')
    // The right password on the same form still works.
    await submitCognitoForm(page, 'demo', 'Demo-passw0rd')
    await waitForApp(page, stack)
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
  })

  t.test('a name made of markup shows as text and runs nothing', async (t) => {
    const { context, page, csp, dialogs } = await openPage(browser, stack)
    t.teardown(() => context.close())
    await signInWithBrowser(page, stack, { username: 'xss-user', password: 'Xss-passw0rd' })
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
    t.ok(await page.locator('.profile-name').getByText(XSS_NAME, { exact: true }).isVisible(), 'the name is visible as text')
    t.ok(await page.locator('.header-user-name').getByText(XSS_NAME, { exact: true }).isVisible(), 'in the header too')
    t.ok(await page.locator('li.tag').getByText('<b>bold</b>', { exact: true }).isVisible(), 'a group name as text')
    t.equal(await page.locator('main script, header script, main b').count(), 0, 'no element made from the name')
    await page.goto(`${stack.baseUrl}/`)
    t.ok(await page.getByRole('heading', { name: `Welcome back, ${XSS_NAME}` }).isVisible())
    const scripts = await page.locator('script').evaluateAll((elements) => elements.map((e) => ({ src: e.getAttribute('src'), text: e.textContent })))
    t.same(scripts, [{ src: '/public/js/local-time.js', text: '' }], 'only the site\'s own local-time script, no inline script')
    t.same(dialogs, [], 'no dialog fired')
    t.same(csp, [], 'nothing even tried to run')
  })

  t.test('the CSP watcher does see a violation when there is one', async (t) => {
    const { context, page, csp } = await openPage(browser, stack)
    t.teardown(() => context.close())
    await page.goto(`${stack.baseUrl}/`)
    // Inserted through the DevTools protocol: the page's CSP still refuses the inline style.
    await page.evaluate(`document.head.appendChild(Object.assign(document.createElement('style'), { textContent: 'body{}' }))`)
    // The report comes back asynchronously: wait for it (polled), up to 2 s.
    for (let i = 0; i < 100 && csp.length === 0; i++) await sleep(20)
    t.ok(csp.length > 0, 'an inline <style> is reported')
    t.match(csp.join('\n'), /style-src/)
  })

  // With JavaScript turned off the whole journey still works: nothing on the site needs script.
  t.test('sign in and out with JavaScript disabled', async (t) => {
    const { context, page } = await openPage(browser, stack, { javaScriptEnabled: false })
    t.teardown(() => context.close())

    await page.goto(`${stack.baseUrl}/`)
    t.ok(await page.getByRole('link', { name: 'Create account' }).first().isVisible())
    await signInWithBrowser(page, stack, { start: '/logged-in' })
    t.equal(page.url(), `${stack.baseUrl}/logged-in`)
    t.equal(await page.locator('[data-field="username"]').textContent(), 'demo')
    t.ok(await page.getByText('Verified', { exact: true }).isVisible())
    const background = await page.locator('.button').first().evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor)
    t.not(background, 'rgba(0, 0, 0, 0)', 'the stylesheet applies without script')

    const revocations = () => stack.cognito.requests.filter((r) => r.path === '/oauth2/revoke').length
    const revokedBefore = revocations()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${stack.baseUrl}/logged-out`)
    t.ok(await page.getByRole('heading', { name: 'You have been signed out' }).isVisible())
    t.notOk((await context.cookies(stack.baseUrl)).some((c) => c.name === 'sid'), 'session cookie cleared')
    t.equal(revocations(), revokedBefore + 1, 'the refresh token was revoked')
  })
}
