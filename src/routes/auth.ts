/** Sign-in, the callback from Cognito, and sign-out. Thin: the work is in oidc.ts. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { SignInError } from '../errors.js'
import {
  buildLogoutUrl,
  finishLogin,
  revokeRefreshToken,
  sameString,
  startAccountSwitch,
  startLogin,
  type LoginTransaction,
} from '../oidc.js'
import { endSession, sessionCsrfToken } from '../plugins/session.js'
import { safeReturnTo } from '../return-to.js'
import { TRANSACTION_TTL_SECONDS } from '../transaction-cookie.js'

interface LoginQuery {
  returnTo?: string
  /** A federated identity provider from COGNITO_IDENTITY_PROVIDERS: skips Cognito's own sign-in page. */
  provider?: string
}

export default async function authRoutes(app: FastifyInstance): Promise<void> {
  const { config } = app
  const txCookie = config.secureCookies ? '__Host-signin' : 'signin'
  const txCookieOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: config.secureCookies,
  }
  const rateLimit = { max: config.rateLimitSignIn, timeWindow: '1 minute' }

  async function redirectToCognito(request: FastifyRequest<{ Querystring: LoginQuery }>, reply: FastifyReply, signUp: boolean) {
    const returnTo = safeReturnTo(request.query.returnTo)
    if (request.session?.user && !signUp) return reply.redirect(returnTo, 303)
    const provider = request.query.provider
    if (provider !== undefined && !(config.cognito?.identityProviders ?? []).includes(provider)) {
      throw new SignInError('unknown-provider')
    }
    const { url, transaction } = await startLogin(app.oidc, {
      returnTo,
      signUp,
      ...(provider === undefined ? {} : { identityProvider: provider }),
    })
    await rememberTransaction(reply, transaction)
    return reply.redirect(url.href, 302)
  }

  async function rememberTransaction(reply: FastifyReply, transaction: LoginTransaction): Promise<void> {
    reply.setCookie(txCookie, await app.transactions.seal(transaction), {
      ...txCookieOptions,
      maxAge: TRANSACTION_TTL_SECONDS,
    })
  }

  /** Ends the session here (revoking the refresh token at Cognito first; a failure does not block). */
  async function signOutHere(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const sub = request.session?.user?.sub
    const refreshToken = request.session?.tokens?.refreshToken
    if (refreshToken) {
      try {
        await revokeRefreshToken(app.oidc, refreshToken)
      } catch (error) {
        request.log.warn({ err: { message: (error as Error).message } }, 'refresh token revocation failed; signing out anyway')
      }
    }
    await endSession(request, reply, config)
    if (sub !== undefined) request.log.info({ sub }, 'signed out')
  }

  app.get<{ Querystring: LoginQuery }>('/login', { config: { rateLimit } }, (request, reply) =>
    redirectToCognito(request, reply, false),
  )
  app.get<{ Querystring: LoginQuery }>('/signup', { config: { rateLimit } }, (request, reply) =>
    redirectToCognito(request, reply, true),
  )

  app.get('/auth/callback', { config: { rateLimit } }, async (request, reply) => {
    const sealed = request.cookies[txCookie]
    // Single use: the transaction cookie goes whatever happens next.
    // Same attributes as when set: browsers ignore a `__Host-` cookie update without Secure.
    reply.clearCookie(txCookie, txCookieOptions)
    const transaction = await app.transactions.open(sealed)
    if (!transaction) throw new SignInError('missing-transaction')

    const query = request.raw.url?.split('?')[1] ?? ''
    const params = new URLSearchParams(query)
    const error = params.get('error')
    const state = params.get('state')
    if (error !== null && (state === null || sameString(state, transaction.state))) {
      throw new SignInError('refused', error, params.get('error_description') ?? undefined)
    }
    if (error === null && params.get('code') === null) throw new SignInError('missing-code')

    const { user, tokens } = await finishLogin(app.oidc, query, transaction)
    if (!request.session) throw new SignInError('missing-transaction')
    // A fresh session id at sign-in: no fixation.
    await request.session.regenerate()
    const session = request.session
    const now = Date.now()
    session.user = user
    session.tokens = tokens
    session.signedInAt = now
    session.lastSeenAt = now
    session.absoluteExpiresAt = now + config.session.maxAgeMs
    sessionCsrfToken(request, reply)
    request.log.info({ sub: user.sub }, 'signed in')
    return reply.redirect(transaction.returnTo, 303)
  })

  app.get('/logout', async (request, reply) => {
    const user = request.session?.user
    const csrfToken = user ? sessionCsrfToken(request, reply) : undefined
    return reply.viewAsync('logout', { title: 'Sign out', user, csrfToken })
  })

  app.post('/logout', { preHandler: app.csrfProtection }, async (request, reply) => {
    await signOutHere(request, reply)
    if (!app.oidc.isReady) await app.oidc.getConfiguration().catch(() => undefined)
    const cognitoLogout = buildLogoutUrl(app.oidc)
    return reply.redirect(cognitoLogout?.href ?? '/logged-out', 303)
  })

  // "Sign in as someone else" (from the 403 page): end our session, then Cognito's /logout in its
  // redirect form signs out there and shows the sign-in page; the new sign-in completes as any other.
  app.post<{ Body: { returnTo?: string } }>(
    '/switch-account',
    { preHandler: app.csrfProtection, config: { rateLimit } },
    async (request, reply) => {
      const returnTo = safeReturnTo(request.body?.returnTo)
      await signOutHere(request, reply)
      const { url, transaction } = await startAccountSwitch(app.oidc, returnTo)
      await rememberTransaction(reply, transaction)
      return reply.redirect(url.href, 303)
    },
  )
}
