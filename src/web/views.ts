/** EJS views with one layout, and the stylesheet and images from public/. */
import fastifyStatic from '@fastify/static'
import fastifyView from '@fastify/view'
import ejs from 'ejs'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { PUBLIC_DIR, VIEWS_DIR } from '../lib/paths.js'
import { signInName } from '../auth/user.js'
import { showTime } from './dates.js'

declare module 'fastify' {
  interface FastifyReply {
    /** Data every view rendered for this reply gets (@fastify/view sets `{}` on each request; its types omit it). */
    locals: Record<string, unknown> | null
  }
}

/** The site's name when APP_NAME is not set. */
export const PRODUCT_NAME = 'Cognito Sign-in'

/**
 * Every name the templates read from the data they are given (the layout's and the partials' too).
 * EJS by default runs a template inside `with (locals)`, so each name it reads is looked up through
 * the scope chain at run time: the largest single cost of a page view (about a quarter of its CPU).
 * With `_with: false` EJS declares these names once at the top of each template
 * (`var user = locals.user, …`): plain variables, no scope-chain search. A name the data does not
 * carry reads as undefined; a name a template uses but missing here fails loudly ("x is not defined")
 * the first time that template renders, and test/unit/views.test.ts renders every template, in each
 * of its branches, to catch that.
 */
export const TEMPLATE_LOCALS = [
  'title',
  'productName',
  'body',
  'user',
  'csrfToken',
  'primary',
  'person',
  'size',
  'identityProviders',
  'signedInAt',
  'sessionExpiresAt',
  'now',
  'showTime',
  'signInName',
  'signupEnabled',
  'groups',
  'returnTo',
  'page',
  'devices',
  'notice',
  'everywhere',
  'query',
  'maxAgeMs',
] as const

/** What every view gets besides its own data: the site's name, whether sign-up is offered, and the view helpers. */
export function viewContext(appName: string = PRODUCT_NAME, signupEnabled = true) {
  return { productName: appName, signupEnabled, showTime, signInName }
}

/** EJS's options: templates read TEMPLATE_LOCALS as plain variables, not through `with (locals)`. */
export function ejsOptions(cache: boolean) {
  return { cache, root: VIEWS_DIR, _with: false, destructuredLocals: [...TEMPLATE_LOCALS] }
}

export interface ViewsOptions {
  /** Keep compiled templates in memory (config.viewCache); false re-reads them on every render. */
  cache: boolean
  /** Static files are cached by browsers for an hour in production, revalidated in development. */
  production: boolean
  /** The site's name (APP_NAME); default PRODUCT_NAME. */
  appName?: string
  /** Whether the pages offer "Create account" (SIGNUP_ENABLED); default true. */
  signupEnabled?: boolean
}

async function viewsPlugin(app: FastifyInstance, { cache, production, appName = PRODUCT_NAME, signupEnabled = true }: ViewsOptions): Promise<void> {
  await app.register(fastifyView, {
    engine: { ejs },
    root: VIEWS_DIR,
    layout: 'layout.ejs',
    viewExt: 'ejs',
    defaultContext: viewContext(appName, signupEnabled),
    // Compiled templates (and, through ejs's own cache, the partials they include) are cached unless
    // VIEW_CACHE=false, in development as in production: without the cache a page view reads and
    // compiles every template again and costs about four times as much. Partials are included by
    // absolute path (`include('/partials/…')`, resolved against `root`): a relative include costs a
    // file-system check on every render.
    production: cache,
    options: ejsOptions(cache),
  })
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/public/',
    index: false,
    maxAge: production ? '1h' : 0,
  })
}

export default fp(viewsPlugin, { name: 'views' })
