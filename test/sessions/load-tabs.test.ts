/**
 * LOAD-02: several tabs of one browser sign in at once. The sign-in cookie holds up to five pending
 * sign-ins, each keyed by its own state; a callback completes its own and leaves the others; the oldest
 * beyond the cap is dropped and ends on "sign-in expired"; once the browser is signed in, a tab whose
 * sign-in is no longer pending lands on the signed-in page instead of an error.
 */
import t, { type Test } from 'tap'
import { COOKIE_BUDGET_BYTES, MAX_PENDING_TRANSACTIONS } from '../../src/auth/transaction.js'
import { Browser, parseSignInForm, type HostedForm } from '../helpers/browser.js'
import { startStack } from '../helpers/stack.js'
import { assertCleanFailure } from '../security/helpers.js'

const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '1000' } })

interface Tab {
  returnTo: string
  state: string
  form: HostedForm
}

/** Opens /login?returnTo=… in a "tab" of `browser`, follows it to the hosted sign-in form, and stops there. */
async function startTab(browser: Browser, returnTo: string): Promise<Tab> {
  const login = await browser.get(`${stack.baseUrl}/login?returnTo=${encodeURIComponent(returnTo)}`)
  await login.arrayBuffer()
  const authorize = login.headers.get('location') ?? ''
  const state = new URL(authorize).searchParams.get('state') ?? ''
  const page = await browser.navigate(authorize)
  return { returnTo, state, form: parseSignInForm(await page.response.text(), page.url) }
}

