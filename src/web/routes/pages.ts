/** The site's pages: public ones, and the protected ones inside one context with one auth hook. */
import type { FastifyInstance } from 'fastify'
import { systemClock, type Clock } from '../../lib/clock.js'

export interface PageRoutesOptions {
  /** "Now" for the pages' relative times ("in 23 hours"): the app's clock. */
  clock?: Clock
}

/** The note a page shows when the sign-in component sent a person on who was already signed in. */
const ALREADY_SIGNED_IN = 'You are already signed in.'

export default async function pageRoutes(app: FastifyInstance, { clock = systemClock }: PageRoutesOptions): Promise<void> {
  const { idleTimeoutMs } = app.sessionLifetime
  // `?signed-in=already` (set by the sign-in component): a fixed note, on any page, for a person signed in.
  app.addHook('preHandler', async (request, reply) => {
    if ((request.query as Record<string, unknown>)['signed-in'] === 'already' && request.session?.user) {
      reply.locals = { ...reply.locals, notice: ALREADY_SIGNED_IN }
    }
  })
  app.get('/', async (request, reply) => {
    const user = request.session?.user
    return reply.viewAsync('index', {
      title: 'Home',
      user,
      identityProviders: app.cognito.identityProviders,
      csrfToken: user ? app.sessionCsrfToken(request, reply) : undefined,
    })
  })

  // The sign-out button (the sign-in component answers its POST).
  app.get('/logout', async (request, reply) => {
    const user = request.session?.user
    const csrfToken = user ? app.sessionCsrfToken(request, reply) : undefined
    return reply.viewAsync('logout', { title: 'Sign out', user, csrfToken })
  })

  app.get('/logged-out', async (request, reply) =>
    reply.viewAsync('logged-out', { title: 'Signed out', user: request.session?.user }),
  )

  // Everything registered here requires a signed-in person.
  await app.register(async function protectedPages(scope) {
    scope.addHook('onRequest', app.requireUser)

    scope.get('/logged-in', async (request, reply) => {
      const session = request.session
      // The idle window runs from the last time it was slid (lastSeenAt), the absolute one from sign-in.
      const expiresAt = Math.min(
        session.lastSeenAt !== undefined ? session.lastSeenAt + idleTimeoutMs : Number.POSITIVE_INFINITY,
        session.absoluteExpiresAt ?? Number.POSITIVE_INFINITY,
      )
      return reply.viewAsync('logged-in', {
        title: 'Your account',
        user: session.user,
        signedInAt: session.signedInAt,
        sessionExpiresAt: Number.isFinite(expiresAt) ? expiresAt : undefined,
        now: clock.now(),
        csrfToken: app.sessionCsrfToken(request, reply),
      })
    })

    // The worked example of a group-limited page.
    scope.get('/admin', { onRequest: app.requireGroup('admin') }, async (request, reply) =>
      reply.viewAsync('admin', { title: 'Administration', user: request.session.user, csrfToken: app.sessionCsrfToken(request, reply) }),
    )
  })
}
