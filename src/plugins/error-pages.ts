/** One error handler and one 404 handler: a clear page in the site's layout, never a stack trace. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { notFoundPage, toErrorPage, type ErrorPage } from '../errors.js'

async function renderError(request: FastifyRequest, reply: FastifyReply, page: ErrorPage): Promise<FastifyReply> {
  reply.code(page.statusCode)
  const wantsJson = !request.headers.accept?.includes('text/html') && request.headers.accept?.includes('application/json')
  if (wantsJson) {
    return reply.send({ error: page.title, message: page.message, statusCode: page.statusCode })
  }
  try {
    const html = await reply.viewAsync('error', { title: page.title, page, user: request.session?.user })
    return reply.type('text/html; charset=utf-8').send(html)
  } catch (renderFailure) {
    request.log.error({ err: { message: (renderFailure as Error).message } }, 'error page failed to render')
    return reply.type('text/plain; charset=utf-8').send(`${page.title}\n\n${page.message}\n`)
  }
}

async function errorPagesPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const page = toErrorPage(error)
    // Only the name, message and code: never the raw error (it may hold a response from Cognito).
    const summary = { err: { type: error.name, message: error.message, code: error.code }, statusCode: page.statusCode }
    if (page.serverFault) request.log.error(summary, page.title)
    else request.log.info(summary, page.title)
    return renderError(request, reply, page)
  })
  app.setNotFoundHandler(async (request, reply) => renderError(request, reply, notFoundPage()))
}

export default fp(errorPagesPlugin, { name: 'error-pages', dependencies: ['views'] })
