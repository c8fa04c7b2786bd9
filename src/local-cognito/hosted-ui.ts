/** Hosted UI on the pool domain: /oauth2/authorize, /login, /logout, /error (and, through account.ts, sign-up and passwords). */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { registerAccountPages } from './account.js'
import { checkAuthorize, type AuthorizeCheck, type AuthorizeRequest } from './authorize-request.js'
import { note, queryWithout, rawQuery, sendHtml, stringRecord, withParams } from './http-util.js'
import { registerFederated } from './federated.js'
import { registerLocalPages, type ConnectionControl } from './local-pages.js'
import { totpMatches } from './mfa.js'
import { errorPage, forbiddenPage, loginPage, mfaPage, type LoginPageInput, type PageFrame } from './pages.js'
import { CODE_ATTEMPTS, CODE_TTL_MS, MFA_SESSION_TTL_MS, SESSION_TTL_MS, type PoolState, type UserRecord } from './state.js'

export const SESSION_COOKIE = 'cognito'
export const CSRF_COOKIE = 'XSRF-TOKEN'
/** Local only: set when a person hides the demo-users hint. */
export const HINT_COOKIE = 'local-cognito-hint'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const SESSION_EXPIRED = 'Invalid session for the user, session is expired.'

/** What the hosted-UI route modules share. */
export interface HostedUiKit {
  frame: PageFrame
  answerCheck(req: FastifyRequest, reply: FastifyReply, check: AuthorizeCheck): AuthorizeRequest | undefined
  issueCode(request: AuthorizeRequest, username: string, authTime: number): string
  startSession(reply: FastifyReply, username: string): number
  csrfToken(req: FastifyRequest, reply: FastifyReply): string
  csrfValid(req: FastifyRequest, form: Record<string, string>): boolean
  /** A posted form: the authorize request re-checked and the CSRF field verified; null once answered. */
  acceptForm(req: FastifyRequest, reply: FastifyReply): { request: AuthorizeRequest; form: Record<string, string> } | null
  /** An HTML page with the hosted UI's headers. */
  page(reply: FastifyReply, status: number, html: string): FastifyReply
  /** `/path?<the authorize parameters>` (without `username`), plus extra parameters. */
  href(req: FastifyRequest, path: string, extra?: Record<string, string>): string
  /** The sign-in page (GET /login, or a form answer that shows it again). */
  renderLogin(req: FastifyRequest, reply: FastifyReply, request: AuthorizeRequest, status: number, extra: Partial<LoginPageInput>): FastifyReply
  /** The label of the sign-in name: `Username`, or `Email address` in an email sign-in pool. */
  loginLabel: string
}

