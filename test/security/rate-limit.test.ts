/**
 * Abuse: /login and /auth/callback are rate-limited per client IP (RATE_LIMIT_SIGNIN per minute),
 * with a 429 page in the site layout; behind a trusted proxy the limit follows X-Forwarded-For.
 */
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/index.js'
import { Browser } from '../helpers/browser.js'
import { startStack } from '../helpers/stack.js'
import { assertCleanFailure } from './helpers.js'

const base = {
  NODE_ENV: 'test',
  COGNITO_ISSUER: 'http://127.0.0.1:9099/local_pool',
  COGNITO_CLIENT_ID: 'client',
  COGNITO_CLIENT_SECRET: 'secret',
}

t.test('RATE_LIMIT_SIGNIN: default 30, validated like every other setting', async (t) => {
  t.equal(loadConfig(base).cognito.rateLimitSignIn, 30)
  t.equal(loadConfig({ ...base, RATE_LIMIT_SIGNIN: '5' }).cognito.rateLimitSignIn, 5)
  for (const bad of ['0', '-1', 'ten', '1.5', '1000001']) {
    t.throws(() => loadConfig({ ...base, RATE_LIMIT_SIGNIN: bad }), ConfigError, `refuses "${bad}"`)
  }
  try {
    loadConfig({ ...base, RATE_LIMIT_SIGNIN: 'ten' })
  } catch (error) {
    t.match((error as Error).message, /^RATE_LIMIT_SIGNIN: expected a whole number/)
  }
})

t.test('LOAD-06 /login: the limit+1th request in a minute gets a 429 page', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '3' } })
  const browser = new Browser()
  for (let i = 0; i < 3; i++) {
    const ok = await browser.get(`${stack.baseUrl}/login`)
    await ok.arrayBuffer()
    t.equal(ok.status, 302, `attempt ${i + 1} is allowed`)
  }
  const limited = await browser.get(`${stack.baseUrl}/login`)
  t.ok(limited.headers.get('retry-after'), 'says when to come back')
  await assertCleanFailure(t, stack, browser, limited, 429, { title: /Too many attempts/ })
  // Public pages are not limited.
  const home = await browser.get(`${stack.baseUrl}/`)
  t.equal(home.status, 200)
})

t.test('/auth/callback is limited too', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '2' } })
  const browser = new Browser()
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) {
    const response = await browser.get(`${stack.baseUrl}/auth/callback?code=x&state=y`)
    await response.arrayBuffer()
    statuses.push(response.status)
  }
  t.same(statuses, [400, 400, 429])
})

t.test('per client IP: behind a trusted proxy each forwarded address has its own budget', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '2', TRUST_PROXY: '1' } })
  const hit = async (ip: string): Promise<number> =>
    (await stack.app.inject({ url: '/login', headers: { 'x-forwarded-for': ip } })).statusCode
  t.same([await hit('203.0.113.1'), await hit('203.0.113.1'), await hit('203.0.113.1')], [302, 302, 429])
  t.equal(await hit('203.0.113.2'), 302, 'another client is not affected')
  const page = await stack.app.inject({ url: '/login', headers: { 'x-forwarded-for': '203.0.113.1', accept: 'text/html' } })
  t.equal(page.statusCode, 429)
  t.match(page.body, /Too many attempts/)
})

t.test('without TRUST_PROXY a forged X-Forwarded-For does not buy a new budget', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '2' } })
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) {
    statuses.push((await stack.app.inject({ url: '/login', headers: { 'x-forwarded-for': `198.51.100.${i}` } })).statusCode)
  }
  t.same(statuses, [302, 302, 429])
})

t.test('WEB-11: a forged left-most X-Forwarded-For buys no new budget behind a hop count or a proxy list', async (t) => {
  for (const trustProxy of ['1', '127.0.0.1']) {
    const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '3', TRUST_PROXY: trustProxy } })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) {
      // The client writes any address it likes; the load balancer appends the one it saw.
      const forwarded = `198.51.100.${i}, 203.0.113.9`
      statuses.push((await stack.app.inject({ url: '/login', headers: { 'x-forwarded-for': forwarded } })).statusCode)
    }
    t.same(statuses, [302, 302, 302, 429, 429], `TRUST_PROXY=${trustProxy}: the address the proxy saw counts`)
  }
  t.throws(
    () => loadConfig({ ...base, NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(40), APP_BASE_URL: 'https://app.example.com', TRUST_PROXY: 'true' }),
    { name: 'ConfigError', variable: 'TRUST_PROXY', message: /must not be true when NODE_ENV=production .*number of proxies/ },
    'TRUST_PROXY=true is refused in production, with what to set instead',
  )
})
