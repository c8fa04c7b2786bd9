import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

// VIEW_CACHE=false (for working on the templates) re-reads every template on every render; the
// pages must be the same as with the cache, in development as in production.
for (const env of [
  { NODE_ENV: 'development', VIEW_CACHE: 'false' },
  { NODE_ENV: 'development', VIEW_CACHE: 'true' },
]) {
  t.test(`pages render with ${env.NODE_ENV} and VIEW_CACHE=${env.VIEW_CACHE}`, async (t) => {
    const stack = await startStack(t, { env })
    t.equal(stack.config.web.viewCache, env.VIEW_CACHE === 'true')
    const browser = new Browser()
    const home = await browser.get(`${stack.baseUrl}/`)
    t.equal(home.status, 200)
    t.match(await home.text(), /Sign in/)
    const signedIn = await signIn(browser, stack)
    t.equal(new URL(signedIn.url).pathname, '/logged-in')
    t.match(signedIn.html, /data-field="username">demo</)
    const again = await browser.get(`${stack.baseUrl}/logged-in`)
    t.equal(again.status, 200)
    t.match(await again.text(), /data-field="username">demo</, 'a second render (from the cache when on) shows the same page')
  })
}
