/**
 * Open redirects through /login?returnTo=…: whatever the payload, the sign-in comes back to a path on
 * this site (/logged-in for every trick), both in the sealed transaction and in the final redirect.
 */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'
import { OPEN_REDIRECT_PAYLOADS } from '../auth/return-to.test.js'

const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '10000' } })

t.test('WEB-05 every payload is stored as /logged-in in the transaction', async (t) => {
  for (const payload of OPEN_REDIRECT_PAYLOADS) {
    const response = await stack.app.inject({ url: `/login?returnTo=${encodeURIComponent(payload)}` })
    t.equal(response.statusCode, 302)
    const location = new URL(response.headers.location as string)
    t.equal(location.origin, stack.cognito.origin, 'the only redirect is to Cognito')
    const sealed = response.cookies.find((c) => c.name === 'signin')?.value
    const transaction = await stack.app.cognito.transactions.open(sealed)
    t.equal(transaction?.returnTo, '/logged-in', JSON.stringify(payload).replace(/[^\x20-\x7e]/g, '?'))
  }
})

t.test('WEB-05 a raw (unencoded) query is no better', async (t) => {
  for (const raw of ['//evil.example', '/\\evil.example', 'https://evil.example', '/%2F%2Fevil.example', '/.//evil.example']) {
    const response = await stack.app.inject({ url: `/login?returnTo=${raw}` })
    const sealed = response.cookies.find((c) => c.name === 'signin')?.value
    t.equal((await stack.app.cognito.transactions.open(sealed))?.returnTo, '/logged-in', raw)
  }
})

t.test('WEB-05 after a real sign-in the callback redirects on site', async (t) => {
  for (const payload of ['//evil.example', 'https://evil.example', '/.//evil.example', '/%5Cevil.example', 'javascript:alert(1)']) {
    const browser = new Browser()
    const result = await signIn(browser, stack, { start: `/login?returnTo=${encodeURIComponent(payload)}` })
    const hop = result.hops.find((h) => h.url.includes('/auth/callback'))
    t.equal(hop?.location, '/logged-in', payload)
    t.equal(new URL(result.url).origin, stack.baseUrl)

    // Already signed in: /login?returnTo=… redirects straight away, and must stay on site too.
    const again = await browser.get(`${stack.baseUrl}/login?returnTo=${encodeURIComponent(payload)}`)
    t.equal(again.status, 303)
    t.equal(again.headers.get('location'), '/logged-in', `signed in: ${payload}`)
  }
})

t.test('a same-site deep link is kept', async (t) => {
  const result = await signIn(new Browser(), stack, { start: '/login?returnTo=%2Flogged-in%3Ftab%3Dprofile' })
  t.equal(result.hops.find((h) => h.url.includes('/auth/callback'))?.location, '/logged-in?tab=profile')
})
