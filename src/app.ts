/**
 * buildApp(config) assembles the application and never listens: server.ts listens, tests inject
 * or listen on port 0. Registration order lives here, in one place. Each plugin gets only its own
 * section of the configuration.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import cognitoAuth from './auth/index.js'
import type { Config } from './config/index.js'
import { systemClock, type Clock } from './lib/clock.js'
import { AccessLogController, createRequestLogger, generateRequestId, loggerOptions } from './lib/logger.js'
import { createSessionStore, sessionPlugin, type AppSessionStore } from './session/index.js'
import { APP_AUTH_PATHS } from './web/auth-paths.js'
import errorPagesPlugin, { answerClientError, answerFrameworkError } from './web/error-pages.js'
import apiRoutes from './web/routes/api.js'
import healthRoutes from './web/routes/health.js'
import pageRoutes from './web/routes/pages.js'
import securityPlugin from './web/security.js'
import viewsPlugin from './web/views.js'

export interface AppDeps {
  /** The time (default the system clock); tests move it instead of sleeping. */
  clock?: Clock
  /** A session store to use instead of the one the config names (tests share one between instances). */
  store?: AppSessionStore
  /** Where log lines go (default stdout), e.g. a stream that a test reads. */
  logStream?: { write(line: string): void }
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const { server, web, cognito, session, api } = config
  const clock = deps.clock ?? systemClock
  const trustProxy = server.trustProxy
  const app: FastifyInstance = Fastify({
    logger: loggerOptions(server.logLevel, deps.logStream),
    genReqId: generateRequestId,
    childLoggerFactory: createRequestLogger,
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
    bodyLimit: 64 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    logController: new AccessLogController(server.accessLog, '/public/'),
    // Malformed requests get the site's error page and security headers, not Fastify's bare JSON.
    frameworkErrors: (error, request, reply) => answerFrameworkError(app, error, request, reply),
    clientErrorHandler: (error, socket) => answerClientError(error, socket, () => app.securityHeaders()),
  })

  const store = deps.store ?? await createSessionStore(session, { warn: (msg) => app.log.warn(msg) }, clock, session.secrets)
  if (deps.store === undefined) app.addHook('onClose', async () => store.close())
  // A starting instance waits (briefly: ping is bounded and never throws) for its store's connection,
  // so that its first requests are not refused while Redis is still connecting.
  app.addHook('onReady', async () => {
    await store.ping()
  })

  await app.register(sessionPlugin, {
    secret: session.secrets,
    cookieName: session.cookieName,
    secureCookies: session.secureCookies,
    idleTimeoutMs: session.idleTimeoutMs,
    maxAgeMs: session.maxAgeMs,
    maxPerOwner: session.maxPerUser,
    store,
    clock,
  })
  await app.register(viewsPlugin, { cache: web.viewCache, production: config.isProduction, appName: web.appName, signupEnabled: web.signupEnabled })
  await app.register(errorPagesPlugin, { describe: (error) => app.cognito.describeError(error) })
  await app.register(securityPlugin, { secure: web.secure, formTargets: () => app.cognito.formTargets() })
  await app.register(cognitoAuth, {
    issuer: cognito.issuer,
    clientId: cognito.clientId,
    clientSecret: cognito.clientSecret,
    allowInsecureRequests: cognito.allowInsecureRequests,
    domain: cognito.domain,
    scopes: cognito.scopes,
    identityProviders: cognito.identityProviders,
    signUp: web.signupEnabled,
    timeoutMs: cognito.timeoutMs,
    refreshMarginMs: cognito.refreshMarginMs,
    rateLimit: { max: cognito.rateLimitSignIn, timeWindow: '1 minute' },
    baseUrl: web.baseUrl,
    secret: session.secrets,
    paths: APP_AUTH_PATHS,
    bearer: { allowedClientIds: api.extraClientIds, requiredScope: api.requiredScope, jwksCooldownMs: api.jwksCooldownMs },
    recentSignInMaxAgeMs: session.recentSignInMaxAgeMs,
    clock,
    onReauthenticate: async (request, reply, { user, returnTo, maxAgeMs, csrfToken }) => {
      const html = await reply.viewAsync('reauthenticate', { title: 'Confirm it’s you', user, returnTo, maxAgeMs, csrfToken })
      return reply.type('text/html; charset=utf-8').send(html)
    },
    onForbidden: async (request, reply, { user, groups, csrfToken }) => {
      const html = await reply.viewAsync('forbidden', { title: 'Not allowed', user, groups, returnTo: request.url, csrfToken })
      return reply.type('text/html; charset=utf-8').send(html)
    },
  })

  await app.register(healthRoutes)
  await app.register(pageRoutes, { clock, secureCookies: session.secureCookies })
  await app.register(apiRoutes)
  return app
}
