/**
 * The sign-in component: one named plugin that owns the whole Cognito sign-in. It discovers the pool
 * (retrying in the background), serves the sign-in, sign-up, callback, sign-out and account-switch
 * routes, keeps tokens fresh (single-flight refresh), verifies Bearer access tokens, and gives the host
 * `requireUser` / `requireGroup` hooks. It knows nothing of the host's pages: the host names the paths
 * and decides what a 403 or a failed sign-in looks like (`onForbidden`, and its own error handler with
 * `app.cognito.describeError`).
 *
 * Needs the session plugin (`cognito-session`, registered first). Registers @fastify/formbody and
 * @fastify/rate-limit (global: false) itself when the host has not.
 */
import fastifyFormbody from '@fastify/formbody'
import fastifyRateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { SessionStoreUnavailableError } from '../session/stores/types.js'
import { BearerVerifier, type BearerPrincipal } from './bearer.js'
import { OidcProvider } from './discovery.js'
import { describeAuthError, SessionEndedError, SessionRenewalError, type ErrorDescription } from './errors.js'
import { buildLogoutUrl, cognitoOrigins } from './flow.js'
import { resolveAuthOptions, type AuthPaths, type CognitoAuthOptions } from './options.js'
import { refreshLockTtlMs, TokenRefresher } from './refresh.js'
import { registerAuthRoutes, sameSiteForm } from './routes.js'
import { sessionEnder, type SessionEnder } from './sessions.js'
import { createTransactionSealer, type TransactionSealer } from './transaction.js'
import type { TokenSet } from './types.js'
import type { User } from './user.js'

/** What the component gives the host app, as `app.cognito`. */
export interface CognitoAuth {
  readonly paths: AuthPaths
  /** The callback and sign-out URLs to register on the app client. */
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
  readonly identityProviders: readonly string[]
  readonly provider: OidcProvider
  readonly transactions: TransactionSealer
  readonly refresher: TokenRefresher
  /** True once the pool's discovery document is loaded (for readiness probes). */
  isReady(): boolean
  /** Cognito's origins the browser is sent to (for a CSP's form-action); a new list only when they change. */
  formTargets(): readonly string[]
  /** Verifies a Cognito access token; rejects with a BearerError. */
  verifyBearer(token: string): Promise<BearerPrincipal>
  /** What one of the component's errors means to a person, or undefined for any other error. */
  describeError(error: unknown): ErrorDescription | undefined
  /**
   * A preHandler for the host's own state-changing forms, as the component's sign-out uses it (with
   * `app.csrfProtection`): a form a browser says was posted from another site is refused (403).
   */
  sameSiteForm(request: FastifyRequest): Promise<void>
  /** Ends one other session of the request's person, named by its handle (see SessionEnder). */
  endOtherSession: SessionEnder['endOther']
  /** Ends every other session of the request's person; resolves to how many. */
  endOtherSessions: SessionEnder['endOthers']
  /**
   * Signs the request's person out everywhere: Cognito's GlobalSignOut (when the session's tokens carry
   * the `aws.cognito.signin.user.admin` scope and the issuer is a Cognito pool), every other session
   * here, then this one. Send the browser to `logoutUrl()` afterwards: GlobalSignOut leaves Cognito's own
   * sign-in session, and the next sign-in would otherwise be silent.
   */
  signOutEverywhere: SessionEnder['endEverywhere']
  /** An administrator's action: ends every session of the person `owner` (their `sub`), revoking their refresh tokens. */
  endSessionsOf: SessionEnder['endAllOf']
  /** Cognito's /logout URL, back to the registered sign-out URL; undefined while the pool is not discovered and no domain is set. */
  logoutUrl(): string | undefined
}

