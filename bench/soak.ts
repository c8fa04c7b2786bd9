/**
 * Soak: mixed traffic against the app with the Redis session store and a local Cognito, then quiet.
 *
 *   npm run soak                 # 60 s of traffic
 *   npm run soak -- 2h           # any duration: 90s, 30m, 2h (or plain seconds)
 *   SOAK_USERS=40 REDIS_URL=redis://127.0.0.1:6379 npm run soak -- 10m
 *
 * Virtual people sign in through the hosted UI, view pages at random intervals, have their access
 * tokens refreshed (tokens live 20 s, refreshed 5 s before), and either sign out or walk away (their
 * sessions end by the 15 s idle timeout, their Redis keys by TTL). At every interval and through the
 * quiet phase after the traffic it prints the process's RSS and heap, the event-loop delay, the open
 * handles by type and the number of session keys in Redis. Flat lines are the goal; the Redis keys
 * should follow the active sessions and drain to about 0 once the traffic stops.
 *
 * App, local Cognito and traffic share this one process (the figures include the traffic's share).
 */
import { randomBytes } from 'node:crypto'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { buildApp } from '../src/app.js'
import { loadPoolConfig } from '../src/config/index.js'
import { parseDuration } from '../src/lib/duration.js'
import { defaultLocalClient, startLocalCognito, type LocalCognitoUser } from '../src/local-cognito/index.js'
import { Browser, csrfTokenOf, parseSignInForm } from '../test/helpers/browser.js'
import { freePort } from '../test/helpers/stack.js'

const IDLE_TIMEOUT_S = 15
const durationArg = process.argv[2] ?? '60s'
const durationMs = /^\d+$/.test(durationArg) ? Number(durationArg) * 1000 : parseDuration(durationArg)
if (durationMs === undefined || durationMs <= 0) {
  console.error(`soak: not a duration: ${durationArg} (e.g. 60, 90s, 30m, 2h)`)
  process.exit(2)
}
const people = Number(process.env.SOAK_USERS ?? 20)
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `soak:${process.pid}:${randomBytes(4).toString('hex')}:`
const sampleEveryMs = Math.max(5_000, Math.min(60_000, Math.round(durationMs / 6)))

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const between = (low: number, high: number) => low + Math.random() * (high - low)

const users: LocalCognitoUser[] = Array.from({ length: people }, (_, i) => ({
  username: `soak-${i}`,
  password: `Soak-passw0rd-${i}`,
  email: `soak-${i}@example.com`,
  emailVerified: true,
  name: `Soak ${i}`,
}))

const port = await freePort()
const baseUrl = `http://localhost:${port}`
const client = defaultLocalClient(baseUrl)
const cognito = await startLocalCognito({ users, clients: [client], accessTokenTtlSeconds: 20, idTokenTtlSeconds: 20 })
const config = loadPoolConfig({
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  APP_BASE_URL: baseUrl,
  COGNITO_ISSUER: cognito.issuer,
  COGNITO_CLIENT_ID: client.clientId,
  COGNITO_CLIENT_SECRET: client.clientSecret as string,
  SESSION_SECRET: randomBytes(32).toString('base64url'),
  SESSION_STORE: 'redis',
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: prefix,
  SESSION_IDLE_TIMEOUT: `${IDLE_TIMEOUT_S}s`,
  SESSION_MAX_AGE: '2m',
  TOKEN_REFRESH_MARGIN: '5s',
  RATE_LIMIT_SIGNIN: '100000',
})
const warnings: string[] = []
const app = await buildApp(config, { logStream: { write: (line: string) => void (warnings.length < 20 && warnings.push(line.slice(0, 300))) } })
await app.listen({ port, host: '127.0.0.1' })
await app.cognito.provider.getConfiguration()
const redis = new Redis(redisUrl)

const counts = { signIns: 0, pageViews: 0, signOuts: 0, walkedAway: 0, errors: 0 }
const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()

async function sessionKeys(): Promise<number> {
  let cursor = '0'
  let n = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    n += keys.filter((key) => !key.startsWith(`${prefix}lock:`)).length
  } while (cursor !== '0')
  return n
}