/** The person submits the tab's hosted form; returns the callback's own answer and where the tab ends. */
async function finishTab(t: Test, browser: Browser, tab: Tab) {
  const posted = await browser.post(tab.form.action, { _csrf: tab.form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  const callbackUrl = new URL(posted.headers.get('location') ?? '', tab.form.action).href
  await posted.arrayBuffer()
  t.equal(new URL(callbackUrl).searchParams.get('state'), tab.state, 'Cognito sent the tab back with its own state')
  const callback = await browser.get(callbackUrl)
  const end = await browser.follow(callback, callbackUrl)
  return { callback, end, html: await end.response.text() }
}

function signInCookie(browser: Browser): string {
  return browser.cookie('localhost', 'signin') ?? ''
}

async function pendingStates(browser: Browser): Promise<string[]> {
  const signIns = await stack.app.cognito.transactions.openAll(signInCookie(browser))
  return (signIns?.pending ?? []).map((p) => p.transaction.state)
}

t.test('LOAD-02 ten tabs start a sign-in, one completes, then the others: every tab ends on a working signed-in page', async (t) => {
  const browser = new Browser()
  const tabs: Tab[] = []
  for (let i = 1; i <= 10; i++) {
    tabs.push(await startTab(browser, `/logged-in?tab=${i}`))
    const size = signInCookie(browser).length
    t.ok(size < 4096 && size <= COOKIE_BUDGET_BYTES, `after tab ${i}: the sign-in cookie is ${size} bytes`)
  }
  t.equal(MAX_PENDING_TRANSACTIONS, 5)
  t.same(await pendingStates(browser), tabs.slice(5).map((tab) => tab.state), 'the five newest are pending, each under its own state')
  t.comment(`sign-in cookie with 5 pending sign-ins: ${signInCookie(browser).length} bytes`)

  const grantsBefore = stack.cognito.countGrants('authorization_code')
  // Tab 8 completes first.
  const first = await finishTab(t, browser, tabs[7] as Tab)
  t.equal(first.callback.status, 303)
  t.equal(first.callback.headers.get('location'), '/logged-in?tab=8', 'tab 8 goes where it was going')
  t.equal(first.end.response.status, 200)
  t.match(first.html, /data-field="username">demo</, 'signed in')
  t.same(await pendingStates(browser), [6, 7, 9, 10].map((i) => tabs[i - 1]?.state), 'only tab 8’s sign-in was used up')

  // The other pending tabs complete their own sign-ins and land on their own pages.
  for (const i of [10, 6, 9, 7]) {
    const tab = tabs[i - 1] as Tab
    const { callback, end, html } = await finishTab(t, browser, tab)
    t.equal(callback.headers.get('location'), tab.returnTo, `tab ${i}: on to its own page`)
    t.equal(end.response.status, 200, `tab ${i}: a working page`)
    t.match(html, /data-field="username">demo</, `tab ${i}: signed in`)
    t.notOk((await pendingStates(browser)).includes(tab.state), `tab ${i}: its sign-in is used up`)
  }
  t.notOk(browser.cookie('localhost', 'signin'), 'nothing pending: the sign-in cookie is gone')
  t.equal(stack.cognito.countGrants('authorization_code') - grantsBefore, 5, 'one code exchange per pending tab')

  // The five oldest were dropped from the cookie: the browser is signed in, so they land on the signed-in page.
  for (const i of [1, 2, 3, 4, 5]) {
    const { callback, end, html } = await finishTab(t, browser, tabs[i - 1] as Tab)
    t.equal(callback.status, 303, `tab ${i}: no error page`)
    t.equal(callback.headers.get('location'), '/logged-in?signed-in=already', `tab ${i}: on to the signed-in landing page`)
    t.equal(end.response.status, 200)
    t.match(html, /data-field="username">demo</)
    t.match(html, /<p class="notice" role="status">You are already signed in\.<\/p>/, `tab ${i}: with a note that says so`)
  }
  t.equal(stack.cognito.countGrants('authorization_code') - grantsBefore, 5, 'the dropped tabs’ codes were never exchanged')
})

t.test('LOAD-02 the oldest tab beyond the cap, before any tab signed in: "sign-in expired, sign in again"; the others stay pending', async (t) => {
  const browser = new Browser()
  const tabs: Tab[] = []
  for (let i = 1; i <= 6; i++) tabs.push(await startTab(browser, `/logged-in?tab=${i}`))
  const pending = signInCookie(browser)
  const posted = await browser.post(tabs[0]?.form.action ?? '', { _csrf: tabs[0]?.form.csrf ?? '', username: 'demo', password: 'Demo-passw0rd' })
  const callbackUrl = posted.headers.get('location') ?? ''
  const grants = stack.cognito.countGrants('authorization_code')
  const html = await assertCleanFailure(t, stack, browser, await browser.get(callbackUrl), 400, { title: /Your sign-in attempt has expired/ })
  t.match(html, /Please start again/, 'says to sign in again')
  t.match(html, /href="\/login"/, 'with a link that starts a new sign-in')
  t.equal(stack.cognito.countGrants('authorization_code'), grants, 'its code was not exchanged')
  t.equal(signInCookie(browser), pending, 'the five newer sign-ins are still pending')

  const newest = await finishTab(t, browser, tabs[5] as Tab)
  t.equal(newest.callback.headers.get('location'), '/logged-in?tab=6')
  t.equal(newest.end.response.status, 200, 'a newer tab still completes')
})

t.test('LOAD-02 the sign-in cookie stays under 4096 bytes: five long returnTo paths, the oldest give way', async (t) => {
  const browser = new Browser()
  const long = (i: number) => `/logged-in?tab=${i}&pad=${'x'.repeat(2000)}`
  for (let i = 1; i <= 5; i++) {
    await startTab(browser, long(i))
    const size = signInCookie(browser).length
    t.ok(size <= COOKIE_BUDGET_BYTES, `after tab ${i}: ${size} bytes`)
    const signIns = await stack.app.cognito.transactions.openAll(signInCookie(browser))
    t.equal(signIns?.pending.at(-1)?.transaction.returnTo, long(i), 'the newest sign-in is always kept')
  }
  // The newest with the longest returnTo still completes.
  const tab = await startTab(browser, long(6))
  const { callback, end } = await finishTab(t, browser, tab)
  t.equal(callback.headers.get('location'), long(6))
  t.equal(end.response.status, 200)
})

t.test('LOAD-02 state stays single-use and bound to the browser that started it', async (t) => {
  const browser = new Browser()
  const [a, b] = [await startTab(browser, '/logged-in?tab=a'), await startTab(browser, '/logged-in?tab=b')]
  const posted = await browser.post(a.form.action, { _csrf: a.form.csrf, username: 'demo', password: 'Demo-passw0rd' })
  const callbackUrl = posted.headers.get('location') ?? ''
  // Another browser (its own pending sign-in) cannot complete this browser's: its state is not there.
  const other = new Browser()
  await startTab(other, '/logged-in?tab=other')
  await assertCleanFailure(t, stack, other, await other.get(callbackUrl), 400, { title: /This sign-in does not match/ })
  // This browser completes it once; its cookie no longer holds it, tab b's remains.
  const done = await browser.follow(await browser.get(callbackUrl), callbackUrl)
  t.equal(done.response.status, 200)
  t.same(await pendingStates(browser), [b.state], 'tab a’s sign-in is used up, tab b’s is pending')
})
