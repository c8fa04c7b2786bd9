/** EJS views with one layout, and the stylesheet and images from public/. */
import fastifyStatic from '@fastify/static'
import fastifyView from '@fastify/view'
import ejs from 'ejs'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { PUBLIC_DIR, VIEWS_DIR } from '../lib/paths.js'

export const PRODUCT_NAME = 'Cognito Sign-in'

export interface ViewsOptions {
  /** Keep compiled templates in memory (config.viewCache); false re-reads them on every render. */
  cache: boolean
  /** Static files are cached by browsers for an hour in production, revalidated in development. */
  production: boolean
}

async function viewsPlugin(app: FastifyInstance, { cache, production }: ViewsOptions): Promise<void> {
  await app.register(fastifyView, {
    engine: { ejs },
    root: VIEWS_DIR,
    layout: 'layout.ejs',
    viewExt: 'ejs',
    defaultContext: { productName: PRODUCT_NAME },
    // Compiled templates (and, through ejs's own cache, the partials they include) are cached unless
    // VIEW_CACHE=false, in development as in production: without the cache a page view reads and
    // compiles every template again and costs about four times as much. Partials are included by
    // absolute path (`include('/partials/…')`, resolved against `root`): a relative include costs a
    // file-system check on every render.
    production: cache,
    options: { cache, root: VIEWS_DIR },
  })
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/public/',
    index: false,
    maxAge: production ? '1h' : 0,
  })
}

export default fp(viewsPlugin, { name: 'views' })