function handles(): string {
  const byType = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) byType.set(type, (byType.get(type) ?? 0) + 1)
  return [...byType].sort().map(([type, n]) => `${type}=${n}`).join(' ')
}

const started = Date.now()
async function sample(phase: string): Promise<void> {
  const memory = process.memoryUsage()
  const ms = (ns: number) => (ns / 1e6).toFixed(1)
  const line = [
    `${phase.padEnd(7)} t=${String(Math.round((Date.now() - started) / 1000)).padStart(5)}s`,
    `rss=${(memory.rss / 2 ** 20).toFixed(0)}MB heap=${(memory.heapUsed / 2 ** 20).toFixed(0)}MB`,
    `loop p50=${ms(delay.percentile(50))}ms p99=${ms(delay.percentile(99))}ms max=${ms(delay.max)}ms`,
    `redis-keys=${await sessionKeys()}`,
    `sign-ins=${counts.signIns} pages=${counts.pageViews} refreshes=${cognito.countGrants('refresh_token')} sign-outs=${counts.signOuts} walked-away=${counts.walkedAway} errors=${counts.errors}`,
    `handles: ${handles()}`,
  ].join(' | ')
  console.log(line)
  delay.reset()
  cognito.resetRequests() // the emulator's request log is for tests; it would grow for hours
}

/** One person, again and again until the end: sign in, some page views, then sign out or walk away. */
async function person(user: LocalCognitoUser, until: number): Promise<void> {
  while (Date.now() < until) {
    const browser = new Browser()
    try {
      const toForm = await browser.navigate(`${baseUrl}/login`)
      const form = parseSignInForm(await toForm.response.text(), toForm.url)
      const posted = await browser.post(form.action, { _csrf: form.csrf, username: user.username, password: user.password })
      const back = await browser.follow(posted, form.action)
      let html = await back.response.text()
      if (back.response.status !== 200) throw new Error(`sign-in ended on ${back.response.status}`)
      counts.signIns++
      const views = Math.floor(between(3, 12))
      for (let i = 0; i < views && Date.now() < until; i++) {
        await sleep(between(200, 4_000))
        const page = await browser.get(`${baseUrl}${Math.random() < 0.8 ? '/logged-in' : '/'}`)
        html = await page.text()
        if (page.status !== 200) throw new Error(`page view answered ${page.status}`)
        counts.pageViews++
      }
      if (Math.random() < 0.5) {
        const out = await browser.post(`${baseUrl}/logout`, { _csrf: csrfTokenOf(html) })
        await out.arrayBuffer()
        if (out.status !== 303) throw new Error(`sign-out answered ${out.status}`)
        counts.signOuts++
      } else {
        counts.walkedAway++ // the session ends by the idle timeout, its key by TTL
      }
    } catch (error) {
      counts.errors++
      if (counts.errors <= 5) console.error(`  error: ${(error as Error).message}`)
      await sleep(500)
    }
  }
}

console.log(`soak: ${people} people for ${Math.round(durationMs / 1000)} s against ${baseUrl} (Redis ${redisUrl}, prefix ${prefix}); a line every ${sampleEveryMs / 1000} s`)
await sample('start')
const until = Date.now() + durationMs
const sampler = setInterval(() => void sample('traffic'), sampleEveryMs)
await Promise.all(users.map((user) => person(user, until)))
clearInterval(sampler)
await sample('stopped')

// Quiet: no traffic; sessions end by the idle timeout and their keys by Redis's TTL.
const quietUntil = Date.now() + (IDLE_TIMEOUT_S + 10) * 1000
while (Date.now() < quietUntil) {
  await sleep(5_000)
  global.gc?.()
  await sample('quiet')
  if ((await sessionKeys()) === 0) break
}
const left = await sessionKeys()
console.log(`after the quiet phase: ${left} session keys left in Redis; ${counts.errors} errors; app warnings: ${warnings.length}`)
for (const warning of warnings.slice(0, 5)) console.log(`  ${warning}`)

delay.disable()
await app.close()
await cognito.close()
let cursor = '0'
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
  cursor = next
  if (keys.length > 0) await redis.del(...keys)
} while (cursor !== '0')
await redis.quit()
process.exitCode = counts.errors > 0 || left > 0 ? 1 : 0
