/**
 * One error handler and one 404 handler: a clear page in the site's layout, never a stack trace.
 * The sign-in component says what its own errors mean (app.cognito.describeError); the rest is mapped here.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { describe, RELOAD, type ErrorDescription } from '../auth/errors.js'
import { SessionStoreUnavailableError } from '../session/stores/types.js'

export type ErrorPage = ErrorDescription

export function notFoundPage(): ErrorPage {
  return describe(404, 'Page not found', 'There is no page at this address. Check the link, or start again from the home page.')
}

/** Maps any error that is not the sign-in component's to the page a person sees. */
export function toErrorPage(error: unknown): ErrorPage {
  if (error instanceof SessionStoreUnavailableError) {
    return describe(503, 'Temporarily unavailable', 'Your session cannot be read right now. Nothing is lost: please try again in a moment.', RELOAD)
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

async function renderError(request: FastifyRequest, reply: FastifyReply, page: ErrorPage): Promise<FastifyReply> {
  reply.code(page.statusCode)
  const wantsJson = !request.headers.accept?.includes('text/html') && request.headers.accept?.includes('application/json')
  if (wantsJson) return reply.send({ error: page.title, message: page.message, statusCode: page.statusCode })
  try {
    const html = await reply.viewAsync('error', { title: page.title, page, user: request.session?.user })
    return reply.type('text/html; charset=utf-8').send(html)
  } catch (renderFailure) {
    request.log.error({ err: { message: (renderFailure as Error).message } }, 'error page failed to render')
    return reply.type('text/plain; charset=utf-8').send(`${page.title}\n\n${page.message}\n`)
  }
}

export interface ErrorPagesOptions {
  /** What the sign-in component says an error means (asked first), e.g. `(e) => app.cognito.describeError(e)`. */
  readonly describe?: (error: unknown) => ErrorDescription | undefined
}

async function errorPagesPlugin(app: FastifyInstance, options: ErrorPagesOptions): Promise<void> {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const page = options.describe?.(error) ?? toErrorPage(error)
    // Only the name, message and code: never the raw error (it may hold a response from Cognito).
    const summary = { err: { type: error.name, message: error.message, code: error.code }, statusCode: page.statusCode }
    if (page.serverFault) request.log.error(summary, page.title)
    else request.log.info(summary, page.title)
    return renderError(request, reply, page)
  })
  app.setNotFoundHandler(async (request, reply) => renderError(request, reply, notFoundPage()))
}

export default fp(errorPagesPlugin, { name: 'error-pages', dependencies: ['views'] })
