/**
 * Every template, through the views plugin (layout, partials, default context), in each of its
 * branches, with and without the template cache: each renders, and shows what its data says.
 * Templates read their data as plain variables (TEMPLATE_LOCALS), not through `with (locals)`, so a
 * name a template uses but TEMPLATE_LOCALS lacks fails here ("x is not defined") rather than on a page.
 */
import ejs from 'ejs'
import Fastify from 'fastify'
import t from 'tap'
import viewsPlugin, { ejsOptions, TEMPLATE_LOCALS } from '../../src/web/views.js'
import type { User } from '../../src/auth/user.js'

const person = (overrides: Partial<User> = {}): User => ({
  sub: 'sub-1',
  username: 'ada',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  emailVerified: true,
  groups: ['admin', 'staff'],
  authTime: undefined,
  ...overrides,
})

const SIGNED_IN_AT = Date.UTC(2026, 0, 2, 3, 4, 5)
const EXPIRES_AT = Date.UTC(2026, 0, 2, 4, 4, 5)

/** Each template with data for each of its branches, and what the page must then show. */
const cases: Array<{ name: string; view: string; data: Record<string, unknown>; shows: RegExp[]; hides?: RegExp[] }> = [
  {
    name: 'home, anonymous, no identity providers',
    view: 'index',
    data: { title: 'Home', user: undefined, identityProviders: [] },
    shows: [/<title>Home · Cognito Sign-in<\/title>/, /href="\/login"/],
    hides: [/Sign out/],
  },
  {
    name: 'home, anonymous, with identity providers',
    view: 'index',
    data: { title: 'Home', user: undefined, identityProviders: ['Google', 'My SAML'] },
    shows: [/href="\/login\?provider=Google">Continue with Google</, /href="\/login\?provider=My%20SAML">Continue with My SAML</],
  },
  {
    name: 'home, signed in',
    view: 'index',
    data: { title: 'Home', user: person(), identityProviders: [], csrfToken: 'csrf-home' },
    shows: [/Ada Lovelace/, /value="csrf-home"/, /Sign out/],
  },
  {
    name: 'logged-in, every field, verified email, groups',
    view: 'logged-in',
    data: { title: 'Your account', user: person(), signedInAt: SIGNED_IN_AT, sessionExpiresAt: EXPIRES_AT, now: SIGNED_IN_AT + 90_000, csrfToken: 'csrf-li' },
    shows: [
      /<time datetime="2026-01-02T03:04:05.000Z" data-local-time>2 Jan 2026, 03:04 UTC<\/time> <span class="time-hint">\(2 minutes ago\)<\/span>/,
      /<time datetime="2026-01-02T04:04:05.000Z" data-local-time>2 Jan 2026, 04:04 UTC<\/time> <span class="time-hint">\(in 59 minutes\)<\/span>/,
      /<script src="\/public\/js\/local-time\.js" defer><\/script>/,
      /data-field="username">ada</,
      /ada@example\.com/,
      /Verified/,
      /<li class="tag">admin<\/li><li class="tag">staff<\/li>/,
      new RegExp(new Date(SIGNED_IN_AT).toISOString()),
      new RegExp(new Date(EXPIRES_AT).toISOString()),
      /value="csrf-li"/,
      /avatar-lg/,
      /href="\/account\/sessions">Your devices</,
    ],
  },
  {
    name: 'logged-in, no name, unverified email, no groups, no times',
    view: 'logged-in',
    data: {
      title: 'Your account',
      user: person({ name: undefined, emailVerified: false, groups: [] }),
      signedInAt: undefined,
      sessionExpiresAt: undefined,
      csrfToken: 'csrf-li',
    },
    shows: [/Not verified/, /No groups/, /data-field="signed-in">—</, /data-field="session-expires">—</],
  },
  {
    name: 'logged-in, no email',
    view: 'logged-in',
    data: {
      title: 'Your account',
      user: person({ email: undefined, name: undefined, username: '' }),
      signedInAt: SIGNED_IN_AT,
      sessionExpiresAt: undefined,
      now: SIGNED_IN_AT + 3 * 86_400_000,
      csrfToken: 'c',
    },
    shows: [/data-field="email">\s*—/, />\?<\/span>/],
  },
  {
    name: 'logged-out, nobody signed in',
    view: 'logged-out',
    data: { title: 'Signed out', user: undefined },
    shows: [/<title>Signed out · Cognito Sign-in<\/title>/, /Cognito Sign-in · Signing in is handled by Amazon Cognito/, /href="\/signup">Create account</],
  },
  {
    name: 'logged-out, still signed in (another tab)',
    view: 'logged-out',
    data: { title: 'Signed out', user: person() },
    shows: [/Ada Lovelace/],
  },
  {
    name: 'logout confirmation, signed in',
    view: 'logout',
    data: { title: 'Sign out', user: person(), csrfToken: 'csrf-lo' },
    shows: [/value="csrf-lo"/, /You are signed in as <strong>ada<\/strong>/],
  },
  {
    name: 'logout confirmation, nobody signed in',
    view: 'logout',
    data: { title: 'Sign out', user: undefined, csrfToken: undefined },
    shows: [/<title>Sign out · Cognito Sign-in<\/title>/, /You are not signed in/],
    hides: [/You are signed in as/],
  },
  {
    name: 'admin',
    view: 'admin',
    data: { title: 'Administration', user: person(), csrfToken: 'csrf-ad' },
    shows: [/<span class="tag">admin<\/span>, <span class="tag">staff<\/span>/],
  },
  {
    name: 'forbidden, one group',
    view: 'forbidden',
    data: { title: 'Not allowed', user: person({ groups: [] }), groups: ['admin'], returnTo: '/admin', csrfToken: 'csrf-fb' },
    shows: [/admin/, /value="csrf-fb"/],
  },
  {
    name: 'forbidden, three groups',
    view: 'forbidden',
    data: { title: 'Not allowed', user: person({ groups: [] }), groups: ['a', 'b', 'c'], returnTo: '/admin', csrfToken: 'x' },
    shows: [/the <strong>a<\/strong> group, the <strong>b<\/strong> group or the <strong>c<\/strong> group/],
  },
  {
    name: 'error page, action to the home page',
    view: 'error',
    data: {
      title: 'Not found',
      user: undefined,
      page: { statusCode: 404, title: 'Not found', message: 'Nothing here.', action: { href: '/', label: 'Go to the home page' } },
    },
    shows: [/Nothing here\./, /Go to the home page/, /hero-icon-calm" aria-hidden="true">\?</],
    hides: [/hero-icon-error/],
  },
  {
    name: 'error page, a real failure',
    view: 'error',
    data: {
      title: 'Cognito could not be reached',
      user: undefined,
      page: { statusCode: 502, title: 'Cognito could not be reached', message: 'Try again.', action: { href: '/login', label: 'Try again' } },
    },
    shows: [/hero-icon-error" aria-hidden="true">!</],
    hides: [/hero-icon-calm/],
  },
  {
    name: 'error page, another action, signed in',
    view: 'error',
    data: {
      title: 'Sign-in expired',
      user: person(),
      page: { statusCode: 400, title: 'Sign-in expired', message: 'Start again.', action: { href: '/login', label: 'Try again' } },
    },
    shows: [/Start again\./, /href="\/login"/, /Try again/, /href="\/">Home</],
  },
  {
    name: 'devices, this one and two others, a notice',
    view: 'devices',
    data: {
      title: 'Your devices',
      user: person(),
      now: SIGNED_IN_AT + 90_000,
      csrfToken: 'csrf-dev',
      notice: 'The session was ended: that device is signed out.',
      devices: [
        { handle: '', current: true, browser: 'Firefox 128', os: 'Windows 10', signedInAt: SIGNED_IN_AT, lastActiveAt: SIGNED_IN_AT + 90_000, expiresAt: EXPIRES_AT },
        { handle: 'handle-2', current: false, browser: 'Safari 17', os: 'iOS 17.5', signedInAt: SIGNED_IN_AT, lastActiveAt: SIGNED_IN_AT + 30_000, expiresAt: EXPIRES_AT },
        { handle: 'handle-3', current: false, browser: 'Unknown browser', os: 'unknown system', signedInAt: undefined, lastActiveAt: undefined, expiresAt: undefined },
      ],
    },
    shows: [
      /<h2 class="device-name" id="device-0">Firefox 128 on Windows 10<\/h2>\s*<span class="badge badge-ok">This device<\/span>/,
      /data-field="last-active">Now</,
      /data-field="last-active"><time datetime="2026-01-02T03:04:35.000Z" data-local-time>2 Jan 2026, 03:04 UTC<\/time> <span class="time-hint">\(1 minute ago\)<\/span>/,
      /name="session" value="handle-2"/,
      /name="session" value="handle-3"/,
      /data-field="signed-in">—</,
      /role="status">The session was ended/,
      /action="\/account\/sessions\/end-others"/,
      /value="csrf-dev"/,
    ],
  },
  {
    name: 'devices, this one alone, no notice',
    view: 'devices',
    data: {
      title: 'Your devices',
      user: person(),
      now: SIGNED_IN_AT,
      csrfToken: 'csrf-dev',
      notice: undefined,
      devices: [{ handle: '', current: true, browser: 'Chrome 130', os: 'Linux', signedInAt: SIGNED_IN_AT, lastActiveAt: SIGNED_IN_AT, expiresAt: EXPIRES_AT }],
    },
    shows: [/This device/, /Chrome 130 on Linux/],
    hides: [/name="session"/, /end-others/, /role="status"/],
  },
]

for (const cache of [true, false]) {
  t.test(`every template renders in each branch (cache ${cache})`, async (t) => {
    const app = Fastify({ logger: false })
    await app.register(viewsPlugin, { cache, production: true })
    app.get<{ Params: { index: string } }>('/render/:index', async (request, reply) => {
      const c = cases[Number(request.params.index)]
      if (!c) return reply.code(404).send()
      return reply.viewAsync(c.view, c.data)
    })
    t.teardown(() => app.close())
    for (const [index, c] of cases.entries()) {
      const response = await app.inject(`/render/${index}`)
      t.equal(response.statusCode, 200, `${c.name}: rendered (${response.statusCode === 200 ? 'ok' : response.body.slice(0, 200)})`)
      for (const pattern of c.shows) t.match(response.body, pattern, `${c.name}: shows ${pattern}`)
      for (const pattern of c.hides ?? []) t.notMatch(response.body, pattern, `${c.name}: does not show ${pattern}`)
    }
  })
}

t.test('templates read only TEMPLATE_LOCALS: no `with (locals)` scope', async (t) => {
  const options = ejsOptions(false)
  t.equal(options._with, false)
  t.same(options.destructuredLocals, [...TEMPLATE_LOCALS])
  // A listed name is a plain variable; one the data does not carry is undefined, not an error.
  t.equal(ejs.render('<%= typeof title %>|<%= user %>', { title: 'x' }, options), 'string|')
  // A name that is not listed is not found in the data even when the data has it: under
  // `with (locals)` this would render "found".
  t.throws(() => ejs.render('<%= unlisted %>', { unlisted: 'found' }, options), /unlisted is not defined/)
})

t.test('APP_NAME names the site; SIGNUP_ENABLED=false offers no "Create account"', async (t) => {
  const app = Fastify({ logger: false })
  await app.register(viewsPlugin, { cache: true, production: true, appName: 'Ada & Co <Books>', signupEnabled: false })
  app.get('/', async (_request, reply) => reply.viewAsync('index', { title: 'Home', user: undefined, identityProviders: [] }))
  t.teardown(() => app.close())
  const body = (await app.inject('/')).body
  t.match(body, '<title>Home · Ada &amp; Co &lt;Books&gt;</title>', 'in the title, escaped')
  t.match(body, '<span>Ada &amp; Co &lt;Books&gt;</span>', 'in the header')
  t.match(body, 'Ada &amp; Co &lt;Books&gt; · Signing in is handled by Amazon Cognito', 'in the footer')
  t.notMatch(body, /Create account|href="\/signup"/, 'no sign-up link anywhere')
  t.match(body, /href="\/login"/, 'sign-in still offered')
})

t.test('relative times: the largest unit that fits', async (t) => {
  const { describeRelative, showTime } = await import('../../src/web/dates.js')
  const now = Date.UTC(2026, 11, 2, 12, 0, 0)
  t.equal(describeRelative(now + 23 * 3_600_000, now), 'in 23 hours')
  t.equal(describeRelative(now - 5 * 60_000, now), '5 minutes ago')
  t.equal(describeRelative(now + 86_400_000, now), 'tomorrow')
  t.equal(describeRelative(now - 7 * 86_400_000, now), '7 days ago')
  t.equal(describeRelative(now + 20_000, now), 'now')
  t.same(showTime(now, now), { iso: '2026-12-02T12:00:00.000Z', text: '2 Dec 2026, 12:00 UTC', relative: 'now' })
})
