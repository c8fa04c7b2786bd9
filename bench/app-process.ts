/**
 * One benchmark target in a process of its own, as it runs in production: either the app (buildApp
 * with the environment it is given, logging to stdout through the server's own log destination) or
 * the ceiling, or the same view behind express-openid-connect (express-oidc.ts). Driven by run.ts
 * over IPC:
 *   start   { kind: 'app', env } | { kind: 'ceiling', data } | { kind: 'express-openid-connect', … }  → { url }
 *   ceiling { data, production, secured? } → { url } of a ceiling in this same process, beside the app
 *             (the bare render measured where the app is: same process, same CPU, same code in
 *             memory); with `secured`, one that also sends the app's security headers
 *   quiet   → stops the Redis Cluster client's periodic slot-map refresh in this process (for counting
 *             instructions: see run.ts); a no-op for the other stores
 *   cpu     → this process's CPU time so far (µs)
 *   session { sid } → the stored session (for the ceiling's data)
 *   stats   → what the app asked of its session store so far: writes (set, destroy), and for the Redis
 *             store the commands its connection sent, by name, and its local cache's counters
 *   close
 */
import type { FastifyInstance } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import type { RedisSessionStore } from '../src/session/stores/redis.js'
import type { ReadCacheStats } from '../src/session/stores/tracking-cache.js'
import { buildApp } from '../src/app.js'
import { loadPoolConfig } from '../src/config/index.js'
import { createLogDestination } from '../src/lib/logger.js'
import { startCeiling } from './ceiling.js'
import { startExpressOidc, type ExpressOidcOptions } from './express-oidc.js'

export type TargetStart =
  | { kind: 'app'; env: Record<string, string> }
  | { kind: 'ceiling'; data: Record<string, unknown>; production: boolean }
  | ({ kind: 'express-openid-connect' } & ExpressOidcOptions)

export type TargetRequest =
  | { id: number; cmd: 'start'; start: TargetStart }
  | { id: number; cmd: 'ceiling'; data: Record<string, unknown>; production: boolean; secured?: boolean }
  | { id: number; cmd: 'quiet' }
  | { id: number; cmd: 'cpu' }
  | { id: number; cmd: 'session'; sid: string }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'close' }

export interface TargetAnswer {
  id: number
  ok: boolean
  value?: unknown
  message?: string
}

/** What the app asked of its session store (see `stats`). */
export interface StoreStats {
  /** set and destroy calls. */
  writes: number
  /** Commands the Redis store's connection sent, by name (none for the memory store). */
  commands: Record<string, number>
  /** The Redis store's local cache (tracking-cache.ts), when it has one. */
  cache?: ReadCacheStats
}

const counted = { writes: 0, commands: {} as Record<string, number> }

/** Counts the store's writes, and the commands of the Redis store's connection (one increment each). */
function countStoreUse(built: FastifyInstance): void {
  const store = built.sessionStore.inner
  const set = store.set.bind(store)
  const destroy = store.destroy.bind(store)
  store.set = (id, session, callback) => {
    counted.writes++
    set(id, session, callback)
  }
  store.destroy = (id, callback) => {
    counted.writes++
    destroy(id, callback)
  }
  if (store.kind !== 'redis') return
  // (a Redis or a Cluster client: both send every command through sendCommand. A Cluster's is called
  // once per command, a MULTI's included, and hands it to a node's connection itself: each command is
  // counted once (a lone command resent after a redirect is not counted again; a MULTI re-run is), the
  // client's own slot-map reads not at all. Every argument is passed on: a Cluster's MULTI gives a
  // third, the node its commands go to.)
  const client = (store as RedisSessionStore).client as unknown as { sendCommand: Cluster['sendCommand'] }
  const send = client.sendCommand.bind(client)
  client.sendCommand = ((command, ...rest) => {
    counted.commands[command.name] = (counted.commands[command.name] ?? 0) + 1
    return send(command, ...rest)
  }) as Cluster['sendCommand']
  // On a cluster the local cache's fence asks the key's master ROLE on that node's own connection,
  // past the Cluster object: counted there (the only command the store sends that way).
  if ((client as unknown as { isCluster?: boolean }).isCluster === true) {
    const cluster = client as unknown as Cluster
    const countRole = (node: Redis): void => {
      const sendToNode = node.sendCommand.bind(node)
      node.sendCommand = ((command, ...rest) => {
        if (command.name.toLowerCase() === 'role') counted.commands.role = (counted.commands.role ?? 0) + 1
        return sendToNode(command, ...rest)
      }) as Redis['sendCommand']
    }
    for (const node of cluster.nodes('all')) countRole(node)
    cluster.on('+node', countRole)
  }
}

/** The app (whose session store `session` reads), when this process runs it. */
let app: FastifyInstance | undefined
let close: (() => Promise<unknown>) | undefined
/** The ceilings started beside the app (`ceiling`), by kind. */
const sideCeilings = new Map<'bare' | 'secured', FastifyInstance>()

async function start(what: TargetStart): Promise<{ url: string }> {
  if (what.kind === 'ceiling') {
    const ceiling = await startCeiling(what.data, what.production)
    close = () => ceiling.app.close()
    return { url: ceiling.url }
  }
  if (what.kind === 'express-openid-connect') {
    const other = await startExpressOidc(what)
    close = other.close
    return { url: other.url }
  }
  const config = loadPoolConfig(what.env)
  const built = await buildApp(config, { logStream: createLogDestination() })
  app = built
  countStoreUse(built)
  close = () => built.close()
  await app.listen({ port: config.server.port, host: '127.0.0.1' })
  // Discovery before the first page view, as a running server has it.
  await app.cognito.provider.getConfiguration()
  return { url: `http://127.0.0.1:${config.server.port}` }
}

async function answer(request: TargetRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'start':
      return start(request.start)
    case 'ceiling': {
      const kind = request.secured === true ? 'secured' : 'bare'
      if (sideCeilings.has(kind)) throw new Error(`a ${kind} ceiling is already running in this process`)
      if (kind === 'secured' && !app) throw new Error('a secured ceiling needs the app (its headers)')
      const ceiling = await startCeiling(request.data, request.production, kind === 'secured' ? app?.securityHeaders() : undefined)
      sideCeilings.set(kind, ceiling.app)
      return { url: ceiling.url }
    }
    case 'quiet': {
      const client = (app?.sessionStore.inner as RedisSessionStore | undefined)?.client as unknown as { isCluster?: boolean; clearNodesRefreshInterval?: () => void } | undefined
      if (client?.isCluster === true) client.clearNodesRefreshInterval?.()
      return null
    }
    case 'cpu': {
      const { user, system } = process.cpuUsage()
      return user + system
    }
    case 'session':
      if (!app) throw new Error('not started')
      return (await app.sessionStore.read(request.sid)) ?? null
    case 'stats': {
      const store = app?.sessionStore.inner
      const cache = store?.kind === 'redis' ? (store as RedisSessionStore).readCacheStats() : undefined
      return { writes: counted.writes, commands: { ...counted.commands }, ...(cache ? { cache } : {}) } satisfies StoreStats
    }
    case 'close':
      for (const ceiling of sideCeilings.values()) await ceiling.close()
      await close?.()
      setImmediate(() => process.exit(0))
      return null
  }
}

process.on('message', (request: TargetRequest) => {
  answer(request).then(
    (value) => process.send?.({ id: request.id, ok: true, value } satisfies TargetAnswer),
    (error: unknown) => process.send?.({ id: request.id, ok: false, message: (error as Error).message } satisfies TargetAnswer),
  )
})
process.on('disconnect', () => process.exit(0))
