/**
 * pino options: a request id on every line, and nothing secret ever written. Cookies, authorization
 * headers and Set-Cookie are redacted; the sign-in callback's code and state never reach a log line
 * because the logged URL keeps only the path and the names (not values) of sensitive parameters.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyServerOptions } from 'fastify'

const SENSITIVE_PARAMS = /^(?:code|state|id_token|access_token|refresh_token|token|client_secret|nonce|code_verifier|password)$/i

/** The request URL as it may be logged: sensitive query values replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = new URLSearchParams(url.slice(q + 1))
  const kept: string[] = []
  for (const [name, value] of params) {
    kept.push(`${encodeURIComponent(name)}=${SENSITIVE_PARAMS.test(name) ? '[redacted]' : encodeURIComponent(value)}`)
  }
  return `${url.slice(0, q)}?${kept.join('&')}`
}

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  '*.refreshToken',
  '*.accessToken',
  '*.idToken',
  '*.clientSecret',
]

export function loggerOptions(level: string, stream?: { write(line: string): void }): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req(request: { method: string; url: string; ip?: string }) {
        return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip }
      },
    },
  }
}

export function generateRequestId(): string {
  return randomUUID()
}
