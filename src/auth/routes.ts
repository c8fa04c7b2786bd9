/** The component's routes: sign-in, sign-up, the callback from Cognito, sign-out and the account switch. Thin: the work is in flow.ts. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sessionRef } from '../session/session-id.js'
import { SessionStoreUnavailableError } from '../session/stores/types.js'
import type { OidcProvider } from './discovery.js'
import { CognitoError, SignInError } from './errors.js'
import { buildLogoutUrl, finishLogin, startLogin } from './flow.js'
import type { ResolvedAuthOptions } from './options.js'
import { safeReturnTo } from './return-to.js'
import {
  addPending,
  createTransactionSealer,
  NO_SIGN_INS,
  startedHere,
  takePending,
  TRANSACTION_TTL_SECONDS,
  type PendingSignIns,
  type TransactionSealer,
} from './transaction.js'
import type { SessionEnder } from './sessions.js'
import type { LoginTransaction } from './types.js'

interface LoginQuery {
  returnTo?: string
  /** A federated identity provider from the allowed list: skips Cognito's own sign-in page. */
  provider?: string
}

interface RouteContext extends ResolvedAuthOptions {
  readonly provider: OidcProvider
  readonly transactions: TransactionSealer
  readonly ender: SessionEnder
}

/** Where a person already signed in goes when a callback cannot sign them in again: on, with a note to say so. */
function alreadySignedIn(path: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}signed-in=already`
}

/** An OAuth error code as Cognito sends them (`access_denied`, `invalid_request`…); anything else is not shown. */
function errorCode(value: string): string {
  return /^[a-z][a-z0-9_]{0,63}$/i.test(value) ? value : 'unknown_error'
}

/** Refused like a bad CSRF token (403 "This form has expired"): a form posted from another site. */
class CrossSiteFormError extends Error {
  readonly statusCode = 403
  readonly code = 'FST_CSRF_CROSS_SITE'
  constructor() {
    super('form posted from another site')
    this.name = 'CrossSiteFormError'
  }
}

/**
 * The sign-out forms come only from this site's own pages: a browser that says the form comes from
 * another site (Sec-Fetch-Site; or, from a browser without it, another Origin) is refused even with a
 * valid CSRF token. Under this site's `Referrer-Policy: no-referrer` browsers send `Origin: null` with
 * the site's own forms, so only Sec-Fetch-Site tells them apart. Clients that send neither header
 * still need the token.
 */
export function sameSiteForm(baseUrl: string) {
  return async function sameSiteForm(request: FastifyRequest): Promise<void> {
    const site = request.headers['sec-fetch-site']
    const origin = request.headers.origin
    const crossSite =
      site !== undefined ? site !== 'same-origin' && site !== 'none' : origin !== undefined && origin !== 'null' && origin !== baseUrl
    if (crossSite) throw new CrossSiteFormError()
  }
}

export function registerAuthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { paths, provider, transactions } = ctx
  const txCookie = ctx.secureCookies ? '__Host-signin' : 'signin'
  /** Marks a browser on its way through Cognito's /logout to sign in as someone else (sealed apart from transactions). */
  const switchCookie = ctx.secureCookies ? '__Host-signin-switch' : 'signin-switch'
  const switchMarkers = createTransactionSealer(ctx.secrets, ctx.clock, TRANSACTION_TTL_SECONDS, 'account switch')
  /** Marks a browser on its way through Cognito's /logout to confirm who it is (requireRecentSignIn). */
  const reauthCookie = ctx.secureCookies ? '__Host-signin-again' : 'signin-again'
  const reauthMarkers = createTransactionSealer(ctx.secrets, ctx.clock, TRANSACTION_TTL_SECONDS, 'reauthentication')
  // Same attributes when set and when cleared: browsers ignore a `__Host-` cookie update without Secure.
  const txCookieOptions = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: ctx.secureCookies }
  const routeConfig = ctx.rateLimit === false ? {} : { config: { rateLimit: ctx.rateLimit } }
  const returnToOptions = {
    fallback: paths.afterSignIn,
    notDestinations: [paths.login, paths.signup, paths.logout, paths.callback, paths.switchAccount, paths.reauthenticate, '/login', '/logout', '/auth'],
  }
  const returnToOf = (value: unknown): string => safeReturnTo(value, returnToOptions)

  async function redirectToCognito(request: FastifyRequest<{ Querystring: LoginQuery }>, reply: FastifyReply, signUp: boolean) {
    const returnTo = returnToOf(request.query.returnTo)
    if (request.session?.user && !signUp) return reply.redirect(returnTo, 303)
    const identityProvider = request.query.provider
    if (identityProvider !== undefined && !ctx.identityProviders.includes(identityProvider)) throw new SignInError('unknown-provider')
    // A sign-in ends in a stored session: with the store down, say so now (503), not after Cognito.
    if (!(await app.sessionStore.ping())) throw new SessionStoreUnavailableError('session store unavailable')
    const { url, transaction } = await startLogin(provider, {
      returnTo,
      signUp,
      ...(identityProvider === undefined ? {} : { identityProvider }),
    })
    await rememberTransaction(reply, transaction)
    return reply.redirect(url.href, 302)
  }

  /** Adds a sign-in to the browser's pending ones (other tabs may have theirs there: the oldest beyond the cap goes). */
  async function rememberTransaction(reply: FastifyReply, transaction: LoginTransaction): Promise<void> {
    const signIns = (await transactions.openAll(reply.request.cookies[txCookie])) ?? NO_SIGN_INS
    await keepPending(reply, addPending(signIns, transaction, ctx.clock.now()))
  }

  /** Writes the pending sign-ins back to the browser, or clears the cookie when none is left. */
  async function keepPending(reply: FastifyReply, signIns: PendingSignIns): Promise<void> {
    if (signIns.pending.length === 0) reply.clearCookie(txCookie, txCookieOptions)
    else reply.setCookie(txCookie, await transactions.sealAll(signIns), { ...txCookieOptions, maxAge: TRANSACTION_TTL_SECONDS })
  }

  /** Ends the session here (revoking the refresh token at Cognito first; a failure does not block). */
  async function signOutHere(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const sub = request.session?.user?.sub
    const username = request.session?.user?.username
    await ctx.ender.endCurrent(request, reply)
    if (sub !== undefined) request.log.info({ sub, username }, 'signed out')
  }

  app.get<{ Querystring: LoginQuery }>(paths.login, routeConfig, (request, reply) => redirectToCognito(request, reply, false))
  if (ctx.signUp) {
    app.get<{ Querystring: LoginQuery }>(paths.signup, routeConfig, (request, reply) => redirectToCognito(request, reply, true))
  }

  app.get(paths.callback, routeConfig, async (request, reply) => {
    const signIns = await transactions.openAll(request.cookies[txCookie])
    const query = request.raw.url?.split('?')[1] ?? ''
    const params = new URLSearchParams(query)
    const error = params.get('error')
    const state = params.get('state')
    const { transaction, rest } = signIns && state !== null ? takePending(signIns, state) : { transaction: undefined, rest: signIns }
    if (!transaction) {
      // No pending sign-in of this browser's has this state. Already signed in (another tab finished
      // first, or this answer came twice): on to the signed-in pages; nothing is exchanged.
      if (request.session?.user) return reply.redirect(alreadySignedIn(paths.afterSignIn), 303)
      if (!signIns) {
        reply.clearCookie(txCookie, txCookieOptions)
        throw new SignInError('missing-transaction')
      }
      // An answer for another attempt (or none: any site can link here) leaves the pending sign-ins in place.
      // Without a state the text is not Cognito's for this sign-in: only an error code is shown.
      if (error !== null && state === null) throw new SignInError('refused', errorCode(error))
      // Started here but no longer pending (used, expired, or dropped for newer tabs'): expired.
      if (state !== null && startedHere(signIns, state)) throw new SignInError('missing-transaction')
      throw new SignInError('state-mismatch')
    }
    // The answer meant for this sign-in uses it up, whatever happens next; other tabs' stay pending.
    await keepPending(reply, rest ?? NO_SIGN_INS)
    if (error !== null) {
      // Cancelled or refused at Cognito, but signed in here already (another tab): on to where this tab was going.
      if (request.session?.user) return reply.redirect(alreadySignedIn(transaction.returnTo), 303)
      throw new SignInError('refused', errorCode(error), params.get('error_description') ?? undefined)
    }
    if (params.get('code') === null) throw new SignInError('missing-code')

    const { user, tokens } = await finishLogin(provider, query, transaction)
    if (!request.session) throw new SignInError('missing-transaction')
    let returnTo = transaction.returnTo
    const reauth = transaction.reauth
    if (reauth !== undefined) {
      // A re-authentication counts only if Cognito asked again: auth_time after it started (the session
      // stays as it was otherwise). Someone else at Cognito's form gets a session of their own.
      if (user.authTime !== undefined && user.authTime < reauth.since - REAUTH_CLOCK_TOLERANCE_MS) {
        request.log.warn({ sub: user.sub }, 're-authentication refused: Cognito did not ask for the sign-in again (auth_time too old)')
        throw new SignInError('not-reauthenticated')
      }
      if (user.sub === reauth.sub && request.session.user?.sub === user.sub) {
        request.log.info({ sub: user.sub, username: user.username, from: sessionRef(request.session.sessionId) }, 're-authenticated')
      } else {
        request.log.warn({ sub: user.sub, expected: reauth.sub }, 'another person signed in at re-authentication: a session of their own, not the earlier one')
        returnTo = paths.afterSignIn
      }
    }
    // A new session id whoever was signed in here before (no fixation; another user's data is gone).
    // The person's sessions are indexed by their sub; beyond the cap their least recently used ends.
    const ended = await app.startSession(request, reply, { user, tokens, owner: user.sub })
    if (reauth === undefined) request.log.info({ sub: user.sub, username: user.username }, 'signed in')
    await ctx.ender.revokeEnded(request, user.sub, ended)
    try {
      await app.personSessions.rememberNames(user.sub, [user.username, user.email])
    } catch (error) {
      request.log.warn({ sub: user.sub, error: { message: (error as Error).message } }, 'could not remember the person\'s names for the administrators\' search')
    }
    return reply.redirect(returnTo, 303)
  })

  const formChecks = [app.cognito.sameSiteForm, app.csrfProtection]
  app.post(paths.logout, { preHandler: formChecks }, async (request, reply) => {
    await signOutHere(request, reply)
    if (!provider.isReady) await provider.getConfiguration().catch(() => undefined)
    return reply.redirect(buildLogoutUrl(provider)?.href ?? paths.signedOut, 303)
  })

  // "Sign in as someone else" (from a 403 page): end our session and Cognito's (its /logout, back to
  // the registered sign-out URL, as a sign-out does), with a short-lived marker cookie; there an
  // ordinary sign-in starts, with PKCE, state and nonce like every other (BCP-01).
  app.post<{ Body: { returnTo?: string } }>(
    paths.switchAccount,
    { preHandler: formChecks, ...routeConfig },
    async (request, reply) => {
      const returnTo = returnToOf(request.body?.returnTo)
      await signOutHere(request, reply)
      await provider.getConfiguration() // the logout endpoint may come from discovery
      const logoutUrl = buildLogoutUrl(provider)
      if (!logoutUrl) throw new CognitoError('bad-response', 'no logout endpoint for this pool')
      const marker: LoginTransaction = { state: '', nonce: '', codeVerifier: '', returnTo }
      reply.setCookie(switchCookie, await switchMarkers.seal(marker), { ...txCookieOptions, maxAge: TRANSACTION_TTL_SECONDS })
      return reply.redirect(logoutUrl.href, 303)
    },
  )

  // "Confirm it's you" (requireRecentSignIn): through Cognito's /logout, which always ends in its
  // sign-in form (prompt=login works only with managed login), keeping this session meanwhile; back at
  // the sign-out URL with the marker, a sign-in for the same person starts (PKCE, state and nonce).
  app.post<{ Body: { returnTo?: string } }>(
    paths.reauthenticate,
    { preHandler: formChecks, ...routeConfig },
    async (request, reply) => {
      const returnTo = returnToOf(request.body?.returnTo)
      const user = request.session?.user
      if (!user) return reply.redirect(`${paths.login}?returnTo=${encodeURIComponent(returnTo)}`, 303)
      await provider.getConfiguration() // the logout endpoint may come from discovery
      const logoutUrl = buildLogoutUrl(provider)
      if (!logoutUrl) throw new CognitoError('bad-response', 'no logout endpoint for this pool')
      const marker: LoginTransaction = { state: '', nonce: '', codeVerifier: '', returnTo, reauth: { sub: user.sub, since: ctx.clock.now() } }
      reply.setCookie(reauthCookie, await reauthMarkers.seal(marker), { ...txCookieOptions, maxAge: TRANSACTION_TTL_SECONDS })
      request.log.info({ sub: user.sub }, 're-authentication started')
      return reply.redirect(logoutUrl.href, 303)
    },
  )

  app.decorate('requireRecentSignIn', (maxAgeMs: number = ctx.recentSignInMaxAgeMs) => {
    if (!(Number.isFinite(maxAgeMs) && maxAgeMs > 0)) throw new RangeError('requireRecentSignIn needs a positive maxAgeMs')
    return async function requireRecentSignIn(request: FastifyRequest, reply: FastifyReply) {
      const session = request.session
      const user = session?.user
      if (!user) return reply.redirect(`${paths.login}?returnTo=${encodeURIComponent(request.url)}`, 302)
      if (signedInWithin(user.authTime ?? session.signedInAt, ctx.clock.now(), maxAgeMs)) return
      const isRead = request.method === 'GET' || request.method === 'HEAD'
      // A page comes back to itself; a form to the page it names (`returnTo`), as it cannot be sent again.
      const returnTo = isRead ? returnToOf(request.url) : returnToOf((request.body as { returnTo?: unknown } | undefined)?.returnTo)
      request.log.info({ sub: user.sub, maxAgeMs }, 'a recent sign-in is required: asking to sign in again')
      reply.code(isRead ? 200 : 403)
      const context = { user, returnTo, maxAgeMs, csrfToken: app.sessionCsrfToken(request, reply) }
      if (ctx.onReauthenticate) await ctx.onReauthenticate(request, reply, context)
      if (!reply.sent) {
        reply.type('text/plain; charset=utf-8').send(`Please sign in again to continue: post returnTo to ${paths.reauthenticate}.\n`)
      }
      return reply
    }
  })

  // Back from Cognito's /logout with a marker: start the new sign-in instead of the signed-out page.
  app.addHook('onRequest', (request, reply, done) => {
    const switchMarker = request.cookies[switchCookie]
    const reauthMarker = request.cookies[reauthCookie]
    if ((switchMarker === undefined && reauthMarker === undefined) || request.method !== 'GET' || request.url.split('?', 1)[0] !== paths.signedOut) {
      done()
      return
    }
    if (switchMarker !== undefined) reply.clearCookie(switchCookie, txCookieOptions)
    if (reauthMarker !== undefined) reply.clearCookie(reauthCookie, txCookieOptions)
    const open = async (): Promise<LoginTransaction | undefined> =>
      (reauthMarker === undefined ? undefined : await reauthMarkers.open(reauthMarker)) ??
      (switchMarker === undefined ? undefined : await switchMarkers.open(switchMarker))
    open()
      .then(async (opened) => {
        if (!opened) return done() // expired or not ours: the signed-out page
        const { url, transaction } = await startLogin(provider, {
          returnTo: returnToOf(opened.returnTo),
          ...(opened.reauth === undefined ? {} : { reauth: opened.reauth }),
        })
        await rememberTransaction(reply, transaction)
        reply.redirect(url.href, 302)
      })
      .catch(done)
  })
}

/** How far Cognito's auth_time may trail the start of a re-authentication (clocks differ a little). */
const REAUTH_CLOCK_TOLERANCE_MS = 30_000

/** True when the last interactive sign-in (epoch ms) is at most `maxAgeMs` ago (and not in the future beyond the tolerance). */
export function signedInWithin(lastSignIn: number | undefined, now: number, maxAgeMs: number): boolean {
  return lastSignIn !== undefined && now - lastSignIn <= maxAgeMs && lastSignIn - now <= REAUTH_CLOCK_TOLERANCE_MS
}
