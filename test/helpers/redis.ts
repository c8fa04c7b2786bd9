/**
 * Test helpers for anything that needs a real Redis server.
 *
 *   const t = (await import('tap')).default   // or: import t from 'tap'
 *   if (await requireRedis(t)) { …tests… }
 *
 * Shared by every suite that talks to Redis; keep it dependency-free apart from ioredis.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { sleep } from './clock.js'

export const REDIS_URL = 'redis://127.0.0.1:6379'

const startHint = (port: string): string =>
  `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port ${port} --save "" --appendonly no`

/** A short-lived client that never retries and never queues (for probes and cleanup). */
function probeClient (url: string, timeoutMs = 1000): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs
  })
  client.on('error', () => {})
  return client
}

/** True when a server at `url` answers PING within about a second. */
export async function isRedisAvailable (url: string = REDIS_URL): Promise<boolean> {
  const client = probeClient(url)
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

function hostPort (url: string): { where: string, port: string } {
  try {
    const u = new URL(url)
    const port = u.port || '6379'
    return { where: `${u.hostname}:${port}`, port }
  } catch {
    return { where: url, port: '6379' }
  }
}

/**
 * Call at the top of a Redis test file, before adding tests:
 *   if (await requireRedis(t)) { t.test(…) }
 * Returns true when Redis answers. Otherwise: under CI (`CI=true`) it fails the
 * test and returns false; elsewhere it marks the file skipped (`1..0 # skip …`) and
 * returns false. Don't add assertions to `t` after a false result.
 */
export async function requireRedis (t: Test, url: string = REDIS_URL): Promise<boolean> {
  if (await isRedisAvailable(url)) return true
  const { where, port } = hostPort(url)
  const reason = `Redis not reachable at ${where} — start it with: ${startHint(port)}`
  if (process.env.CI === 'true') {
    t.fail(`${reason} (required under CI)`)
  } else {
    t.plan(0, reason)
  }
  return false
}

/** A key prefix no other test (or parallel run) uses, e.g. `test:sessions:1234:9f2c…:`. */
export function uniquePrefix (name: string): string {
  return `test:${name}:${process.pid}:${randomBytes(6).toString('hex')}:`
}

/** Deletes every key starting with `prefix` (SCAN + DEL). For `t.teardown`. */
export async function deleteKeys (url: string, prefix: string): Promise<void> {
  if (prefix === '') throw new Error('deleteKeys: refusing to delete with an empty prefix')
  const client = probeClient(url, 2000)
  try {
    await client.connect()
    const pattern = prefix.replace(/[*?[\]\\]/g, (c) => '\\' + c) + '*'
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await client.del(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('could not determine a free port'))
        return
      }
      const { port } = address
      server.close(() => { resolve(port) })
    })
  })
}

/** Resolves when nothing accepts TCP connections on the port any more. */
async function portRefuses (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    socket.setTimeout(500)
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
    socket.once('error', () => { socket.destroy(); resolve(true) })
  })
}

export interface OwnRedis {
  port: number
  url: string
  /** Shuts the server down and waits until its port refuses connections. */
  stop(): Promise<void>
  /** Starts it again on the same port and waits for PONG. */
  start(): Promise<void>
  /** Stops it for good (idempotent). */
  close(): Promise<void>
}

/**
 * A private redis-server (in memory only) on a free port, which the test may stop
 * and start again — for "Redis went away and came back" scenarios. `args` are added to
 * its command line (e.g. `['--rename-command', 'CLIENT', '']`).
 */
export async function startOwnRedis (options: { persist?: boolean, args?: readonly string[] } = {}): Promise<OwnRedis> {
  const port = await freePort()
  // With persist, an append-only file in a private folder keeps the data across stop() and start().
  const dir = options.persist ? await mkdtemp(path.join(os.tmpdir(), 'own-redis-')) : os.tmpdir()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let closed = false
  let stderr = ''

  const killOnExit = (): void => { child?.kill('SIGKILL') }
  process.once('exit', killOnExit)

  async function start (): Promise<void> {
    if (closed) throw new Error('startOwnRedis: already closed')
    if (child !== undefined && child.exitCode === null && child.signalCode === null) return
    stderr = ''
    const proc = spawn('redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', options.persist ? 'yes' : 'no',
      '--appendfsync', 'always',
      '--daemonize', 'no',
      '--dir', dir,
      '--loglevel', 'warning',
      ...(options.args ?? [])
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    proc.stdout?.on('data', (d: Buffer) => { stderr += d.toString() })
    proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    let spawnError: Error | undefined
    proc.once('error', (err) => { spawnError = err })
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (spawnError !== undefined) throw new Error(`could not run redis-server: ${spawnError.message}`)
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}: ${stderr.trim()}`)
      if (await isRedisAvailable(url)) return
      await sleep(50)
    }
    throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${stderr.trim()}`)
  }

  async function stop (): Promise<void> {
    const proc = child
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise<void>((resolve) => { proc.once('exit', () => { resolve() }) })
    proc.kill('SIGTERM') // redis-server shuts down cleanly; with --save "" nothing is written
    const killTimer = setTimeout(() => { proc.kill('SIGKILL') }, 3000)
    await exited
    clearTimeout(killTimer)
    const deadline = Date.now() + 5000
    while (!(await portRefuses(port))) {
      if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections after stop()`)
      await sleep(50)
    }
  }

  async function close (): Promise<void> {
    if (closed) return
    await stop()
    closed = true
    process.off('exit', killOnExit)
    if (options.persist) await rm(dir, { recursive: true, force: true })
  }

  await start()
  return { port, url, start, stop, close }
}
