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
  /** https site: the signed-out page's note cookie gets Secure. */
  secureCookies?: boolean
}

/**
 * Carries what "sign out everywhere" did across Cognito's /logout to the signed-out page (whose
 * address is registered at Cognito exactly, so it cannot carry a query). Only picks a fixed message.
 */
const EVERYWHERE_COOKIE = 'signed-out-everywhere'

/** What the signed-out page says after "sign out everywhere", by what Cognito's GlobalSignOut did. */
export const EVERYWHERE_NOTICES: Readonly<Record<string, string>> = {
  'signed-out': 'You were signed out everywhere: on every device here, and Cognito signed you out of every other app that uses the same sign-in.',
  'no-scope':
    'You were signed out on every device here. Other apps that use the same sign-in were not signed out: this site does not ask Cognito for that permission (the aws.cognito.signin.user.admin scope).',
  'not-cognito': 'You were signed out on every device here. Other apps were not signed out: the sign-in service is not an Amazon Cognito user pool.',
  failed: 'You were signed out on every device here, but Cognito could not sign you out of other apps just now: they stay signed in until their sessions end. Sign in and try again later.',
}

/** The longest search an administrator may type (a username, an email or a sub). */
const PERSON_QUERY_MAX = 256

/** The note a page shows when the sign-in component sent a person on who was already signed in. */
const ALREADY_SIGNED_IN = 'You are already signed in.'

export default async function pageRoutes(app: FastifyInstance, { clock = systemClock, secureCookies = false }: PageRoutesOptions): Promise<void> {
  const { idleTimeoutMs } = app.sessionLifetime
  // `?signed-in=already` (set by the sign-in component): a fixed note, on any page, for a person signed in.
  // (A callback hook: it runs on every page view and does no I/O, so it allocates no promise.)
  app.addHook('preHandler', (request, reply, done) => {
    if ((request.query as Record<string, unknown>)['signed-in'] === 'already' && request.session?.user) {
      reply.locals = { ...reply.locals, notice: ALREADY_SIGNED_IN }
    }
    done()
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

  app.get('/logged-out', async (request, reply) => {
    const everywhere = request.cookies[EVERYWHERE_COOKIE]
    if (everywhere !== undefined) reply.clearCookie(EVERYWHERE_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies })
    return reply.viewAsync('logged-out', { title: 'Signed out', user: request.session?.user, everywhere: EVERYWHERE_NOTICES[everywhere ?? ''] })
  })

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

    const row = (handle: string, current: boolean, session: Session, now: number): DeviceRow => ({
      ...describeDevice(session.userAgent),
      handle,
      current,
      signedInAt: session.signedInAt,
      lastActiveAt: current ? now : session.lastSeenAt,
      expiresAt: expiryOf(session, idleTimeoutMs),
    })

    // Where the person is signed in, and a way to end any of those sessions (a lost laptop).
    scope.get<{ Querystring: { ended?: string } }>('/account/sessions', async (request, reply) => {
      const now = clock.now()
      const sessions = await app.personSessions.list(request)
      const devices = sessions.map((owned) => row(owned.handle, owned.current, owned.session, now))
      // A session from before sessions were indexed is not listed: it is still this device.
      if (!devices.some((device) => device.current)) devices.unshift(row('', true, request.session, now))
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

    // Sign out everywhere: a page that says what it does (and asks for a recent sign-in), then the form.
    scope.get('/account/sessions/end-everywhere', { preHandler: app.requireRecentSignIn() }, async (request, reply) =>
      reply.viewAsync('end-everywhere', { title: 'Sign out everywhere', user: request.session.user, csrfToken: app.sessionCsrfToken(request, reply) }),
    )

    scope.post('/account/sessions/end-everywhere', { preHandler: [...formChecks.preHandler, app.requireRecentSignIn()] }, async (request, reply) => {
      const { cognito } = await app.cognito.signOutEverywhere(request, reply)
      reply.setCookie(EVERYWHERE_COOKIE, cognito.kind, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies, maxAge: 10 * 60 })
      // Through Cognito's /logout, as a sign-out: GlobalSignOut leaves Cognito's own sign-in session.
      return reply.redirect(app.cognito.logoutUrl() ?? '/logged-out', 303)
    })

    // The worked example of a group-limited page.
    const adminOnly = { onRequest: app.requireGroup('admin') }
    scope.get('/admin', adminOnly, async (request, reply) =>
      reply.viewAsync('admin', { title: 'Administration', user: request.session.user, csrfToken: app.sessionCsrfToken(request, reply) }),
    )

    // An administrator's view of one person's sessions (found by username, email or sub), and the kill switch.
    scope.get<{ Querystring: { user?: unknown; ended?: unknown } }>('/admin/sessions', adminOnly, async (request, reply) => {
      const now = clock.now()
      const query = typeof request.query.user === 'string' ? request.query.user.trim().slice(0, PERSON_QUERY_MAX) : ''
      const owner = query === '' ? undefined : ((await app.personSessions.ownerOf(query)) ?? query)
      const sessions = owner === undefined ? [] : await app.personSessions.listOf(owner, request)
      const ended = typeof request.query.ended === 'string' && /^\d{1,5}$/.test(request.query.ended) ? Number(request.query.ended) : undefined
      return reply.viewAsync('admin-sessions', {
        title: 'Sessions of a person',
        user: request.session.user,
        query,
        person: sessions[0]?.session.user,
        devices: sessions.map((owned) => row(owned.handle, owned.current, owned.session, now)),
        notice: ended === undefined ? undefined : `${ended === 1 ? '1 session was' : `${ended} sessions were`} ended; their sign-ins at Cognito were revoked.`,
        now,
        csrfToken: app.sessionCsrfToken(request, reply),
      })
    })

    scope.post<{ Body: { user?: unknown } }>(
      '/admin/sessions/end',
      { ...adminOnly, preHandler: [...formChecks.preHandler, app.requireRecentSignIn()] },
      async (request, reply) => {
        const query = typeof request.body?.user === 'string' ? request.body.user.trim().slice(0, PERSON_QUERY_MAX) : ''
        const owner = query === '' ? undefined : ((await app.personSessions.ownerOf(query)) ?? query)
        const ended = owner === undefined ? 0 : await app.cognito.endSessionsOf(request, owner)
        return reply.redirect(`/admin/sessions?user=${encodeURIComponent(query)}&ended=${ended}`, 303)
      },
    )
  })
}
