/**
 * Simulated federated identity providers (Google, …): the IdP sign-in page on /federated/<Name>/authorize and
 * Cognito's /oauth2/idpresponse, which turns the IdP's answer into a code (or an error) for the app client.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { checkAuthorize, type AuthorizeCheck, type AuthorizeRequest } from './authorize-request.js'
import { note, stringRecord, withParams } from './http-util.js'
import { errorPage, federatedPage, forbiddenPage, type PageFrame } from './pages.js'
import { CODE_TTL_MS, FEDERATED_STATE_TTL_MS, type PoolState, type SessionRecord, type UserRecord } from './state.js'
import type { FederatedIdentity } from './types.js'

/** The fixed user offered by every simulated IdP page. */
export const FEDERATED_TEST_USER = Object.freeze({
  /** the IdP's subject (like Google's numeric `sub`); the Cognito username is `<provider lower-cased>_<userId>` */
  userId: '102600000000000000001',
  email: 'federated.user@example.com',
  name: 'Fed User',
})

/** Cognito's providerType for the social providers; every other name is treated as an OIDC provider. */
const SOCIAL_TYPES = new Set(['Google', 'Facebook', 'LoginWithAmazon', 'SignInWithApple'])

export function providerType(provider: string): string {
  return SOCIAL_TYPES.has(provider) ? provider : 'OIDC'
}

/** Cognito username of the test user federated through `provider`, e.g. `google_102600000000000000001`. */
export function federatedUsername(provider: string): string {
  return `${provider.toLowerCase()}_${FEDERATED_TEST_USER.userId}`
}

/** The automatic group Cognito puts federated users in: `<poolId>_<Provider>`. */
export function automaticGroup(state: PoolState, provider: string): string {
  return `${state.settings.userPoolId}_${provider}`
}

/** Hosted-UI helpers the federated routes share with /login. */
export interface FederatedKit {
  frame: PageFrame
  page(reply: FastifyReply, status: number, html: string): FastifyReply
  answerCheck(req: FastifyRequest, reply: FastifyReply, check: AuthorizeCheck): AuthorizeRequest | undefined
  issueCode(request: AuthorizeRequest, username: string, authTime: number): string
  startSession(reply: FastifyReply, username: string): number
  currentSession(req: FastifyRequest): SessionRecord | undefined
  csrfToken(req: FastifyRequest, reply: FastifyReply): string
  csrfValid(req: FastifyRequest, form: Record<string, string>): boolean
}

export interface FederatedRoutes {
  /** /oauth2/authorize with identity_provider=<a simulated provider>: 302 to its page (or prompt=none handling). */
  begin(req: FastifyRequest, reply: FastifyReply, query: Record<string, string>, request: AuthorizeRequest, prompt: string[]): FastifyReply
}

const ID = /^[A-Za-z0-9_-]{43}$/

