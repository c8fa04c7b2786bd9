/**
 * Defences that apply to every page: security headers and CSP (helmet), form bodies, per-IP rate
 * limits for the routes that ask for one (@fastify/rate-limit), and no caching of dynamic pages.
 * (CSRF tokens come with the session plugin.)
 */
import fastifyFormbody from '@fastify/formbody'
import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'

declare module 'fastify' {
  interface FastifyInstance {
    /** The security headers every answer carries (for answers made outside the request hooks). */
    securityHeaders(): Record<string, string>
  }
}

export interface SecurityOptions {
  /** https site: HSTS and upgrade-insecure-requests. */
  secure: boolean
  /** Origins the browser may be sent to by a form (Cognito's domain); a new list (object) only when they change. */
  formTargets: () => readonly string[]
}

async function securityPlugin(app: FastifyInstance, { secure, formTargets }: SecurityOptions): Promise<void> {
  // helmet's headers depend only on its options, and the options only on Cognito's origins (a new
  // list once discovery ran): computed once per list, not per request (which is what
  // @fastify/helmet does, at about a third of a page view's cost).
  let origins: readonly string[] | undefined
  let headers: Record<string, string> = {}
  function currentHeaders(): Record<string, string> {
    const current = formTargets()
    if (current !== origins) {
      origins = current
      headers = securityHeaders(secure, current)
    }
    return headers
  }
  app.decorate('securityHeaders', currentHeaders)
  app.addHook('onRequest', (request, reply, done) => {
    sendSecurityHeaders(request, reply, currentHeaders())
    done()
  })

  await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 })
  await app.register(fastifyRateLimit, { global: false })
}

export default fp(securityPlugin, { name: 'security' })

/**
 * What the security hook does on every request: the site's headers, and no caching of dynamic pages
 * (a route may set its own Cache-Control over this; the static files under /public/ keep
 * @fastify/static's). Set on request rather than in an onSend hook: one hook less on every page view.
 */
export function sendSecurityHeaders(request: FastifyRequest, reply: FastifyReply, headers: Record<string, string>): void {
  reply.headers(headers)
  if (!request.url.startsWith('/public/')) reply.header('cache-control', 'no-store')
}

/** helmet's options: a strict CSP whose form-action admits Cognito's origins (the sign-out form's redirect). */
export function helmetOptions(secure: boolean, formTargets: readonly string[]): HelmetOptions {
  return {
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
        formAction: ["'self'", ...formTargets],
        upgradeInsecureRequests: secure ? [] : null,
      },
    },
    // The callback URL carries the authorization code: never leak it in a Referer header.
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: secure ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
    frameguard: { action: 'deny' },
  }
}

/** The headers helmet sets for these options, as a plain object (helmet's middleware run once against a recorder). */
export function securityHeaders(secure: boolean, formTargets: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  helmet(helmetOptions(secure, formTargets))({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error
  })
  return headers
}
