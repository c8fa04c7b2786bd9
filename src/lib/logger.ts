/**
 * pino options: a request id on every line, and nothing secret ever written. Cookies, authorization
 * headers, Set-Cookie, tokens, codes and the client secret are redacted wherever they appear in a
 * logged object; the sign-in callback's code and state never reach a log line
 * because the logged URL keeps only the path and the names (not values) of sensitive parameters.
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import pino from 'pino'
import type { AccessLogMode } from '../config/index.js'

const SENSITIVE_PARAMS = /^(?:code|state|id_token|access_token|refresh_token|token|client_secret|nonce|code_verifier|password)$/i

/** Longest query value written to a log line; a longer one is cut (an attacker's text stays out of the logs). */
const MAX_LOGGED_VALUE = 128

/** The request URL as it may be logged: sensitive query values replaced, long ones cut. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = new URLSearchParams(url.slice(q + 1))
  const kept: string[] = []
  for (const [name, value] of params) {
    const shown = value.length > MAX_LOGGED_VALUE ? `${value.slice(0, 32)}…[${value.length} characters]` : value
    kept.push(`${encodeURIComponent(name.slice(0, MAX_LOGGED_VALUE))}=${SENSITIVE_PARAMS.test(name) ? '[redacted]' : encodeURIComponent(shown)}`)
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

/**
 * Objects that log lines carry secrets in, when they do: Fastify's request, reply and error objects,
 * and the names the app gives to what it logs. Their fields are redacted by exact path: pino
 * checks exact paths at almost no cost, while each wildcard path (`*.cookie`) costs about 1 µs on
 * every line, which with the access log is every request. The app itself logs error messages and
 * chosen fields, never raw objects; a token set read from the session store shows no token even
 * when logged whole (StoredTokenSet).
 */
export const LOGGED_OBJECTS = [
  'req',
  'res',
  'err',
  'error',
  'cause',
  'request',
  'response',
  'reply',
  'body',
  'query',
  'params',
  'session',
  'tokens',
  'user',
  'settings',
  'config',
  'options',
  'data',
]

const SECRET_HEADERS = ['headers.cookie', 'headers.authorization', 'headers["set-cookie"]']

export const REDACT_PATHS = [
  // Cookies, authorization headers and Set-Cookie, at the top or in any logged object.
  ...SECRET_HEADERS,
  ...LOGGED_OBJECTS.flatMap((object) => SECRET_HEADERS.map((header) => `${object}.${header}`)),
  // Tokens, codes and the client secret, in the app's names and in OAuth's, at the top or one level down.
  ...SECRET_FIELDS,
  ...LOGGED_OBJECTS.flatMap((object) => SECRET_FIELDS.map((field) => `${object}.${field}`)),
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
      // Whatever is logged as `req`, only these three fields are written.
      req(request: { method?: string; url?: string; ip?: string }) {
        return {
          method: request.method,
          url: typeof request.url === 'string' ? redactUrl(request.url) : undefined,
          remoteAddress: request.ip,
        }
      },
    },
  }
}

/**
 * stdout for the server's log lines, written in batches: lines are gathered until there are 4 KiB
 * (about 20 access-log lines), or for at most a second when traffic is light, and then written in
 * one system call, instead of one write per line, which at LOG_LEVEL=info is one per request.
 *
 * The batch is written on the event loop (sync), not handed to a thread-pool thread (pino's
 * `sync: false`): measured under load, the hand-off and its completion cost the main thread ~6 µs per
 * request in thread switches and wake-ups, against ~1 µs for the write itself (one every ~20 requests).
 * If whatever reads stdout stops reading, writes wait for it (back-pressure, as with pino's default
 * destination) instead of piling lines up in memory.
 *
 * pino flushes only asynchronous destinations at exit, so this one is flushed here: what is still in
 * the batch is written when the process exits, after a graceful shutdown, process.exit() or an uncaught
 * exception; a SIGKILL loses at most the last second of lines.
 */
export function createLogDestination(format: 'json' | 'pretty' = 'json') {
  if (format === 'pretty') return createPrettyDestination()
  const destination = pino.destination({ dest: 1, sync: true, minLength: 4096, periodicFlush: 1000 })
  process.once('exit', () => {
    try {
      destination.flushSync()
    } catch {
      // stdout is gone (EPIPE): nothing can be written any more.
    }
  })
  return destination
}

/**
 * Log lines for a person at a terminal: one line each, local time, level names in colour, no pid or
 * host (pino-pretty, loaded only here). Written synchronously, line by line: development traffic is
 * light, and a line must be on screen when the thing it tells of happens.
 */
