/** Hosted UI on the pool domain: /oauth2/authorize, /login, /signup, /logout, /error. */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { checkAuthorize, type AuthorizeCheck, type AuthorizeRequest } from './authorize-request.js'
import { note, rawQuery, sendHtml, stringRecord, withParams } from './http-util.js'
import { registerFederated } from './federated.js'
import { errorPage, forbiddenPage, loginPage, signupPage } from './pages.js'
import { CODE_TTL_MS, SESSION_TTL_MS, type PoolState } from './state.js'

export const SESSION_COOKIE = 'cognito'
export const CSRF_COOKIE = 'XSRF-TOKEN'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function registerHostedUi(app: FastifyInstance, state: PoolState): void {
  /** Answer a failed check; returns the request when the check passed. */
  function answerCheck(req: FastifyRequest, reply: FastifyReply, check: AuthorizeCheck): AuthorizeRequest | undefined {
    if (check.kind === 'ok') return check.request
    note(req, { error: check.error })
    if (check.kind === 'page') void sendHtml(reply, check.status, errorPage(check.detail))
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

  const federated = registerFederated(app, state, {
    answerCheck,
    issueCode,
    startSession,
    currentSession: (req) => state.session(req.cookies[SESSION_COOKIE]),
    csrfToken,
    csrfValid,
  })

  app.get('/oauth2/authorize', async (req, reply) => {
    const q = stringRecord(req.query)
    const request = answerCheck(req, reply, checkAuthorize(state, q))
    if (!request) return reply
    const prompt = (q['prompt'] ?? '').split(' ')
    if (request.identityProvider !== undefined) return federated.begin(req, reply, q, request, prompt)
    const session = prompt.includes('login') ? undefined : state.session(req.cookies[SESSION_COOKIE])
    if (session) return reply.redirect(issueCode(request, session.username, session.authTime), 302)
    if (prompt.includes('none')) {
      note(req, { error: 'login_required' })
      return reply.redirect(withParams(request.redirectUri, { error: 'login_required', state: request.state }), 302)
    }
    return reply.redirect(`${state.origin}/login?${rawQuery(req)}`, 302)
  })

  const loginAction = (req: FastifyRequest): string => `/login?${rawQuery(req)}`
  const signupHref = (req: FastifyRequest): string => `/signup?${rawQuery(req)}`

  app.get('/login', async (req, reply) => {
    const q = stringRecord(req.query)
    if (!answerCheck(req, reply, checkAuthorize(state, q))) return reply
    const html = loginPage({
      action: loginAction(req),
      signupHref: signupHref(req),
      csrf: csrfToken(req, reply),
      ...(q['login_hint'] !== undefined ? { username: q['login_hint'] } : {}),
    })
    return sendHtml(reply, 200, html)
  })

  /** A posted hosted-UI form: the authorize request re-checked and the CSRF field verified; null once answered. */
  function acceptForm(req: FastifyRequest, reply: FastifyReply) {
    const request = answerCheck(req, reply, checkAuthorize(state, stringRecord(req.query)))
    if (!request) return null
    const form = stringRecord(req.body)
    if (!csrfValid(req, form)) {
      note(req, { error: 'csrf' })
      sendHtml(reply, 403, forbiddenPage())
      return null
    }
    return { request, form }
  }

  app.post('/login', async (req, reply) => {
    const accepted = acceptForm(req, reply)
    if (!accepted) return reply
    const { request, form } = accepted
    const username = form['username'] ?? ''
    const user = state.user(username)
    const rerender = (error: string, code: string): FastifyReply => {
      note(req, { error: code })
      return sendHtml(reply, 400, loginPage({ action: loginAction(req), signupHref: signupHref(req), csrf: csrfToken(req, reply), error, username }))
    }
    // Federated users have no password in the pool.
    if (!user || user.identities || !passwordMatches(user.password, form['password'] ?? '')) return rerender('Incorrect username or password.', 'NotAuthorizedException')
    if (!user.enabled) return rerender('User is disabled.', 'UserDisabled')
    const authTime = startSession(reply, user.username)
    return reply.redirect(issueCode(request, user.username, authTime), 302)
  })

  const loginHref = (req: FastifyRequest): string => `/login?${rawQuery(req)}`
  const signupAction = (req: FastifyRequest): string => `/signup?${rawQuery(req)}`

  app.get('/signup', async (req, reply) => {
    if (!answerCheck(req, reply, checkAuthorize(state, stringRecord(req.query)))) return reply
    return sendHtml(reply, 200, signupPage({ action: signupAction(req), loginHref: loginHref(req), csrf: csrfToken(req, reply) }))
  })

  app.post('/signup', async (req, reply) => {
    const accepted = acceptForm(req, reply)
    if (!accepted) return reply
    const { request, form } = accepted
    const username = (form['username'] ?? '').trim()
    const email = (form['email'] ?? '').trim()
    const password = form['password'] ?? ''
    const rerender = (error: string, code: string): FastifyReply => {
      note(req, { error: code })
      return sendHtml(reply, 400, signupPage({ action: signupAction(req), loginHref: loginHref(req), csrf: csrfToken(req, reply), error, username, email }))
    }
    if (!/^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u.test(username)) return rerender('Username is invalid.', 'InvalidParameterException')
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) return rerender('Invalid email address format.', 'InvalidParameterException')
    if (password.length < 8) return rerender('Password did not conform with policy: Password not long enough', 'InvalidPasswordException')
    if (state.user(username)) return rerender('User already exists', 'UsernameExistsException')
    const user = state.addUser({ username, password, email, emailVerified: false })
    const authTime = startSession(reply, user.username)
    return reply.redirect(issueCode(request, user.username, authTime), 302)
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
    return sendHtml(reply, 400, errorPage("Required String parameter 'redirect_uri' is not present"))
  })

  app.get('/error', async (req, reply) => {
    const q = stringRecord(req.query)
    return sendHtml(reply, 400, errorPage(q['error']))
  })
}
