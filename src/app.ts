/**
 * buildApp(config) assembles the application and never listens: server.ts listens, tests inject
 * or listen on port 0. Registration order lives here, in one place.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Config } from './config.js'
import { AccessLogController, generateRequestId, loggerOptions } from './logger.js'
import { cognitoOrigins } from './oidc.js'
import authPlugin from './plugins/auth.js'
import errorPagesPlugin from './plugins/error-pages.js'
import securityPlugin from './plugins/security.js'
import sessionPlugin, { createSessionStore } from './plugins/session.js'
import viewsPlugin from './plugins/views.js'
import apiRoutes from './routes/api.js'
import authRoutes from './routes/auth.js'
import healthRoutes from './routes/health.js'
import pageRoutes from './routes/pages.js'
import type { AppSessionStore } from './session-stores/types.js'

export interface AppDeps {
  /** A session store to use instead of the one the config names (tests share one between instances). */
  store?: AppSessionStore
  /** Where log lines go (default stdout), e.g. a stream that a test reads. */
  logStream?: { write(line: string): void }
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel, deps.logStream),
    genReqId: generateRequestId,
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (config.trustProxy as number)
        : config.trustProxy,
    bodyLimit: 64 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    logController: new AccessLogController(config.accessLog),
  })

  const ownsStore = deps.store === undefined
  const store = deps.store ?? createSessionStore(config, { warn: (msg) => app.log.warn(msg) })
  if (ownsStore) app.addHook('onClose', async () => store.close())

  await app.register(sessionPlugin, { config, store })
  await app.register(viewsPlugin, { cache: config.viewCache, production: config.isProduction })
  await app.register(errorPagesPlugin)
  await app.register(authPlugin, { config })
  await app.register(securityPlugin, { config, formTargets: () => cognitoOrigins(app.oidc) })

  await app.register(healthRoutes)
  await app.register(authRoutes)
  await app.register(pageRoutes)
  await app.register(apiRoutes)
  return app
}