export function registerHostedUi(app: FastifyInstance, state: PoolState, connections: ConnectionControl): void {
  const frame: PageFrame = { appName: state.settings.appName }
  const page = (reply: FastifyReply, status: number, html: string): FastifyReply => sendHtml(reply, status, html, state.callbackOrigins())

  /** Answer a failed check; returns the request when the check passed. */
  function answerCheck(req: FastifyRequest, reply: FastifyReply, check: AuthorizeCheck): AuthorizeRequest | undefined {
    if (check.kind === 'ok') return check.request
    note(req, { error: check.error })
    if (check.kind === 'page') void page(reply, check.status, errorPage(frame, check.detail))
    else void reply.redirect(check.location, 302)
    return undefined
  }

  function issueCode(request: AuthorizeRequest, username: string, authTime: number): string {
    const code = randomUUID()
    state.codes.set(code, {
      clientId: request.client.clientId,
      redirectUri: request.redirectUri,
      scopes: request.scopes,
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      ...(request.codeChallenge !== undefined ? { codeChallenge: request.codeChallenge } : {}),
      username,
      authTime,
      expiresAt: state.nowMs() + CODE_TTL_MS,
      used: false,
    })
    return withParams(request.redirectUri, { code, state: request.state })
  }

  function startSession(reply: FastifyReply, username: string): number {
    const authTime = state.nowSec()
    const id = randomBytes(32).toString('base64url')
    state.sessions.set(id, { username, authTime, expiresAt: state.nowMs() + SESSION_TTL_MS })
    reply.setCookie(SESSION_COOKIE, id, { httpOnly: true, path: '/', sameSite: 'lax', maxAge: SESSION_TTL_MS / 1000 })
    return authTime
  }

  function endSession(req: FastifyRequest, reply: FastifyReply): void {
    const id = req.cookies[SESSION_COOKIE]
    if (id) state.sessions.delete(id)
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' })
  }

  function csrfToken(req: FastifyRequest, reply: FastifyReply): string {
    const existing = req.cookies[CSRF_COOKIE]
    const token = existing && UUID.test(existing) ? existing : randomUUID()
    reply.setCookie(CSRF_COOKIE, token, { httpOnly: true, path: '/', sameSite: 'lax' })
    return token
  }

  function csrfValid(req: FastifyRequest, form: Record<string, string>): boolean {
    const cookie = req.cookies[CSRF_COOKIE]
    const sent = form['_csrf']
    if (!cookie || !sent) return false
    const a = Buffer.from(cookie)
    const b = Buffer.from(sent)
    return a.length === b.length && timingSafeEqual(a, b)
  }

  function passwordMatches(expected: string, given: string): boolean {
    const a = Buffer.from(expected)
    const b = Buffer.from(given)
    return a.length === b.length && timingSafeEqual(a, b)
  }

  function acceptForm(req: FastifyRequest, reply: FastifyReply) {
    const request = answerCheck(req, reply, checkAuthorize(state, stringRecord(req.query)))
    if (!request) return null
    const form = stringRecord(req.body)
    if (!csrfValid(req, form)) {
      note(req, { error: 'csrf' })
      page(reply, 403, forbiddenPage(frame))
      return null
    }
    return { request, form }
  }

  /** The authorize parameters of this request, as sent (only `username`, a form pre-fill, is left out). */
  const authQuery = (req: FastifyRequest): string => queryWithout(rawQuery(req), ['username'])
  function href(req: FastifyRequest, path: string, extra: Record<string, string> = {}): string {
    const more = new URLSearchParams(extra).toString()
    return `${path}?${[authQuery(req), more].filter((s) => s !== '').join('&')}`
  }

  /** Back to the app: the origin of the callback URL the app sent (nothing for a custom-scheme callback). */
  function backLink(request: AuthorizeRequest): { href: string; text: string } | undefined {
    try {
      const u = new URL(request.redirectUri)
      if (u.protocol === 'http:' || u.protocol === 'https:') return { href: `${u.origin}/`, text: `Back to ${state.settings.appName}` }
    } catch {
      // not a URL
    }
    return undefined
  }

  const loginLabel = state.settings.signInWith === 'email' ? 'Email address' : 'Username'

  function renderLogin(req: FastifyRequest, reply: FastifyReply, request: AuthorizeRequest, status: number, extra: Partial<LoginPageInput>): FastifyReply {
    const loginPath = href(req, '/login')
    const hidden = req.cookies[HINT_COOKIE] === 'hidden'
    const showHint = state.settings.demoUsers.length > 0
    const input: LoginPageInput = {
      action: loginPath,
      csrf: csrfToken(req, reply),
      usernameLabel: loginLabel,
      usernameType: state.settings.signInWith === 'email' ? 'email' : 'text',
      forgotHref: href(req, '/forgotPassword'),
      ...(state.settings.allowSignUp ? { signupHref: href(req, '/signup') } : {}),
      ...(backLink(request) ? { back: backLink(request) } : {}),
      ...extra,
    }
    if (showHint && !hidden) {
      input.hint = {
        users: state.settings.demoUsers.map((u) => ({ ...u, href: href(req, '/login', { username: u.login }) })),
        hideHref: `/_local/demo-hint?${new URLSearchParams({ show: 'no', next: loginPath }).toString()}`,
      }
    }
    if (showHint && hidden) input.showHintHref = `/_local/demo-hint?${new URLSearchParams({ show: 'yes', next: loginPath }).toString()}`
    return page(reply, status, loginPage(frame, input))
  }

  const kit: HostedUiKit = { frame, answerCheck, issueCode, startSession, csrfToken, csrfValid, acceptForm, page, href, renderLogin, loginLabel }

  const federated = registerFederated(app, state, {
    ...kit,
    currentSession: (req) => state.session(req.cookies[SESSION_COOKIE]),
  })

  app.get('/oauth2/authorize', async (req, reply) => {
    const q = stringRecord(req.query)
    const request = answerCheck(req, reply, checkAuthorize(state, q))
    if (!request) return reply
    // The classic hosted UI ignores prompt; only managed login honours it.
    const prompt = state.settings.hostedUi === 'classic' ? [] : (q['prompt'] ?? '').split(' ')
    if (request.identityProvider !== undefined) return federated.begin(req, reply, q, request, prompt)
    const session = prompt.includes('login') ? undefined : state.session(req.cookies[SESSION_COOKIE])
    if (session) return reply.redirect(issueCode(request, session.username, session.authTime), 302)
    if (prompt.includes('none')) {
      note(req, { error: 'login_required' })
      return reply.redirect(withParams(request.redirectUri, { error: 'login_required', state: request.state }), 302)
    }
    return reply.redirect(`${state.origin}/login?${rawQuery(req)}`, 302)
  })

  app.get('/login', async (req, reply) => {
    const q = stringRecord(req.query)
    const request = answerCheck(req, reply, checkAuthorize(state, q))
    if (!request) return reply
    const prefill = q['username'] ?? q['login_hint']
    return renderLogin(req, reply, request, 200, prefill !== undefined ? { username: prefill } : {})
  })

  /** Password accepted: straight back to the app, or the TOTP step first. */
  function passwordAccepted(req: FastifyRequest, reply: FastifyReply, request: AuthorizeRequest, user: UserRecord): FastifyReply {
    if (user.totpSecret !== undefined) {
      const now = state.nowMs()
      for (const [k, v] of state.mfaSessions) if (v.expiresAt <= now) state.mfaSessions.delete(k)
      const session = randomBytes(32).toString('base64url')
      state.mfaSessions.set(session, { username: user.username, expiresAt: now + MFA_SESSION_TTL_MS, failures: 0 })
      return page(reply, 200, mfaPage(frame, { action: href(req, '/mfa'), csrf: csrfToken(req, reply), session, loginHref: href(req, '/login') }))
    }
    const authTime = startSession(reply, user.username)
    return reply.redirect(issueCode(request, user.username, authTime), 302)
  }

  app.post('/login', async (req, reply) => {
    const accepted = acceptForm(req, reply)
    if (!accepted) return reply
    const { request, form } = accepted
    const username = form['username'] ?? ''
    const user = state.signInUser(username)
    const rerender = (error: string, code: string, more: Partial<LoginPageInput> = {}): FastifyReply => {
      note(req, { error: code })
      return renderLogin(req, reply, request, 400, { error, username, ...more })
    }
    // Federated users have no password in the pool.
    if (!user || user.identities || !passwordMatches(user.password, form['password'] ?? '')) return rerender('Incorrect username or password.', 'NotAuthorizedException')
    if (!user.enabled) return rerender('User is disabled.', 'UserDisabled')
    if (!user.confirmed) {
      return rerender('User is not confirmed.', 'UserNotConfirmedException', { confirmHref: href(req, '/confirmUser', { username: state.loginName(user) }) })
    }
    return passwordAccepted(req, reply, request, user)
  })

  app.post('/mfa', async (req, reply) => {
    const accepted = acceptForm(req, reply)
    if (!accepted) return reply
    const { request, form } = accepted
    const id = form['session'] ?? ''
    const session = state.mfaSessions.get(id)
    const user = session ? state.user(session.username) : undefined
    if (!session || !user || session.expiresAt <= state.nowMs() || !user.enabled || user.totpSecret === undefined) {
      state.mfaSessions.delete(id)
      note(req, { error: 'NotAuthorizedException' })
      return renderLogin(req, reply, request, 400, { error: SESSION_EXPIRED })
    }
    const step = totpMatches(user.totpSecret, form['code'] ?? '', state.nowMs(), user.lastTotpStep)
    if (step === undefined) {
      session.failures += 1
      note(req, { error: 'CodeMismatchException' })
      if (session.failures >= CODE_ATTEMPTS) {
        state.mfaSessions.delete(id)
        return renderLogin(req, reply, request, 400, { error: SESSION_EXPIRED, username: state.loginName(user) })
      }
      const html = mfaPage(frame, { action: href(req, '/mfa'), csrf: csrfToken(req, reply), session: id, loginHref: href(req, '/login'), error: 'Invalid code or auth state for the user.' })
      return page(reply, 400, html)
    }
    state.mfaSessions.delete(id)
    user.lastTotpStep = step
    const authTime = startSession(reply, user.username)
    return reply.redirect(issueCode(request, user.username, authTime), 302)
  })

  registerAccountPages(app, state, kit)
  registerLocalPages(app, state, kit, connections)

  /** Local only: hide or show the demo-users hint (a cookie), then back to the sign-in page. */
  app.get('/_local/demo-hint', async (req, reply) => {
    const q = stringRecord(req.query)
    const next = q['next'] ?? ''
    // Only a path on this origin: never a way to send people elsewhere.
    if (!/^\/[A-Za-z]/.test(next)) return page(reply, 400, errorPage(frame, 'Bad next parameter.'))
    if (q['show'] === 'no') reply.setCookie(HINT_COOKIE, 'hidden', { path: '/', httpOnly: true, sameSite: 'lax', maxAge: 365 * 24 * 3600 })
    else reply.clearCookie(HINT_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' })
    return reply.redirect(next, 302)
  })

  app.get('/logout', async (req, reply) => {
    const q = stringRecord(req.query)
    const client = state.client(q['client_id'])
    const logoutUri = q['logout_uri']
    const redirectUri = q['redirect_uri']
    if (client && logoutUri !== undefined) {
      if (client.logoutUrls.includes(logoutUri)) {
        endSession(req, reply)
        return reply.redirect(logoutUri, 302)
      }
    } else if (client && redirectUri !== undefined && q['response_type'] && client.callbackUrls.includes(redirectUri)) {
      endSession(req, reply)
      const params = new URLSearchParams()
      for (const k of ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce']) {
        const v = q[k]
        if (v !== undefined) params.set(k, v)
      }
      return reply.redirect(`${state.origin}/login?${params.toString()}`, 302)
    }
    note(req, { error: 'invalid_logout_request' })
    return page(reply, 400, errorPage(frame, "Required String parameter 'redirect_uri' is not present"))
  })

  app.get('/error', async (req, reply) => {
    const q = stringRecord(req.query)
    return page(reply, 400, errorPage(frame, q['error']))
  })
}