function createPrettyDestination(): { write(line: string): void } {
  const require = createRequire(import.meta.url)
  const pretty = require('pino-pretty') as typeof import('pino-pretty')
  return pretty({ colorize: true, singleLine: true, sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', errorLikeObjectKeys: ['err'] })
}

/** This process's part of every request id: tells instances apart when their logs are read together. */
const INSTANCE_ID = randomBytes(5).toString('hex')
let requestCount = 0

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type LogArgs = [unknown, ...unknown[]]

/**
 * The request's logger, made when the request writes its first line rather than when it comes in.
 * Fastify gives every request a pino child logger carrying its request id (pino serialises the
 * bindings when the child is made), and most page views never write a line (ACCESS_LOG=errors):
 * making it was one of the larger items a page view adds over the bare render (CPU profile). A
 * line written through this one is the very line the child writes (same bindings, options,
 * redaction and serializers), and a line below the level makes no child at all.
 */
class RequestLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Record<string, unknown>
  readonly #options: Record<string, unknown>
  #child: FastifyBaseLogger | undefined

  constructor(parent: FastifyBaseLogger, bindings: Record<string, unknown>, options: Record<string, unknown>) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  #write(level: Level, args: LogArgs): void {
    if (this.#child === undefined && this.#options.level === undefined && !this.isLevelEnabled(level)) return
    ;(this.#real()[level] as (...a: unknown[]) => void)(...args)
  }

  get level(): string {
    return this.#child?.level ?? (this.#options.level as string | undefined) ?? this.#parent.level
  }

  set level(level: string) {
    this.#real().level = level
  }

  isLevelEnabled(level: string): boolean {
    const logger = (this.#child ?? (this.#options.level === undefined ? this.#parent : this.#real())) as { isLevelEnabled?(level: string): boolean }
    return logger.isLevelEnabled?.(level) ?? true
  }

  fatal(...args: LogArgs): void { this.#write('fatal', args) }
  error(...args: LogArgs): void { this.#write('error', args) }
  warn(...args: LogArgs): void { this.#write('warn', args) }
  info(...args: LogArgs): void { this.#write('info', args) }
  debug(...args: LogArgs): void { this.#write('debug', args) }
  trace(...args: LogArgs): void { this.#write('trace', args) }
  silent(): void {}

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }

  bindings(): Record<string, unknown> {
    return (this.#real() as unknown as { bindings(): Record<string, unknown> }).bindings()
  }
}

/** Fastify's `childLoggerFactory`: each request's logger (RequestLogger). */
export function createRequestLogger(logger: FastifyBaseLogger, bindings: object, options: object): FastifyBaseLogger {
  return new RequestLogger(logger, bindings as Record<string, unknown>, options as Record<string, unknown>) as unknown as FastifyBaseLogger
}

/**
 * A request id unique to this process (a counter) and, through INSTANCE_ID, across instances:
 * `3f9a01c2d4-1a2b`. Cheaper than a UUID per request (no random bytes on the hot path).
 */
export function generateRequestId(): string {
  requestCount = (requestCount + 1) % Number.MAX_SAFE_INTEGER
  return `${INSTANCE_ID}-${requestCount.toString(36)}`
}

/**
 * The access log: one line per request when its response has been sent (method, URL with sensitive
 * query values redacted, status, response time, with the request id like every line), for the
 * requests ACCESS_LOG asks for: `all`, `errors` (answered with 400 or more) or `off`. A request that
 * failed after its response started is logged at `error` whatever the mode.
 *
 * Fastify's default writes two lines per request ("incoming request", then "request completed" with
 * the whole reply serialised); one line carries the same facts at half the cost. `errors`, the
 * production default, leaves out the successful page views, which a load balancer or proxy logs
 * anyway: measured, a line per page view costs the signed-in page 5–10 % of its throughput (README,
 * Performance). Security events (sign-in, sign-out, refusals, error pages) have lines of their own
 * whatever the mode, and refused requests (401, 403, 404, 429…) are all in `errors`.
 */
export class AccessLogController extends LogController {
  readonly #minStatus: number
  readonly #quietPrefix: string | undefined

  /** `quietPrefix`: successful requests under it (the stylesheet, the logo) are not logged. */
  constructor(mode: AccessLogMode, quietPrefix?: string) {
    super()
    this.#minStatus = mode === 'all' ? 0 : mode === 'errors' ? 400 : Number.POSITIVE_INFINITY
    this.#quietPrefix = quietPrefix
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!error) {
      if (reply.statusCode < this.#minStatus) return
      if (this.#quietPrefix !== undefined && reply.statusCode < 400 && request.url.startsWith(this.#quietPrefix)) return
      // Below info (LOG_LEVEL=warn…) there is no line to write: build none.
      if ((request.log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') === false) return
    }
    const line = {
      method: request.method,
      url: redactUrl(request.url),
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
      remoteAddress: request.ip,
    }
    if (error) request.log.error({ ...line, err: error }, 'request errored')
    else request.log.info(line, 'request completed')
  }
}
