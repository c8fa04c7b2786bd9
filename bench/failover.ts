/**
 * Failover figures for docs/performance.md: how long signed-in page views are refused (503) while
 *   1. a Redis Cluster master is killed and its replica takes over,
 *   2. a Redis Cluster master hangs (SIGSTOP: its connections stay open, nothing is answered) and its
 *      replica takes over, and
 *   3. a single Redis is restarted with its data kept (append-only file),
 * with two app instances under load. Each is run `FAILOVER_RUNS` times (default 3) on fresh servers.
 *
 *   npm run failover                              # node timeout 2000 ms, 12 people, 3 runs
 *   FAILOVER_NODE_TIMEOUT=1000 FAILOVER_RUNS=5 npm run failover
 *
 * Needs redis-server and redis-cli (it starts its own servers on ports from the OS and removes them).
 * The same scenario as test/sessions/redis-failover.test.ts, which asserts the outcomes; this prints.
 */
import { startLocalCognito } from '../src/local-cognito/index.js'
import { sessionKey } from '../src/session/stores/redis.js'
import { describeLoad, loadUsers, pageViewsThrough, signInAll, type LoadReport } from '../test/helpers/failover.js'
import { hasRedisServer, startRedisCluster } from '../test/helpers/redis-cluster.js'
import { startOwnRedis, uniquePrefix } from '../test/helpers/redis.js'
import { TestClock } from '../test/helpers/clock.js'
import { sessionIdOf, startStack, type Stack } from '../test/helpers/stack.js'

const runs = Number(process.env.FAILOVER_RUNS ?? 3)
const nodeTimeoutMs = Number(process.env.FAILOVER_NODE_TIMEOUT ?? 2000)
const peopleCount = Number(process.env.FAILOVER_PEOPLE ?? 12)

if (!(await hasRedisServer())) {
  console.error('failover: redis-server and redis-cli are needed (e.g. apt-get install redis-server)')
  process.exit(2)
}

/** A teardown list standing in for tap's (the helpers register their cleanup on it). */
class Scope {
  readonly #steps: Array<() => unknown> = []
  teardown (step: () => unknown): void { this.#steps.push(step) }
  async close (): Promise<void> {
    for (const step of this.#steps.reverse()) await step()
  }
}

async function twoInstances (scope: Scope, env: Record<string, string>): Promise<{ stacks: Stack[], users: ReturnType<typeof loadUsers> }> {
  const users = loadUsers(peopleCount)
  const clock = new TestClock()
  const cognito = await startLocalCognito({ users, now: () => clock.now() })
  scope.teardown(() => cognito.close())
  const a = await startStack(scope, { sharedCognito: cognito, clock, env: { ...env, LOG_LEVEL: 'warn' } })
  const b = await startStack(scope, { sharedCognito: cognito, clock, env: { ...env, LOG_LEVEL: 'warn' }, appBaseUrl: a.config.web.baseUrl })
  return { stacks: [a, b], users }
}

async function clusterRun (fault: 'kill' | 'freeze'): Promise<LoadReport> {
  const scope = new Scope()
  try {
    const cluster = await startRedisCluster(scope, { nodeTimeoutMs })
    const prefix = uniquePrefix('bench-failover')
    const { stacks, users } = await twoInstances(scope, { SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: cluster.url, REDIS_KEY_PREFIX: prefix })
    const people = await signInAll(stacks, users)
    const victim = await cluster.masterOf(sessionKey(prefix, sessionIdOf(people[0]?.browser ?? (undefined as never)) as string))
    await cluster.waitReplicated(victim)
    return await pageViewsThrough(stacks, people, async () => {
      if (fault === 'kill') await cluster.kill(victim)
      else cluster.freeze(victim)
    }, { timeoutMs: 60_000 })
  } finally {
    await scope.close()
  }
}

async function restartRun (): Promise<LoadReport> {
  const scope = new Scope()
  try {
    const own = await startOwnRedis({ persist: true })
    scope.teardown(() => own.close())
    const { stacks, users } = await twoInstances(scope, { SESSION_STORE: 'redis', REDIS_URL: own.url, REDIS_KEY_PREFIX: uniquePrefix('bench-restart') })
    const people = await signInAll(stacks, users)
    return await pageViewsThrough(stacks, people, async () => { await own.stop(); await own.start() }, { timeoutMs: 60_000 })
  } finally {
    await scope.close()
  }
}

function summary (name: string, reports: LoadReport[]): void {
  const refused = reports.map((r) => r.refusedMs).sort((x, y) => x - y)
  const recovery = reports.map((r) => r.recoveryMs).sort((x, y) => x - y)
  const median = (values: number[]): number => values[Math.floor(values.length / 2)] ?? 0
  const bad = reports.reduce((n, r) => n + r.wrong.length, 0)
  console.log(`${name}: refused for ${refused.join(', ')} ms (median ${median(refused)}); served again ${recovery.join(', ')} ms after the fault (median ${median(recovery)}); ` +
    `answers other than the page or a 503: ${bad}; every run recovered: ${reports.every((r) => r.recovered)}`)
}

console.log(`failover: two instances, ${peopleCount} people each viewing /logged-in (one at a time, 20 ms apart), ${runs} runs each; Node ${process.version}`)
const clusterReports: LoadReport[] = []
for (let i = 0; i < runs; i++) {
  const report = await clusterRun('kill')
  console.log(`  cluster, master killed (cluster-node-timeout ${nodeTimeoutMs} ms), run ${i + 1}: ${describeLoad(report)}`)
  clusterReports.push(report)
}
const hangReports: LoadReport[] = []
for (let i = 0; i < runs; i++) {
  const report = await clusterRun('freeze')
  console.log(`  cluster, master hangs (cluster-node-timeout ${nodeTimeoutMs} ms), run ${i + 1}: ${describeLoad(report)}`)
  hangReports.push(report)
}
const restartReports: LoadReport[] = []
for (let i = 0; i < runs; i++) {
  const report = await restartRun()
  console.log(`  single Redis restarted (appendonly, data kept), run ${i + 1}: ${describeLoad(report)}`)
  restartReports.push(report)
}
summary(`cluster master killed, node timeout ${nodeTimeoutMs} ms`, clusterReports)
summary(`cluster master hangs, node timeout ${nodeTimeoutMs} ms`, hangReports)
summary('single Redis restarted', restartReports)
