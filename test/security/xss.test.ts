/** A user whose name is markup is shown as text on every page, never run as a script. */
import t from 'tap'
import { Browser } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

t.test('WEB-01 a name of <script>alert(1)</script> is rendered escaped', async (t) => {
  const stack = await startStack(t)
  const payload = '<script>alert(1)</script>'
  stack.cognito.addUser({
    username: 'mallory',
    password: 'Mallory-passw0rd',
    name: payload,
    email: 'mallory@example.com',
    emailVerified: true,
    groups: ['"><img src=x onerror=alert(2)>'],
  })
  const browser = new Browser()
  const result = await signIn(browser, stack, { username: 'mallory', password: 'Mallory-passw0rd' })
  t.equal(result.response.status, 200)
  const pages = { '/logged-in': result.html, '/': await (await browser.get(`${stack.baseUrl}/`)).text() }
  for (const [path, html] of Object.entries(pages)) {
    t.notOk(html.includes(payload), `${path}: the script tag is not in the page as markup`)
    t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, `${path}: it is shown as text`)
    t.notMatch(html, /<img src=x/, `${path}: no injected image`)
    t.same(html.match(/<script[^>]*>/gi), ['<script src="/public/js/local-time.js" defer>'], `${path}: no script element but the site's own local-time script`)
  }
  t.match(pages['/logged-in'], /&lt;img src=x onerror=alert\(2\)&gt;/, 'a group name is escaped too')
})
