/**
 * The Redis Cluster side of the Redis session store: seed URLs to an ioredis `Cluster` set up like the
 * store's single-node client (fail fast, never queue while a node is away, reconnect by itself), and
 * the readiness check that says whether every slot has a master that answers.
 *
 * Works with a self-managed cluster, ElastiCache with cluster mode enabled, ElastiCache Serverless
 * (one TLS endpoint that answers as a cluster) and MemoryDB (TLS, ACL user and password).
 */
import { Cluster, type Redis } from 'ioredis'
import { parseClusterUrls } from '../../lib/redis-urls.js'

/**
 * How often the client reads the slot map when nothing asks it to (ioredis's default is 5 s). Each
 * periodic read opens a new connection to a node (a TLS handshake on ElastiCache and MemoryDB, which
 * ask clients for long-lived connections) and rebuilds the map, on every instance. A failover or a
 * resharding makes the client read it at once anyway: a closed connection, MOVED and CLUSTERDOWN do
 * by themselves, and a command that timed out does through `refreshAfterTimeouts` (a master that
 * hangs closes nothing). This period is only the net under those.
 */
export const SLOTS_REFRESH_INTERVAL_MS = 60_000

/**
 * The shortest time between two slot-map reads asked for by timed-out commands, on one instance: while
 * a cluster is slow, every instance would otherwise open a new connection (a TLS handshake on AWS)
 * for each read, as often as its commands time out. (On a closed connection the client itself reads
 * the map again up to every 100 ms.)
 */
export const TIMEOUT_REFRESH_GAP_MS = 1000

export interface ClusterClientOptions {
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  /** Delay before the n-th attempt to reach the cluster again once every node is gone. */
  readonly retryDelayMs: (attempt: number) => number
}

/**
 * A Cluster client on the seeds in `urls`. As the store's single-node client: no offline queue (a
 * command while the cluster is not ready fails at once, so the app answers 503), bounded connect and
 * command times, reconnection for ever. Commands that meet a node going away, CLUSTERDOWN or TRYAGAIN
 * are retried every 100 ms up to 16 times (ioredis's defaults), which rides out a short election and
 * bounds how long a page view waits for a longer one. The slot map is read again every
 * SLOTS_REFRESH_INTERVAL_MS, and whenever the cluster tells of a change. With TLS, node addresses are
 * used as they come (no DNS lookup of their own), so certificates are checked against the names the
 * cluster gives: what ElastiCache and MemoryDB need.
 */
export function createClusterClient (urls: string, options: ClusterClientOptions): Cluster {
  const seeds = parseClusterUrls(urls)
  return new Cluster(seeds.nodes.map((node) => ({ ...node })), {
    enableOfflineQueue: false,
    enableReadyCheck: true,
    clusterRetryStrategy: options.retryDelayMs,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 16,
    slotsRefreshTimeout: Math.max(1000, options.connectTimeoutMs),
    slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
    scaleReads: 'master',
    ...(seeds.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => { callback(null, address) } } : {}),
    redisOptions: {
      ...(seeds.tls ? { tls: {} } : {}),
      ...(seeds.username !== undefined ? { username: seeds.username } : {}),
      ...(seeds.password !== undefined ? { password: seeds.password } : {}),
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      maxRetriesPerRequest: 1
    }
  })
}

/**
 * Makes the client read the slot map again when a command to the cluster timed out. A master whose
 * host stops answering without closing its connections (a frozen host, a network partition) closes
 * nothing and answers nothing, so the client, which reads the map again on a closed connection,
 * MOVED or CLUSTERDOWN, would otherwise learn of its replica's promotion only at its next periodic
 * read. One read at a time, and then none for `gapMs`, however many commands time out. Returns the
 * function to give each failed command's error to (other errors are ignored).
 */
export function refreshAfterTimeouts (cluster: Cluster, gapMs = TIMEOUT_REFRESH_GAP_MS): (err: unknown) => void {
  let waiting = false
  return (err) => {
    if (waiting || !(err instanceof Error) || err.message !== 'Command timed out') return
    if (cluster.status === 'end' || cluster.status === 'close' || cluster.status === 'disconnecting') return
    waiting = true
    cluster.refreshSlotsCache(() => {
      setTimeout(() => { waiting = false }, gapMs).unref()
    })
  }
}

const SLOTS = 16384

/** A node connection that is open, being opened, or not opened yet (the PING then tells whether it answers). */
const USABLE = new Set(['wait', 'connecting', 'connect', 'ready'])

/** A node's "host:port", as the client's slot map names it. */
export function nodeKey (node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`
}

/**
 * The connection to the master of every slot, as the client's slot map has them; undefined when a slot
 * has no master, or its master has no usable connection (it went away and the map has not been
 * refreshed yet, or a connection to it is being tried again). A connection not opened yet (ioredis
 * opens them on first use) or being opened counts as usable.
 */
export function slotMasters (cluster: Cluster): Redis[] | undefined {
  const owners = new Set<string>()
  for (let slot = 0; slot < SLOTS; slot++) {
    const owner = cluster.slots[slot]?.[0]
    if (owner === undefined) return undefined
    owners.add(owner)
  }
  const byKey = new Map(cluster.nodes('master').map((node) => [nodeKey(node), node]))
  const masters: Redis[] = []
  for (const owner of owners) {
    const node = byKey.get(owner)
    if (node === undefined || !USABLE.has(node.status)) return undefined
    masters.push(node)
  }
  return masters
}

/**
 * True when the cluster serves every slot: the client is ready, every slot has a master and each of
 * those masters answers PING. A slot whose master is gone asks for the slot map to be read again (so
 * the check follows a failover without waiting for the next periodic refresh) and answers false.
 */
export async function clusterServes (cluster: Cluster, failed?: (err: unknown) => void): Promise<boolean> {
  if (cluster.status !== 'ready') return false
  const masters = slotMasters(cluster)
  if (masters === undefined) {
    cluster.refreshSlotsCache()
    return false
  }
  const answers = await Promise.all(masters.map(async (node) => await node.ping().then((reply) => reply === 'PONG', (err: unknown) => {
    failed?.(err)
    return false
  })))
  return answers.every(Boolean)
}
