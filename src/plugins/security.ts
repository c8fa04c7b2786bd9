/**
 * Defences that apply to every page: security headers and CSP (@fastify/helmet), form bodies,
 * CSRF tokens bound to the session (@fastify/csrf-protection), per-IP rate limits on the sign-in
 * routes (@fastify/rate-limit), and no caching of dynamic pages.
 */
import fastifyCsrf from '@fastify/csrf-protection'
import fastifyFormbody from '@fastify/formbody'
import fastifyHelmet from '@fastify/helmet'
import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'

export interface SecurityOptions {
  config: Config
  /** Origins the browser may be sent to by a form (Cognito's domain), known once discovery ran. */
  formTargets: () => readonly string[]
}

async function securityPlugin(app: FastifyInstance, { config, formTargets }: SecurityOptions): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        // The sign-out form redirects to Cognito's /logout: browsers apply form-action to that hop.
        formAction: ["'self'", () => formTargets().join(' ')],
        ...(config.secureCookies ? { upgradeInsecureRequests: [] } : { upgradeInsecureRequests: null }),
      },
    },
    // The callback URL carries the authorization code: never leak it in a Referer header.
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: config.secureCookies ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
    frameguard: { action: 'deny' },
  })

  await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 })
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session' })
  await app.register(fastifyRateLimit, { global: false })

  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.url.startsWith('/public/') && !reply.hasHeader('cache-control')) {
      reply.header('cache-control', 'no-store')
    }
    return payload
  })
}

export default fp(securityPlugin, { name: 'security', dependencies: ['session'] })
