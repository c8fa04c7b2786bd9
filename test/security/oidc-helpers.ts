/** Helpers for the OIDC catalogue tests: Cognito's endpoints at another origin, recording what reaches them. */
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { Test } from 'tap'
import type { Faults } from '../../src/local-cognito/index.js'
import { startSharedCognito, startStack, type Stack } from '../helpers/stack.js'

/** One request as it reached the forwarder. */
export interface Forwarded {
  method: string
  path: string
  query: string
  authorization: string | undefined
  body: string
}

/**
 * Forwards every request to `target` (the local Cognito’s origin) and answers with its reply, its own
 * origin put back in redirects; a path starting with `moved.from` goes to `moved.to` (keys that moved).
 */
export async function startForwarder(t: Test, target: string, moved: { from: string; to: string } = { from: '/\0', to: '/' }) {
  const seen: Forwarded[] = []
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const url = req.url ?? '/'
      const [path = '/', query = ''] = url.split('?', 2)
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method ?? 'GET', path, query, authorization: req.headers.authorization, body: body.toString('utf8') })
      const to = path.startsWith(moved.from) ? moved.to : url
      const headers = new Headers()
      for (const name of ['authorization', 'content-type', 'cookie', 'accept']) {
        const value = req.headers[name]
        if (typeof value === 'string') headers.set(name, value)
      }
      fetch(`${target}${to}`, { method: req.method ?? 'GET', headers, ...(body.length > 0 ? { body } : {}), redirect: 'manual' })
        .then(async (answer) => {
          const out: Record<string, string | string[]> = {}
          answer.headers.forEach((value, name) => {
            if (!['set-cookie', 'content-length', 'content-encoding', 'transfer-encoding'].includes(name)) out[name] = value
          })
          const cookies = answer.headers.getSetCookie()
          if (cookies.length > 0) out['set-cookie'] = cookies
          const location = answer.headers.get('location')
          if (location?.startsWith(target)) out['location'] = `${origin}${location.slice(target.length)}`
          res.writeHead(answer.status, out).end(Buffer.from(await answer.arrayBuffer()))
        })
        .catch(() => res.writeHead(502).end())
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    return closed
  })
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return { origin, seen }
}

/** A stack whose local Cognito serves its discovery document with `discovery` changes from the first request on. */
export async function stackWithDiscovery(t: Test, discovery: NonNullable<Faults['discovery']>): Promise<Stack> {
  const { cognito, clock } = await startSharedCognito(t)
  cognito.faults = { discovery }
  return startStack(t, { sharedCognito: cognito, clock })
}
