/**
 * LOAD-01: 500 full sign-ins at once against the local Cognito, one user each, over real HTTP. Every
 * one succeeds, every session belongs to its own user, and no state crosses between them. Prints the
 * p50/p95/p99 of a whole sign-in (five requests through the app and Cognito).
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import t from 'tap'
import type { LocalCognitoUser } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { sessionIdOf, signIn, startStack } from '../helpers/stack.js'

const USERS = 500

t.test('LOAD-01 500 sign-ins in parallel, one user each: all succeed, every session has its own user’s sub, no state crosses', async (t) => {
  const users: LocalCognitoUser[] = Array.from({ length: USERS }, (_, i) => ({
    username: `load-user-${i}`,
    password: `Load-passw0rd-${i}`,
    sub: randomUUID(),
    email: `load-user-${i}@example.com`,
    emailVerified: true,
    name: `Load User ${i}`,
  }))
  const stack = await startStack(t, { env: { RATE_LIMIT_SIGNIN: '100000', LOG_LEVEL: 'warn' }, cognito: { users } })

  const started = performance.now()
  const results = await Promise.all(
    users.map(async (user) => {
      const browser = new Browser()
      const begin = performance.now()
      const result = await signIn(browser, stack, { username: user.username, password: user.password })
      return { user, browser, result, ms: performance.now() - begin }
    }),
  )
  const wall = performance.now() - started

  const failed = results.filter(({ result }) => result.response.status !== 200 || new URL(result.url).pathname !== '/logged-in')
  t.equal(failed.length, 0, 'every sign-in ends on the signed-in page')
  const wrongPage = results.filter(({ user, result }) => !result.html.includes(`data-field="username">${user.username}<`))
  t.equal(wrongPage.length, 0, 'every page shows its own user')

  const sids = new Set<string>()
  const states = new Set<string>()
  let wrongSub = 0
  let crossedState = 0
  for (const { user, browser, result } of results) {
    const sid = sessionIdOf(browser) as string
    sids.add(sid)
    const session = await stack.app.sessionStore.read(sid)
    if (session?.user?.sub !== user.sub || session?.user?.username !== user.username) wrongSub++
    // The state sent to Cognito by this browser's /login is the one that came back to its callback.
    const sent = new URL(result.hops.find((hop) => hop.url.includes('/login') && hop.location?.includes('/oauth2/authorize'))?.location ?? 'x:').searchParams.get('state')
    const back = new URL(result.hops.find((hop) => hop.url.includes('/auth/callback'))?.url ?? 'x:').searchParams.get('state')
    if (!sent || sent !== back) crossedState++
    if (sent) states.add(sent)
  }
  t.equal(wrongSub, 0, 'every session’s sub and username are its own user’s')
  t.equal(crossedState, 0, 'every callback carried the state its own /login sent')
  t.equal(states.size, USERS, 'no two sign-ins shared a state')
  t.equal(sids.size, USERS, 'no two sign-ins share a session')
  t.equal(stack.cognito.countGrants('authorization_code'), USERS, 'one code exchange per sign-in')

  const sorted = results.map((r) => r.ms).sort((a, b) => a - b)
  const pct = (p: number) => (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number).toFixed(0)
  t.comment(`${USERS} parallel sign-ins in ${(wall / 1000).toFixed(1)} s: p50 ${pct(50)} ms, p95 ${pct(95)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms`)
})
