/**
 * A private Redis Cluster for one test file, made of the machine's own `redis-server`: three masters
 * and three replicas on ports the OS hands out, in memory only, in a temp dir that goes with it.
 *
 *   import t from 'tap'
 *   if (await requireRedisServer(t)) {
 *     const cluster = await startRedisCluster(t)   // stopped and removed in t.teardown, pass or fail
 *     …cluster.url (the seeds, comma-separated, for REDIS_URL with REDIS_CLUSTER=true)…
 *   }
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { sleep } from './clock.js'

const run = promisify(execFile)

/** True when `redis-server` and `redis-cli` can be run. */
export async function hasRedisServer (): Promise<boolean> {
  try {
    await run('redis-server', ['--version'])
    await run('redis-cli', ['--version'])
    return true
  } catch {
    return false
  }
}

/**
 * Call at the top of a test file that starts its own servers (as requireRedis in ./redis.ts does for
 * the shared one): true when redis-server is installed; otherwise it fails under CI (`CI=true`) and
 * marks the file skipped elsewhere, and returns false.
 */
export async function requireRedisServer (t: Test): Promise<boolean> {
  if (await hasRedisServer()) return true
  const reason = 'redis-server and redis-cli are not installed — install Redis 7 (e.g. `apt-get install redis-server`) to run the cluster tests'
  if (process.env.CI === 'true') t.fail(`${reason} (required under CI)`)
  else t.plan(0, reason)
  return false
}

/** `count` distinct ports the OS has just handed out (all held at once, so none repeats). */
export async function freePorts (count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, async () => await new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve(server) })
  })))
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port)
  await Promise.all(servers.map(async (server) => await new Promise((resolve) => server.close(resolve))))
  return ports
}

/** A short-lived client to one node that never retries. */
function nodeClient (port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 })
  client.on('error', () => {})
  return client
}

/** Runs one command on one node; undefined when the node does not answer. */
export async function onNode (port: number, ...args: [string, ...Array<string | number>]): Promise<unknown> {
  const client = nodeClient(port)
  try {
    await client.connect()
    return await client.call(...args)
  } catch {
    return undefined
  } finally {
    client.disconnect()
  }
}

export interface ClusterNode {
  readonly port: number
  readonly busPort: number
  /** The process while it runs. */
  process: ChildProcess | undefined
  /** Stopped by freeze(). */
  frozen: boolean
}

export interface OwnRedisCluster {
  readonly nodes: readonly ClusterNode[]
  /** Every node as a seed: `redis://127.0.0.1:p1,redis://127.0.0.1:p2,…` (REDIS_URL with REDIS_CLUSTER=true). */
  readonly url: string
  /** The node timeout the cluster runs with (how long before a silent master is failed over). */
  readonly nodeTimeoutMs: number
  /** The port of the master serving `key`'s slot (its hash tag's), as the cluster says now. */
  masterOf(key: string): Promise<number>
  /**
   * Kills a node's process outright (SIGKILL: no goodbye to the cluster, as a crashed host). Its port
   * then stays taken by a listener that drops every connection at once, until close(): on a shared
   * machine another process could otherwise start a server there, which the clients, still told the
   * dead node serves its slots, would reach instead.
   */
  kill(port: number): Promise<void>
  /**
   * Stops a node's process without ending it (SIGSTOP), as a host that hangs or a network partition:
   * its connections stay open and nothing on them is answered, cluster bus included, so the other
   * nodes fail it over after the node timeout. close() ends it.
   */
  freeze(port: number): void
  /**
   * Resolves when the master on `port` has a replica online that has received everything it wrote
   * (replication is asynchronous: what a master acknowledged but had not yet sent is lost with it, as
   * on any Redis Cluster; a test that promises no lost session waits for this before killing it).
   */
  waitReplicated(port: number, timeoutMs?: number): Promise<void>
  /** Resolves when every live node reports cluster_state:ok and `port` (if given) is a master. */
  waitHealthy(timeoutMs?: number): Promise<void>
  /** Deletes every key starting with `prefix` on every live node (SCAN, then one DEL per key: keys of different slots). */
  deleteKeys(prefix: string): Promise<void>
  /** Stops every process and deletes the temp dir (idempotent; t.teardown calls it). */
  close(): Promise<void>
}

export interface ClusterOptions {
  /** cluster-node-timeout: production's default is 15 000 ms; tests use less to fail over sooner. Default 2 000. */
  nodeTimeoutMs?: number
}

