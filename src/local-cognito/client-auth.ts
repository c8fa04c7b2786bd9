/** Client authentication at /oauth2/token and /oauth2/revoke (client_secret_basic / client_secret_post / none). */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { PoolState } from './state.js'
import type { LocalCognitoClient, SeenRequest } from './types.js'

export type ClientAuthMethod = NonNullable<SeenRequest['clientAuth']>
export type ClientAuthResult =
  | { ok: true; client: LocalCognitoClient; method: ClientAuthMethod }
  | { ok: false; method?: ClientAuthMethod }

function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Basic credentials; RFC 6749 form-encodes id and secret before base64, so both the raw and the decoded forms are accepted. */
function parseBasic(header: string | undefined): { ids: string[]; secrets: string[] } | 'malformed' | undefined {
  if (header === undefined) return undefined
  const m = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header)
  if (!m?.[1]) return 'malformed'
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  if (i < 1) return 'malformed'
  const rawId = decoded.slice(0, i)
  const rawSecret = decoded.slice(i + 1)
  const ids = [rawId, formDecode(rawId)].filter((v): v is string => v !== undefined)
  const secrets = [rawSecret, formDecode(rawSecret)].filter((v): v is string => v !== undefined)
  return { ids, secrets }
}

export function authenticateClient(state: PoolState, req: FastifyRequest, form: Record<string, string>): ClientAuthResult {
  const auth = req.headers.authorization
  const basic = parseBasic(typeof auth === 'string' ? auth : undefined)
  const bodyId = form['client_id']
  const bodySecret = form['client_secret']
  if (basic === 'malformed') return { ok: false, method: 'basic' }
  if (basic) {
    const method: ClientAuthMethod = bodySecret !== undefined ? 'both' : 'basic'
    const client = basic.ids.map((id) => state.client(id)).find((c) => c !== undefined)
    if (!client || client.clientSecret === undefined) return { ok: false, method }
    if (bodyId !== undefined && bodyId !== client.clientId) return { ok: false, method }
    const secret = client.clientSecret
    if (!basic.secrets.some((s) => same(s, secret))) return { ok: false, method }
    if (bodySecret !== undefined && !same(bodySecret, secret)) return { ok: false, method }
    return { ok: true, client, method }
  }
  if (bodyId === undefined) return { ok: false }
  const method: ClientAuthMethod = bodySecret !== undefined ? 'post' : 'none'
  const client = state.client(bodyId)
  if (!client) return { ok: false, method }
  if (client.clientSecret === undefined) {
    return bodySecret === undefined || bodySecret === '' ? { ok: true, client, method: 'none' } : { ok: false, method }
  }
  if (bodySecret === undefined || !same(bodySecret, client.clientSecret)) return { ok: false, method }
  return { ok: true, client, method }
}
