/** The site's pages: public ones, and the protected ones inside one context with one auth hook. */
import type { FastifyInstance, Session } from 'fastify'
import { describe } from '../../auth/errors.js'
import { systemClock, type Clock } from '../../lib/clock.js'
import { describeDevice, type DeviceDescription } from '../devices.js'

/** One row of the devices page. */
export interface DeviceRow extends DeviceDescription {
  /** Names the session in the page's forms: never its id. */
  readonly handle: string
  readonly current: boolean
  readonly signedInAt: number | undefined
  /** The last time the idle window was slid (so to about a minute); now for the current session. */
  readonly lastActiveAt: number | undefined
  readonly expiresAt: number | undefined
}

/** When a session ends if nothing happens: the idle window from its last slide, or its absolute end, whichever comes first. */
export function expiryOf(session: Pick<Session, 'lastSeenAt' | 'absoluteExpiresAt'>, idleTimeoutMs: number): number | undefined {
  const expiresAt = Math.min(
    session.lastSeenAt !== undefined ? session.lastSeenAt + idleTimeoutMs : Number.POSITIVE_INFINITY,
    session.absoluteExpiresAt ?? Number.POSITIVE_INFINITY,
  )
  return Number.isFinite(expiresAt) ? expiresAt : undefined
}

const ENDED_NOTICES: Readonly<Record<string, string>> = {
  one: 'The session was ended: that device is signed out.',
  others: 'Your other sessions were ended: every other device is signed out.',
}

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
      return reply.viewAsync('logged-in', {
        title: 'Your account',
        user: session.user,
        signedInAt: session.signedInAt,
        // The idle window runs from the last time it was slid (lastSeenAt), the absolute one from sign-in.
        sessionExpiresAt: expiryOf(session, idleTimeoutMs),
        now: clock.now(),
        csrfToken: app.sessionCsrfToken(request, reply),
      })
    })

    // Where the person is signed in, and a way to end any of those sessions (a lost laptop).
    scope.get<{ Querystring: { ended?: string } }>('/account/sessions', async (request, reply) => {
      const now = clock.now()
      const sessions = await app.personSessions.list(request)
      const row = (handle: string, current: boolean, session: Session): DeviceRow => ({
        ...describeDevice(session.userAgent),
        handle,
        current,
        signedInAt: session.signedInAt,
        lastActiveAt: current ? now : session.lastSeenAt,
        expiresAt: expiryOf(session, idleTimeoutMs),
      })
      const devices = sessions.map((owned) => row(owned.handle, owned.current, owned.session))
      // A session from before sessions were indexed is not listed: it is still this device.
      if (!devices.some((device) => device.current)) devices.unshift(row('', true, request.session))
      return reply.viewAsync('devices', {
        title: 'Your devices',
        user: request.session.user,
        devices,
        notice: ENDED_NOTICES[request.query.ended ?? ''],
        now,
        csrfToken: app.sessionCsrfToken(request, reply),
      })
    })

    const formChecks = { preHandler: [app.cognito.sameSiteForm, app.csrfProtection] }
    scope.post<{ Body: { session?: unknown } }>('/account/sessions/end', formChecks, async (request, reply) => {
      const handle = typeof request.body?.session === 'string' ? request.body.session : ''
      if (await app.cognito.endOtherSession(request, handle)) return reply.redirect('/account/sessions?ended=one', 303)
      const page = describe(404, 'Session not found', 'That session has already ended, or it is not one of yours. Nothing was changed.', {
        href: '/account/sessions',
        label: 'Back to your devices',
      })
      reply.code(404)
      return reply.viewAsync('error', { title: page.title, page, user: request.session.user })
    })

    scope.post('/account/sessions/end-others', formChecks, async (request, reply) => {
      await app.cognito.endOtherSessions(request)
      return reply.redirect('/account/sessions?ended=others', 303)
    })

    // The worked example of a group-limited page.
    scope.get('/admin', { onRequest: app.requireGroup('admin') }, async (request, reply) =>
      reply.viewAsync('admin', { title: 'Administration', user: request.session.user, csrfToken: app.sessionCsrfToken(request, reply) }),
    )
  })
}
