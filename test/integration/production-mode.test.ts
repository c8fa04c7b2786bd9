import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

// Production caches compiled templates and partials: the pages must render the same, per person.
t.test('production mode: cached templates render each person’s own page', async (t) => {
  const stack = await startStack(t, { env: { NODE_ENV: 'production' } })
  const anonymous = new Browser()
  for (let i = 0; i < 2; i++) t.match(await (await anonymous.get(`${stack.baseUrl}/`)).text(), /Create account/)
  const demo = new Browser()
  const reader = new Browser()
  t.match((await signIn(demo, stack)).html, /data-field="username">demo</)
  t.match((await signIn(reader, stack, { username: 'reader', password: 'Reader-passw0rd' })).html, /data-field="username">reader</)
  t.match(await (await demo.get(`${stack.baseUrl}/logged-in`)).text(), /data-field="username">demo</)
  t.notMatch(await (await reader.get(`${stack.baseUrl}/logged-in`)).text(), /data-field="username">demo</)
  t.match(await (await anonymous.get(`${stack.baseUrl}/nope`)).text(), /Page not found/)
})
