/**
 * The auth boundary: the OIDC provider and the transaction sealer as decorators, and the one hook
 * that guards protected pages (signed in? store up? tokens fresh? refresh once).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { SessionEndedError, SessionRenewalError, SessionStoreUnavailableError } from '../errors.js'
import { OidcProvider } from '../oidc.js'
import { TokenRefresher } from '../token-refresh.js'
import { createTransactionSealer, type TransactionSealer } from '../transaction-cookie.js'
import { endSession, sessionCsrfToken } from './session.js'

declare module 'fastify' {
  interface FastifyInstance {
    oidc: OidcProvider
    transactions: TransactionSealer
    refresher: TokenRefresher
    config: Config
    /**
     * Resumes the request's session: true when someone is signed in with usable tokens (refreshed if
     * needed), false when anonymous. Throws SessionStoreUnavailableError, SessionEndedError (Cognito refused the
     * refresh; the session is ended) or SessionRenewalError (expired and Cognito unreachable).
     */
    resumeSession: (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>
    /** onRequest hook for protected pages (a callback hook: a signed-in page view with fresh tokens waits on nothing). */
    requireUser: (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void
    /** onRequest hook (after requireUser) for pages limited to members of one of the given Cognito groups. */
    requireGroup: (...groups: string[]) => (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  }
}

async function authPlugin(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const cognito = config.cognito
  if (!cognito) throw new Error('Cognito is not configured (COGNITO_USER_POOL_ID or COGNITO_ISSUER)')
  const oidc = new OidcProvider(
    { ...cognito, redirectUri: config.redirectUri, postLogoutRedirectUri: config.postLogoutRedirectUri },
    app.log,
  )
  app.decorate('config', config)
  app.decorate('oidc', oidc)
  app.decorate('transactions', createTransactionSealer(config.session.secret))
  app.decorate(
    'refresher',
    new TokenRefresher({ provider: oidc, store: app.sessionStore, marginMs: config.session.refreshMarginMs }),
  )
  app.addHook('onReady', async () => oidc.startDiscovery())
  app.addHook('onClose', async () => oidc.close())

  app.decorate('resumeSession', async function resumeSession(request: FastifyRequest, reply: FastifyReply) {
    const session = request.session
    if (session?.storeUnavailable || (!session?.user && !app.sessionStore.healthy)) {
      throw new SessionStoreUnavailableError('session store unavailable')
    }
    if (!session?.user || !session.tokens) return false
    const outcome = await app.refresher.ensureFresh(session, async (signedIn) => {
      session.user = signedIn.user
      session.tokens = signedIn.tokens
      await session.save()
    })
    switch (outcome.kind) {
      case 'fresh':
        return true
      case 'refreshed':
        if (session.tokens.accessToken !== outcome.signedIn.tokens.accessToken) {
          session.user = outcome.signedIn.user
          session.tokens = outcome.signedIn.tokens
        }
        return true
      case 'ended':
        request.log.info('Cognito refused the refresh token; session ended')
        await endSession(request, reply, config)
        throw new SessionEndedError(request.url)
      case 'unavailable':
        request.log.warn({ err: { message: outcome.error.message } }, 'token refresh failed')
        if (outcome.usable) return true
        throw new SessionRenewalError()
    }
  })

  app.decorate('requireUser', function requireUser(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    const session = request.session
    // The common case, decided on the spot: store up, signed in, tokens fresh.
    if (!session?.storeUnavailable && app.refresher.isFresh(session)) {
      done()
      return
    }
    app.resumeSession(request, reply).then(
      (signedIn) => {
        if (signedIn) done()
        else reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 302)
      },
      (error: Error) => done(error),
    )
  })

  app.decorate('requireGroup', (...groups: string[]) => {
    if (groups.length === 0) throw new Error('requireGroup needs at least one group')
    return async function requireGroup(request: FastifyRequest, reply: FastifyReply) {
      const user = request.session?.user
      if (!user) return reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 302)
      if (isInGroup(user.groups, groups)) return
      request.log.info({ sub: user.sub, required: groups }, 'signed in without the required group')
      // A page, not a redirect: sending a signed-in person to sign in again would loop.
      const html = await reply.viewAsync('forbidden', {
        title: 'Not allowed',
        user,
        groups,
        returnTo: request.url,
        csrfToken: sessionCsrfToken(request, reply),
      })
      return reply.code(403).type('text/html; charset=utf-8').send(html)
    }
  })
}

/** True when the user belongs to at least one of the groups (an absent claim means no groups). */
export function isInGroup(userGroups: readonly string[], wanted: readonly string[]): boolean {
  return wanted.some((group) => userGroups.includes(group))
}

export default fp(authPlugin, { name: 'auth', dependencies: ['session'] })
