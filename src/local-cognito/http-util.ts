/** Small helpers shared by the route modules. */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { SeenRequest } from './types.js'

type Note = Pick<SeenRequest, 'grantType' | 'clientAuth' | 'error'>
const notes = new WeakMap<FastifyRequest, Note>()

/** Attach non-secret facts (grant type, auth method, error code) to the request log entry. */
export function note(req: FastifyRequest, n: Note): void {
  notes.set(req, { ...notes.get(req), ...n })
}

export function noteOf(req: FastifyRequest): Note {
  return notes.get(req) ?? {}
}

/** Query keys that may be logged; everything else (code, tokens, nonce, challenge, …) is dropped. */
const LOGGED_QUERY_KEYS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge_method',
  'identity_provider',
  'idp_identifier',
  'logout_uri',
  'error',
  'prompt',
  'lang',
])

export function loggableQuery(query: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(query)) if (LOGGED_QUERY_KEYS.has(k)) out[k] = v
  return out
}

/** Flatten a parsed query/body into first-value strings. */
export function stringRecord(input: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof input !== 'object' || input === null) return out
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    const first: unknown = Array.isArray(v) ? v[0] : v
    if (typeof first === 'string') out[k] = first
  }
  return out
}

/** The raw query string of a request, without the leading '?'. */
export function rawQuery(req: FastifyRequest): string {
  const i = req.url.indexOf('?')
  return i < 0 ? '' : req.url.slice(i + 1)
}

export function pathOf(url: string): string {
  const i = url.indexOf('?')
  return i < 0 ? url : url.slice(0, i)
}

export function parseForm(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k]
    if (prev === undefined) out[k] = v
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

export function isForm(req: FastifyRequest): boolean {
  const ct = req.headers['content-type']
  return typeof ct === 'string' && ct.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded'
}

export const JSON_TYPE = 'application/json;charset=UTF-8'

/** JSON the way Cognito's OAuth endpoints send it. */
export function sendJson(reply: FastifyReply, status: number, body: unknown, extraHeaders: Record<string, string> = {}): FastifyReply {
  return reply
    .code(status)
    .header('content-type', JSON_TYPE)
    .header('access-control-allow-origin', '*')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .headers(extraHeaders)
    .send(JSON.stringify(body))
}

/**
 * A hosted-UI page. Its CSP allows the stylesheet from this origin and nothing inline; forms post here, and may end
 * (after redirects, which Chromium checks against form-action too) at the app clients' callback origins.
 */
export function sendHtml(reply: FastifyReply, status: number, html: string, formTargets: readonly string[] = []): FastifyReply {
  const formAction = ["'self'", ...formTargets].join(' ')
  return reply
    .code(status)
    .header('content-type', 'text/html;charset=UTF-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header(
      'content-security-policy',
      `default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action ${formAction}; frame-ancestors 'none'`,
    )
    .send(html)
}

/** The raw query without the parameters named (e.g. `username`, which only pre-fills a form). */
export function queryWithout(raw: string, names: readonly string[]): string {
  return raw
    .split('&')
    .filter((part) => {
      if (part === '') return false
      const key = part.split('=')[0] ?? ''
      let name = key
      try {
        name = decodeURIComponent(key.replace(/\+/g, ' '))
      } catch {
        // keep the raw key
      }
      return !names.includes(name)
    })
    .join('&')
}

/** Append parameters to a URL that may already have a query. */
export function withParams(base: string, params: Record<string, string | undefined>): string {
  const u = new URL(base)
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.append(k, v)
  return u.toString()
}
