/**
 * A point of comparison: the same logged-in view behind express-openid-connect (Auth0's OpenID
 * Connect middleware for Express), as its documentation sets it up for a code flow with a client
 * secret, signed in through the same local Cognito. Its defaults otherwise: the session lives in an
 * encrypted cookie (decrypted on every request, and re-encrypted and set again on every response, as
 * its session is rolling). The page is rendered the way @fastify/view does it (the page, then the
 * layout around it), from the same templates, with the same data as the ceiling.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import ejs from 'ejs'
import express from 'express'
import eoc from 'express-openid-connect'
import { VIEWS_DIR } from '../src/lib/paths.js'
import { viewContext } from '../src/web/views.js'

export interface ExpressOidcOptions {
  issuer: string
  clientId: string
  clientSecret: string
  port: number
  /** The view's data (the ceiling's). */
  data: Record<string, unknown>
}

export async function startExpressOidc(options: ExpressOidcOptions): Promise<{ url: string; close(): Promise<void> }> {
  const baseURL = `http://localhost:${options.port}`
  const app = express()
  app.use(
    eoc.auth({
      authRequired: false,
      issuerBaseURL: options.issuer,
      baseURL,
      clientID: options.clientId,
      clientSecret: options.clientSecret,
      secret: 'bench-cookie-secret-that-is-long-enough-0123456789',
      authorizationParams: { response_type: 'code', scope: 'openid email profile' },
      routes: { callback: '/auth/callback' },
    }),
  )
  const render = (file: string, data: Record<string, unknown>) =>
    ejs.renderFile(join(VIEWS_DIR, file), { ...viewContext(), ...data }, { cache: true, root: VIEWS_DIR })
  app.get('/logged-in', eoc.requiresAuth(), (_request, response, next) => {
    render('logged-in.ejs', options.data)
      .then((body) => render('layout.ejs', { ...options.data, body }))
      .then((html) => response.type('html').send(html), next)
  })
  const server = app.listen(options.port, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/logged-in`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
