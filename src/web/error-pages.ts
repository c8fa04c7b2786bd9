/**
 * One error handler and one 404 handler: a clear page in the site's layout, never a stack trace.
 * The sign-in component says what its own errors mean (app.cognito.describeError); the rest is mapped here.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { describe, RELOAD, RETRY_AFTER_SECONDS, type ErrorDescription } from '../auth/errors.js'
import { SessionStoreUnavailableError } from '../session/stores/types.js'
import { redactUrl } from '../lib/logger.js'

export type ErrorPage = ErrorDescription

export function notFoundPage(): ErrorPage {
  return describe(404, 'Page not found', 'There is no page at this address. Check the link, or start again from the home page.')
}

/** Maps any error that is not the sign-in component's to the page a person sees. */
export function toErrorPage(error: unknown): ErrorPage {
  if (error instanceof SessionStoreUnavailableError) {
    return {
      ...describe(503, 'Temporarily unavailable', 'Your session cannot be read right now. Nothing is lost: please try again in a moment.', RELOAD),
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }
  }
  const code = (error as { code?: unknown })?.code
  const statusCode = (error as { statusCode?: unknown })?.statusCode
  if (typeof code === 'string' && code.startsWith('FST_CSRF_')) {
    return describe(
      403,
      'This form has expired',
      'For your safety the request was refused: it did not come from a page of this site, or the page was too old. Go back, reload the page and try again.',
    )
  }
  if (statusCode === 429) {
    return describe(429, 'Too many attempts', 'You have made too many requests in a short time. Please wait a minute and try again.')
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    if (statusCode === 404) return notFoundPage()
    return describe(statusCode, 'Bad request', 'The request could not be understood. Please go back and try again.')
  }
  return describe(500, 'Something went wrong', 'An unexpected error happened on our side. Please try again; if it keeps happening, contact the site’s administrator.')
}

type Render = (view: string, data: object) => Promise<string>

async function renderError(
  request: FastifyRequest,
  reply: FastifyReply,
  page: ErrorPage,
  render: Render = (view, data) => reply.viewAsync(view, data),
): Promise<FastifyReply> {
  reply.code(page.statusCode)
  if (page.retryAfterSeconds !== undefined) reply.header('retry-after', String(page.retryAfterSeconds))
  const wantsJson = !request.headers.accept?.includes('text/html') && request.headers.accept?.includes('application/json')
  if (wantsJson) return reply.send({ error: page.title, message: page.message, statusCode: page.statusCode })
  try {
    const html = await render('error', { title: page.title, page, user: request.session?.user })
    return reply.type('text/html; charset=utf-8').send(html)
  } catch (renderFailure) {
    request.log.error({ error: { message: (renderFailure as Error).message } }, 'error page failed to render')
    return reply.type('text/plain; charset=utf-8').send(`${page.title}\n\n${page.message}\n`)
  }
}

/**
 * A request Fastify could not route (a malformed URL such as `/%`): the error page, with the security
 * headers the request hooks would have set (they do not run for it). Fastify's `frameworkErrors`.
 */
export function answerFrameworkError(app: FastifyInstance, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(app.securityHeaders()).header('cache-control', 'no-store')
  request.log.info({ error: { type: error.name, message: error.message, code: error.code } }, 'malformed request')
  // This reply is made before routing, without the plugins' reply decorators: render through the instance.
  void renderError(request, reply, toErrorPage(error), (view, data) => app.view(view, data))
}

/**
 * A request Node refused before Fastify saw it (headers too large, a bad request line, a timeout):
 * a small page with the security headers instead of Fastify's bare JSON. Fastify's `clientErrorHandler`.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket, headers: () => Record<string, string>): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const [status, title, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request too large', 'Your browser sent more than this site accepts, often too many or too large cookies. Clear this site’s cookies, then try again.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request timed out', 'The request took too long to arrive. Please try again.']
        : [400, 'Bad request', 'The request could not be understood. Please go back and try again.']
  const body = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1><p>${message}</p><p><a href="/">Go to the home page</a></p></main></body></html>\n`
  const lines = Object.entries({ ...headers(), 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' }).map(([name, value]) => `${name}: ${value}`)
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('\r\n')}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
}

export interface ErrorPagesOptions {
  /** What the sign-in component says an error means (asked first), e.g. `(e) => app.cognito.describeError(e)`. */
  readonly describe?: (error: unknown) => ErrorDescription | undefined
}

async function errorPagesPlugin(app: FastifyInstance, options: ErrorPagesOptions): Promise<void> {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const page = options.describe?.(error) ?? toErrorPage(error)
    // Only the name, message and code: never the raw error (it may hold a response from Cognito).
    const summary = { error: { type: error.name, message: error.message, code: error.code }, url: redactUrl(request.url), statusCode: page.statusCode }
    if (page.serverFault) request.log.error(summary, page.title)
    else request.log.info(summary, page.title)
    return renderError(request, reply, page)
  })
  app.setNotFoundHandler(async (request, reply) => renderError(request, reply, notFoundPage()))
}

export default fp(errorPagesPlugin, { name: 'error-pages', dependencies: ['views'] })
