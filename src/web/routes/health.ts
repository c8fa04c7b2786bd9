/** Liveness and readiness for load balancers and orchestrators. */
import type { FastifyInstance } from 'fastify'

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const store = await app.sessionStore.ping()
    const cognito = app.cognito.isReady()
    const ready = store && cognito
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      checks: { cognitoDiscovery: cognito ? 'ok' : 'unavailable', sessionStore: store ? 'ok' : 'unavailable' },
    })
  })
}
