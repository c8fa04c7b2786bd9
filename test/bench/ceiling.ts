/**
 * The ceiling: the same logged-in view, rendered by a bare Fastify route with @fastify/view, the
 * same templates, layout and data, and nothing else (no session, auth, helmet, CSRF or logging).
 */
import fastifyView from '@fastify/view'
import ejs from 'ejs'
import Fastify, { type FastifyInstance } from 'fastify'
import { VIEWS_DIR } from '../../src/paths.js'
import { PRODUCT_NAME } from '../../src/plugins/views.js'

export async function startCeiling(data: Record<string, unknown>, production: boolean): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false })
  await app.register(fastifyView, {
    engine: { ejs },
    root: VIEWS_DIR,
    layout: 'layout.ejs',
    viewExt: 'ejs',
    defaultContext: { productName: PRODUCT_NAME },
    production,
  })
  app.get('/logged-in', async (_request, reply) => reply.viewAsync('logged-in', data))
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `${url}/logged-in` }
}