export function registerFederated(app: FastifyInstance, state: PoolState, kit: FederatedKit): FederatedRoutes {
  const pagePath = (provider: string): string => `/federated/${encodeURIComponent(provider)}/authorize`
  const idpResponsePath = '/oauth2/idpresponse'

  /** A live federated state for this id (and provider, when given). */
  function liveState(id: string | undefined, provider?: string): { id: string; provider: string; query: Record<string, string> } | undefined {
    if (id === undefined || !ID.test(id)) return undefined
    const rec = state.federatedStates.get(id)
    if (!rec) return undefined
    if (rec.expiresAt <= state.nowMs()) {
      state.federatedStates.delete(id)
      return undefined
    }
    if (provider !== undefined && rec.provider !== provider) return undefined
    return { id, provider: rec.provider, query: rec.query }
  }

  function badState(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    note(req, { error: 'invalid_state' })
    return kit.page(reply, 400, errorPage(kit.frame, 'Invalid state: the sign-in expired or was already used. Start again from the app.'))
  }

  /** Create the federated user the first time, link a user added beforehand, and keep the automatic group. */
  function federatedUser(provider: string): UserRecord {
    const username = federatedUsername(provider)
    const user =
      state.user(username) ??
      state.addUser({
        username,
        // never matches: federated users have no password and /login refuses them anyway
        password: randomBytes(32).toString('base64url'),
        email: FEDERATED_TEST_USER.email,
        emailVerified: true,
        name: FEDERATED_TEST_USER.name,
      })
    if (!user.identities?.some((i) => i.providerName === provider)) {
      const identity: FederatedIdentity = {
        userId: FEDERATED_TEST_USER.userId,
        providerName: provider,
        providerType: providerType(provider),
        issuer: null,
        primary: 'true',
        dateCreated: String(state.nowMs()),
      }
      user.identities = [...(user.identities ?? []), identity]
    }
    const group = automaticGroup(state, provider)
    if (!user.groups.includes(group)) user.groups = [group, ...user.groups]
    return user
  }

  function begin(req: FastifyRequest, reply: FastifyReply, query: Record<string, string>, request: AuthorizeRequest, prompt: string[]): FastifyReply {
    const provider = request.identityProvider ?? ''
    if (prompt.includes('none')) {
      // No interaction allowed: only a live session of this provider's user gives a code.
      const session = kit.currentSession(req)
      const user = session ? state.user(session.username) : undefined
      if (session && user?.identities?.some((i) => i.providerName === provider)) {
        return reply.redirect(kit.issueCode(request, session.username, session.authTime), 302)
      }
      note(req, { error: 'login_required' })
      return reply.redirect(withParams(request.redirectUri, { error: 'login_required', state: request.state }), 302)
    }
    state.sweepFederated()
    const id = randomBytes(32).toString('base64url')
    state.federatedStates.set(id, { provider, query: { ...query }, expiresAt: state.nowMs() + FEDERATED_STATE_TTL_MS })
    return reply.redirect(`${state.origin}${pagePath(provider)}?state=${id}`, 302)
  }

  const providerOf = (req: FastifyRequest): string | undefined => {
    const p = (req.params as { provider?: unknown }).provider
    return typeof p === 'string' && state.settings.federatedProviders.includes(p) ? p : undefined
  }

  app.get('/federated/:provider/authorize', async (req, reply) => {
    const provider = providerOf(req)
    const q = stringRecord(req.query)
    const fs = provider === undefined ? undefined : liveState(q['state'], provider)
    if (provider === undefined || !fs) return badState(req, reply)
    const html = federatedPage(kit.frame, {
      provider,
      action: `${pagePath(provider)}?state=${fs.id}`,
      csrf: kit.csrfToken(req, reply),
      email: FEDERATED_TEST_USER.email,
      name: FEDERATED_TEST_USER.name,
    })
    return kit.page(reply, 200, html)
  })

  app.post('/federated/:provider/authorize', async (req, reply) => {
    const provider = providerOf(req)
    const q = stringRecord(req.query)
    const fs = provider === undefined ? undefined : liveState(q['state'], provider)
    if (provider === undefined || !fs) return badState(req, reply)
    const form = stringRecord(req.body)
    if (!kit.csrfValid(req, form)) {
      note(req, { error: 'csrf' })
      return kit.page(reply, 403, forbiddenPage(kit.frame))
    }
    const back = `${state.origin}${idpResponsePath}`
    switch (form['action']) {
      case 'continue': {
        state.sweepFederated()
        const code = randomUUID()
        state.idpCodes.set(code, { stateId: fs.id, provider, expiresAt: state.nowMs() + CODE_TTL_MS })
        return reply.redirect(withParams(back, { code, state: fs.id }), 302)
      }
      case 'cancel':
        // What Google sends when the user declines.
        return reply.redirect(withParams(back, { error: 'access_denied', state: fs.id }), 302)
      default:
        note(req, { error: 'invalid_request' })
        return kit.page(reply, 400, errorPage(kit.frame, 'Choose Continue or Cancel.'))
    }
  })

  app.get(idpResponsePath, async (req, reply) => {
    const q = stringRecord(req.query)
    const fs = liveState(q['state'])
    if (!fs) return badState(req, reply)
    // The state is single-use whatever happens next.
    state.federatedStates.delete(fs.id)
    const request = kit.answerCheck(req, reply, checkAuthorize(state, fs.query))
    if (!request) return reply
    const toClient = (params: Record<string, string | undefined>, error: string): FastifyReply => {
      note(req, { error })
      return reply.redirect(withParams(request.redirectUri, { ...params, state: request.state }), 302)
    }
    const idpError = q['error']
    if (idpError !== undefined) {
      const error = idpError === 'access_denied' ? 'access_denied' : 'invalid_request'
      return toClient(error === 'access_denied' ? { error } : { error, error_description: `${fs.provider} Error - ${idpError}` }, error)
    }
    const code = q['code']
    const rec = code === undefined ? undefined : state.idpCodes.get(code)
    if (code !== undefined) state.idpCodes.delete(code)
    if (!rec || rec.stateId !== fs.id || rec.provider !== fs.provider || rec.expiresAt <= state.nowMs()) {
      return toClient({ error: 'invalid_request', error_description: `${fs.provider} Error - 400 error getting token` }, 'invalid_request')
    }
    const user = federatedUser(fs.provider)
    if (!user.enabled) return toClient({ error: 'invalid_request', error_description: 'User is disabled.' }, 'invalid_request')
    const authTime = kit.startSession(reply, user.username)
    return reply.redirect(kit.issueCode(request, user.username, authTime), 302)
  })

  return { begin }
}
