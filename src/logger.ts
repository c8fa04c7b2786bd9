/**
 * pino options: a request id on every line, and nothing secret ever written. Cookies, authorization
 * headers, Set-Cookie, tokens, codes and the client secret are redacted wherever they appear in a
 * logged object; the sign-in callback's code and state never reach a log line
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

const SECRET_FIELDS = [
  'refreshToken',
  'accessToken',
  'idToken',
  'clientSecret',
  'codeVerifier',
  'refresh_token',
  'access_token',
  'id_token',
  'client_secret',
  'code_verifier',
  'password',
]

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  // The same headers wherever else they turn up (a logged request or response object).
  'headers.cookie',
  'headers.authorization',
  'headers["set-cookie"]',
  '*.headers.cookie',
  '*.headers.authorization',
  '*.headers["set-cookie"]',
  // Tokens, codes and the client secret, in the app's names and in OAuth's, at the top or one level down.
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  // An authorization code, but not `err.code` (error codes are worth keeping).
  'code',
  'query.code',
  'body.code',
  'params.code',
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
