/**
 * The ceiling: the same logged-in view, rendered by a bare Fastify route through the app's own views
 * plugin (same templates, layout, data and template caching), and nothing else (no session, auth,
 * helmet, CSRF or logging). With `securityHeaders`, the same and those headers, set by the app's own
 * security hook (src/web/security.ts, sendSecurityHeaders): what the site's headers cost on their own.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { sendSecurityHeaders } from '../src/web/security.js'
import viewsPlugin from '../src/web/views.js'

export async function startCeiling(
  data: Record<string, unknown>,
  production: boolean,
  securityHeaders?: Record<string, string>,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false })
  await app.register(viewsPlugin, { cache: true, production })
  if (securityHeaders) {
    app.addHook('onRequest', (request, reply, done) => {
      sendSecurityHeaders(request, reply, securityHeaders)
      done()
    })
  }
  app.get('/logged-in', async (_request, reply) => reply.viewAsync('logged-in', data))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `${url}/logged-in` }
}