declare module 'fastify' {
  interface Session {
    user?: User
    tokens?: TokenSet
  }
  interface FastifyInstance {
    cognito: CognitoAuth
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
    /**
     * preHandler (after requireUser, and after the CSRF check on a form) for sensitive actions: the
     * person must have signed in at Cognito within `maxAgeMs` (default: the `recentSignInMaxAgeMs`
     * option). Otherwise they are asked to confirm it is them (the `onReauthenticate` page), through
     * Cognito's sign-in form, and come back to the page they were on.
     */
    requireRecentSignIn: (maxAgeMs?: number) => (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  }
}

/** True when the user belongs to at least one of the groups (an absent claim means no groups). */
export function isInGroup(userGroups: readonly string[], wanted: readonly string[]): boolean {
  return wanted.some((group) => userGroups.includes(group))
}

async function cognitoAuthPlugin(app: FastifyInstance, options: CognitoAuthOptions): Promise<void> {
  const resolved = resolveAuthOptions(options)
  const { pool, paths, clock } = resolved
  const provider = new OidcProvider(pool, app.log, clock, resolved.jwksCooldownMs)
  const transactions = createTransactionSealer(resolved.secrets, clock)
  const refresher = new TokenRefresher({
    provider,
    store: app.sessionStore,
    marginMs: resolved.refreshMarginMs,
    clock,
    lockTtlMs: refreshLockTtlMs(pool.timeoutMs),
  })
  const bearer = new BearerVerifier({
    issuer: pool.issuer,
    allowedClientIds: resolved.allowedClientIds,
    requiredScope: resolved.requiredScope,
    jwks: provider.jwks,
    clock,
  })
  const ender = sessionEnder(app, provider)
  const auth: CognitoAuth = {
    paths,
    redirectUri: pool.redirectUri,
    postLogoutRedirectUri: pool.postLogoutRedirectUri,
    identityProviders: resolved.identityProviders,
    provider,
    transactions,
    refresher,
    isReady: () => provider.isReady,
    formTargets: () => cognitoOrigins(provider),
    verifyBearer: (token) => bearer.verify(token),
    describeError: (error) => describeAuthError(error, paths.login),
    sameSiteForm: sameSiteForm(resolved.baseUrl),
    endOtherSession: (request, handle) => ender.endOther(request, handle),
    endOtherSessions: (request) => ender.endOthers(request),
    signOutEverywhere: (request, reply) => ender.endEverywhere(request, reply),
    endSessionsOf: (request, owner) => ender.endAllOf(request, owner),
    logoutUrl: () => buildLogoutUrl(provider)?.href,
  }
  app.decorate('cognito', auth)
  app.addHook('onReady', async () => provider.startDiscovery())
  app.addHook('onClose', async () => provider.close())

  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 })
  if (resolved.rateLimit !== false && !app.hasDecorator('rateLimit')) await app.register(fastifyRateLimit, { global: false })

  const loginRedirect = (request: FastifyRequest): string => `${paths.login}?returnTo=${encodeURIComponent(request.url)}`

  app.decorate('resumeSession', async function resumeSession(request: FastifyRequest, reply: FastifyReply) {
    const session = request.session
    if (session?.storeUnavailable || (!session?.user && !app.sessionStore.healthy)) {
      throw new SessionStoreUnavailableError('session store unavailable')
    }
    if (!session?.user || !session.tokens) return false
    const outcome = await refresher.ensureFresh(session.sessionId, session, async (signedIn) => {
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
        await app.endSession(request, reply)
        throw new SessionEndedError(request.url)
      case 'unavailable':
        request.log.warn({ error: { message: outcome.error.message } }, 'token refresh failed')
        if (outcome.usable) return true
        throw new SessionRenewalError()
    }
  })

  app.decorate('requireUser', function requireUser(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    const session = request.session
    // The common case, decided on the spot: store up, signed in, tokens fresh.
    if (!session?.storeUnavailable && refresher.isFresh(session)) {
      done()
      return
    }
    app.resumeSession(request, reply).then(
      (signedIn) => {
        if (signedIn) done()
        else reply.redirect(loginRedirect(request), 302)
      },
      (error: Error) => done(error),
    )
  })

  app.decorate('requireGroup', (...groups: string[]) => {
    if (groups.length === 0) throw new Error('requireGroup needs at least one group')
    return async function requireGroup(request: FastifyRequest, reply: FastifyReply) {
      const user = request.session?.user
      if (!user) return reply.redirect(loginRedirect(request), 302)
      if (isInGroup(user.groups, groups)) return
      request.log.info({ sub: user.sub, required: groups }, 'signed in without the required group')
      const context = { user, groups, csrfToken: app.sessionCsrfToken(request, reply) }
      reply.code(403)
      if (resolved.onForbidden) await resolved.onForbidden(request, reply, context)
      if (!reply.sent) reply.type('text/plain; charset=utf-8').send(`You are signed in but not allowed here (needs the group ${groups.join(' or ')}).\n`)
      return reply
    }
  })

  registerAuthRoutes(app, { ...resolved, provider, transactions, ender })
}

export default fp(cognitoAuthPlugin, { name: 'cognito-auth', fastify: '5.x', dependencies: ['cognito-session'] })
