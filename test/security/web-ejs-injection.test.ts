/**
 * EJS option injection (CVE-2022-29078): `settings[view options][outputFunctionName]` in a query
 * string or a form body has no effect on any page; no route hands request data to the renderer as
 * options or spread locals; the installed ejs is at least 3.1.7.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/lib/paths.js'
import { Browser, csrfTokenOf } from '../helpers/browser.js'
import { signIn, startStack } from '../helpers/stack.js'

declare global {
  // Set by an injected template function, if one ever ran.
  var __ejsInjected: unknown
}

const PAYLOADS = [
  'x;process.exit();x',
  'x;globalThis.__ejsInjected=1;x',
  'x;throw new Error("injected");x',
]
const KEYS = [
  'settings[view options][outputFunctionName]',
  'settings[view options][client]',
  'settings[view options][escapeFunction]',
  'settings[view options][localsName]',
  'settings[view options][destructuredLocals][0]',
  '__proto__[outputFunctionName]',
  'constructor[prototype][outputFunctionName]',
]

t.test('WEB-04 settings[view options] in a query or a form body changes nothing, and the app keeps serving', async (t) => {
  const stack = await startStack(t)
  const browser = new Browser()
  const signedIn = await signIn(browser, stack, { username: 'reader', password: 'Reader-passw0rd' })
  const token = csrfTokenOf(signedIn.html)
  const pages: Array<[string, RegExp]> = [
    ['/', /id="greeting"/],
    ['/logged-in', /data-field="username">reader</],
    ['/logout', /Sign out/],
    ['/logged-out', /signed out/i],
    ['/admin', /Error 403|not allowed/i],
    ['/nope', /Error 404/],
  ]
  for (const payload of PAYLOADS) {
    for (const key of KEYS) {
      const query = `${encodeURIComponent(key)}=${encodeURIComponent(payload)}`
      for (const [path, shows] of pages) {
        const response = await browser.get(`${stack.baseUrl}${path}?${query}`)
        const html = await response.text()
        t.ok(response.status < 500, `${path}?${key}: ${response.status}`)
        if (!shows.test(html)) t.fail(`${path}?${key}: not the usual page`)
      }
      // The body equivalent, on both forms that take a body (refused by CSRF/cross-site checks or not).
      for (const [path, form] of [
        ['/switch-account', { _csrf: 'wrong', [key]: payload }],
        ['/logout', { _csrf: 'wrong', [key]: payload }],
      ] as const) {
        const response = await browser.post(`${stack.baseUrl}${path}`, form as Record<string, string>)
        const html = await response.text()
        t.equal(response.status, 403, `POST ${path} with ${key}: the usual refusal`)
        t.match(html, /This form has expired/)
      }
    }
  }
  t.equal(globalThis.__ejsInjected, undefined, 'no injected code ran')
  const page = await browser.get(`${stack.baseUrl}/logged-in?${encodeURIComponent(KEYS[0] as string)}=${encodeURIComponent(PAYLOADS[0] as string)}`)
  t.equal(page.status, 200, 'still signed in, the process still running')
  // And a real form with the payload in its body still does its job.
  const out = await browser.post(`${stack.baseUrl}/logout`, { _csrf: token, [KEYS[0] as string]: PAYLOADS[0] as string })
  t.equal(out.status, 303, 'sign-out with the payload in the body: signed out normally')
  t.equal((await browser.get(`${stack.baseUrl}/healthz`)).status, 200, 'the app keeps serving')
})

t.test('WEB-04 no route passes request data to the renderer as options or spread locals; ejs is at least 3.1.7', async (t) => {
  const require = createRequire(import.meta.url)
  const ejsDir = dirname(require.resolve('ejs'))
  let dir = ejsDir
  while (!dir.endsWith('node_modules/ejs') && dir !== dirname(dir)) dir = dirname(dir)
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((n) => Number.parseInt(n, 10))
  t.ok(major > 3 || (major === 3 && (minor > 1 || (minor === 1 && patch >= 7))), `ejs ${version} ≥ 3.1.7`)

  const { execFileSync } = await import('node:child_process')
  const calls = execFileSync('grep', ['-rnE', '(viewAsync|\\.view)\\(', join(PROJECT_ROOT, 'src')], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
  t.ok(calls.length >= 5, `${calls.length} render calls found`)
  for (const call of calls) {
    t.notMatch(call, /\.\.\.\s*\(?\s*request\b|request\.(query|body|params)\b|\.\.\.\s*\(?\s*(query|body|params)\b/, `no request data spread into a render: ${call.replace(PROJECT_ROOT, '')}`)
  }
})