async function waitFor (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} within ${timeoutMs} ms`)
    await sleep(50)
  }
}

function running (node: ClusterNode): boolean {
  const proc = node.process
  return proc !== undefined && proc.exitCode === null && proc.signalCode === null
}

/** Running, and not frozen (a frozen node is asked nothing: it would not answer). */
function alive (node: ClusterNode): boolean {
  return running(node) && !node.frozen
}

/**
 * Starts the cluster (three masters, one replica each) and waits until every node says
 * cluster_state:ok. Removed in `t.teardown` (processes killed, temp dir deleted) even when a test
 * fails; a process left behind by a crashed test run is killed when this process exits.
 */
export async function startRedisCluster (t: Pick<Test, 'teardown'>, options: ClusterOptions = {}): Promise<OwnRedisCluster> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000
  const dir = await mkdtemp(path.join(os.tmpdir(), 'own-redis-cluster-'))
  const ports = await freePorts(12)
  const nodes: ClusterNode[] = Array.from({ length: 6 }, (_, i) => ({ port: ports[i] as number, busPort: ports[i + 6] as number, process: undefined, frozen: false }))
  let closed = false
  const holders: net.Server[] = []
  const killAll = (): void => { for (const node of nodes) node.process?.kill('SIGKILL') }
  process.once('exit', killAll)

  async function close (): Promise<void> {
    if (closed) return
    closed = true
    await Promise.all(nodes.map(async (node) => {
      const proc = node.process
      if (proc === undefined || !running(node)) return
      const exited = new Promise((resolve) => proc.once('exit', resolve))
      proc.kill('SIGKILL')
      await exited
    }))
    process.off('exit', killAll)
    await Promise.all(holders.map(async (holder) => await new Promise((resolve) => holder.close(resolve))))
    await rm(dir, { recursive: true, force: true })
  }
  t.teardown(close)

  const output = new Map<number, string>()
  for (const node of nodes) {
    const proc = spawn('redis-server', [
      '--port', String(node.port),
      '--cluster-port', String(node.busPort),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-config-file', `nodes-${node.port}.conf`,
      '--cluster-node-timeout', String(nodeTimeoutMs),
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--daemonize', 'no',
      '--loglevel', process.env.CLUSTER_LOGLEVEL ?? 'warning'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    node.process = proc
    output.set(node.port, '')
    const keep = (d: Buffer): void => { output.set(node.port, (output.get(node.port) ?? '') + d.toString()) }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    proc.on('error', keep.bind(null, Buffer.from('could not run redis-server')))
  }
  try {
    await waitFor('every node answers PING', 10_000, async () => {
      for (const node of nodes) {
        if (node.process?.exitCode !== null) throw new Error(`redis-server on ${node.port} exited: ${output.get(node.port)?.trim() ?? ''}`)
      }
      return (await Promise.all(nodes.map(async (node) => await onNode(node.port, 'PING')))).every((r) => r === 'PONG')
    })
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 })
  } catch (error) {
    await close()
    throw error
  }

  async function waitHealthy (timeoutMs = 20_000): Promise<void> {
    await waitFor('every live node reports cluster_state:ok', timeoutMs, async () => {
      const infos = await Promise.all(nodes.filter(alive).map(async (node) => await onNode(node.port, 'CLUSTER', 'INFO')))
      return infos.every((info) => typeof info === 'string' && /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info))
    })
  }

  async function waitReplicated (port: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(`the master on ${port} has a replica online with all its writes`, timeoutMs, async () => {
      const info = String(await onNode(port, 'INFO', 'replication'))
      const written = Number(/master_repl_offset:(\d+)/.exec(info)?.[1] ?? Number.NaN)
      const received = [...info.matchAll(/slave\d+:.*state=online,offset=(\d+)/g)].map((m) => Number(m[1]))
      return /role:master/.test(info) && received.some((offset) => offset >= written)
    })
  }

  async function masterOf (key: string): Promise<number> {
    for (const node of nodes.filter(alive)) {
      const slot = await onNode(node.port, 'CLUSTER', 'KEYSLOT', key)
      const slots = await onNode(node.port, 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]> | undefined
      if (typeof slot !== 'number' || slots === undefined) continue
      const range = slots.find(([from, to]) => slot >= from && slot <= to)
      if (range !== undefined) return range[2][1]
    }
    throw new Error(`redis cluster: no node knows who serves ${key}`)
  }

  async function kill (port: number): Promise<void> {
    const node = nodes.find((n) => n.port === port)
    const proc = node?.process
    if (node === undefined || proc === undefined || !alive(node)) throw new Error(`redis cluster: no running node on ${port}`)
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGKILL')
    await exited
    const holder = net.createServer((socket) => { socket.destroy() })
    await new Promise<void>((resolve, reject) => {
      holder.once('error', reject)
      holder.listen(port, '127.0.0.1', () => { resolve() })
    })
    holders.push(holder)
  }

  function freeze (port: number): void {
    const node = nodes.find((n) => n.port === port)
    if (node?.process === undefined || !alive(node)) throw new Error(`redis cluster: no running node on ${port}`)
    node.process.kill('SIGSTOP')
    node.frozen = true
  }

  async function deleteKeys (prefix: string): Promise<void> {
    if (prefix === '') throw new Error('deleteKeys: refusing to delete with an empty prefix')
    const pattern = prefix.replace(/[*?[\]\\]/g, (c) => '\\' + c) + '*'
    for (const node of nodes.filter(alive)) {
      const client = nodeClient(node.port)
      try {
        await client.connect()
        let cursor = '0'
        do {
          const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
          cursor = next
          for (const key of keys) await client.del(key).catch(() => 0) // a replica refuses (MOVED): its master deletes it
        } while (cursor !== '0')
      } catch {
        // a node that does not answer has nothing to clean
      } finally {
        client.disconnect()
      }
    }
  }

  try {
    await waitHealthy()
    // A replica can take its master's place only once it has copied it: wait for every link to be up.
    await waitFor('three masters and three replicas in sync', 20_000, async () => {
      const infos = await Promise.all(nodes.map(async (node) => await onNode(node.port, 'INFO', 'replication')))
      const masters = infos.filter((info) => typeof info === 'string' && /role:master/.test(info) && /connected_slaves:1/.test(info))
      const replicas = infos.filter((info) => typeof info === 'string' && /role:slave/.test(info) && /master_link_status:up/.test(info))
      return masters.length === 3 && replicas.length === 3
    })
  } catch (error) {
    await close()
    throw error
  }
  return {
    nodes,
    url: nodes.map((node) => `redis://127.0.0.1:${node.port}`).join(','),
    nodeTimeoutMs,
    freeze,
    masterOf,
    kill,
    waitHealthy,
    waitReplicated,
    deleteKeys,
    close
  }
}
