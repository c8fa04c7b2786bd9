/**
 * Redis Cluster seed URLs (REDIS_URL with REDIS_CLUSTER=true), read without loading the Redis client:
 * the configuration checks them, the session store connects with them.
 */

/** The seed nodes of a cluster and what every node connection needs (the same for all of them). */
export interface ClusterSeeds {
  readonly nodes: ReadonlyArray<{ readonly host: string, readonly port: number }>
  readonly tls: boolean
  readonly username: string | undefined
  readonly password: string | undefined
}

/**
 * Reads `redis://…` / `rediss://…` seed URLs separated by commas (or spaces). Every URL must use the
 * same scheme and carry the same credentials (or none after the first): the cluster's other nodes are
 * found through CLUSTER SLOTS and connected with the same settings. Throws a TypeError naming what is
 * wrong, never echoing a credential.
 */
export function parseClusterUrls (list: string): ClusterSeeds {
  const urls = list.split(/[\s,]+/).filter(Boolean)
  if (urls.length === 0) throw new TypeError('expected one or more redis:// or rediss:// URLs')
  let scheme: string | undefined
  let username: string | undefined
  let password: string | undefined
  const nodes: Array<{ host: string, port: number }> = []
  urls.forEach((raw, index) => {
    const which = urls.length > 1 ? `URL ${index + 1} of ${urls.length}` : 'the URL'
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new TypeError(`${which} is not a URL like redis://host:6379 or rediss://host:6379`)
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new TypeError(`${which}: expected a redis:// or rediss:// URL, got "${url.protocol}//…"`)
    }
    if (scheme !== undefined && url.protocol !== scheme) throw new TypeError(`${which}: every seed URL must use the same scheme (all rediss:// for TLS)`)
    scheme = url.protocol
    if (url.hostname === '') throw new TypeError(`${which} has no host`)
    if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0') {
      throw new TypeError(`${which}: a cluster has only database 0 (drop the "${url.pathname}")`)
    }
    const user = url.username === '' ? undefined : decodeURIComponent(url.username)
    const pass = url.password === '' ? undefined : decodeURIComponent(url.password)
    if (user !== undefined || pass !== undefined) {
      if (index > 0 && (user !== username || pass !== password)) throw new TypeError(`${which}: every seed URL must carry the same user and password (or only the first one)`)
      username = user
      password = pass
    }
    // An IPv6 literal comes back in brackets ([::1]); the socket wants the bare address.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    nodes.push({ host, port: url.port === '' ? 6379 : Number(url.port) })
  })
  return { nodes, tls: scheme === 'rediss:', username, password }
}

