/**
 * Self-service pages of the hosted UI: /signup, /confirmUser (+ /resendcode), /forgotPassword and
 * /confirmforgotPassword, with the messages of Cognito's SignUp, ConfirmSignUp, ResendConfirmationCode,
 * ForgotPassword and ConfirmForgotPassword. The pool behaves as a new pool does by default: the email is verified
 * by code, and "prevent user existence errors" is on (an unknown user gets the same answers as a known one).
 */
import { randomBytes, randomInt } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { checkAuthorize, type AuthorizeRequest } from './authorize-request.js'
import type { HostedUiKit } from './hosted-ui.js'
import { note, stringRecord } from './http-util.js'
import { resetPasswordError, signUpPasswordError } from './password-policy.js'
import { confirmForgotPasswordPage, confirmPage, errorPage, forgotPasswordPage, signupPage } from './pages.js'
import {
  CODE_ATTEMPTS,
  CONFIRMATION_CODE_TTL_MS,
  RESET_CODE_TTL_MS,
  SIGNUP_SESSION_TTL_MS,
  cognitoStyleSub,
  type EmailedCode,
  type PoolState,
  type UserRecord,
} from './state.js'

/** Local only: ties a sign-up to the browser that made it, so that confirming there signs the person in. */
export const SIGNUP_COOKIE = 'local-cognito-signup'

const CODE_MISMATCH = 'Invalid verification code provided, please try again.'
const CODE_EXPIRED = 'Invalid code provided, please request a code again.'
const ATTEMPTS_EXCEEDED = 'Attempt limit exceeded, please try after some time.'

/** Cognito's masked delivery destination, e.g. `d***@e***.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@')
  if (at < 1) return '***'
  const domain = email.slice(at + 1)
  const dot = domain.lastIndexOf('.')
  const tld = dot > 0 ? domain.slice(dot) : ''
  return `${email[0]}***@${domain[0] ?? ''}***${tld}`
}

function sixDigits(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0')
}

type CodeCheck = 'ok' | 'mismatch' | 'expired' | 'exceeded'

/** Check an emailed code; wrong codes count, and the last allowed failure throws the code away. */
function checkCode(state: PoolState, codes: Map<string, EmailedCode>, key: string, given: string): CodeCheck {
  const rec = codes.get(key)
  if (!rec) return 'mismatch'
  if (rec.expiresAt <= state.nowMs()) {
    codes.delete(key)
    return 'expired'
  }
  if (rec.code !== given.trim()) {
    rec.failures += 1
    if (rec.failures >= CODE_ATTEMPTS) {
      codes.delete(key)
      return 'exceeded'
    }
    return 'mismatch'
  }
  codes.delete(key)
  return 'ok'
}

const CODE_MESSAGES: Record<Exclude<CodeCheck, 'ok'>, { message: string; error: string }> = {
  mismatch: { message: CODE_MISMATCH, error: 'CodeMismatchException' },
  expired: { message: CODE_EXPIRED, error: 'ExpiredCodeException' },
  exceeded: { message: ATTEMPTS_EXCEEDED, error: 'LimitExceededException' },
}

export function registerAccountPages(app: FastifyInstance, state: PoolState, kit: HostedUiKit): void {
  const { frame, page, href } = kit
  const emailPool = state.settings.signInWith === 'email'

  /** GET pages: the authorize parameters must be valid, as for /login. */
  function checked(req: FastifyRequest, reply: FastifyReply): AuthorizeRequest | undefined {
    return kit.answerCheck(req, reply, checkAuthorize(state, stringRecord(req.query)))
  }

  function sendConfirmationCode(user: UserRecord): void {
    const code = sixDigits()
    state.confirmationCodes.set(user.username.toLowerCase(), { code, expiresAt: state.nowMs() + CONFIRMATION_CODE_TTL_MS, failures: 0 })
    state.sendCode('confirmation', user, code)
  }

  const signUpRefused = (reply: FastifyReply): FastifyReply => page(reply, 400, errorPage(frame, 'SignUp is not permitted for this user pool'))

  function renderSignup(req: FastifyRequest, reply: FastifyReply, request: AuthorizeRequest, status: number, more: { error?: string; username?: string; email?: string } = {}): FastifyReply {
    const back = backOf(request)
    return page(reply, status, signupPage(frame, {
      action: href(req, '/signup'),
      csrf: kit.csrfToken(req, reply),
      askUsername: !emailPool,
      loginHref: href(req, '/login'),
      ...(back ? { back } : {}),
      ...more,
    }))
  }

  function backOf(request: AuthorizeRequest): { href: string; text: string } | undefined {
    try {
      const u = new URL(request.redirectUri)
      if (u.protocol === 'http:' || u.protocol === 'https:') return { href: `${u.origin}/`, text: `Back to ${state.settings.appName}` }
    } catch {
      // not a URL
    }
    return undefined
  }

  app.get('/signup', async (req, reply) => {
    const request = checked(req, reply)
    if (!request) return reply
    if (!state.settings.allowSignUp) return signUpRefused(reply)
    return renderSignup(req, reply, request, 200)
  })

  app.post('/signup', async (req, reply) => {
    const accepted = kit.acceptForm(req, reply)
    if (!accepted) return reply
    if (!state.settings.allowSignUp) return signUpRefused(reply)
    const { request, form } = accepted
    const email = (form['email'] ?? '').trim()
    const typedUsername = (form['username'] ?? '').trim()
    const password = form['password'] ?? ''
    const rerender = (error: string, code: string): FastifyReply => {
      note(req, { error: code })
      return renderSignup(req, reply, request, 400, { error, username: typedUsername, email })
    }
    if (!emailPool && !/^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u.test(typedUsername)) return rerender('Username is invalid.', 'InvalidParameterException')
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) return rerender('Invalid email address format.', 'InvalidParameterException')
    const policy = signUpPasswordError(password)
    if (policy) return rerender(policy, 'InvalidPasswordException')
    if (emailPool) {
      if (state.signInUser(email)) return rerender('An account with the given email already exists.', 'UsernameExistsException')
    } else if (state.user(typedUsername)) {
      return rerender('User already exists', 'UsernameExistsException')
    }
    const sub = cognitoStyleSub()
    // A self sign-up is UNCONFIRMED with an unverified email until the emailed code is entered.
    const user = state.addUser({ username: emailPool ? sub : typedUsername, sub, password, email, emailVerified: false, confirmed: false })
    sendConfirmationCode(user)
    const now = state.nowMs()
    for (const [k, v] of state.signupSessions) if (v.expiresAt <= now) state.signupSessions.delete(k)
    const id = randomBytes(32).toString('base64url')
    state.signupSessions.set(id, { username: user.username, expiresAt: now + SIGNUP_SESSION_TTL_MS })
    reply.setCookie(SIGNUP_COOKIE, id, { httpOnly: true, path: '/', sameSite: 'lax', maxAge: SIGNUP_SESSION_TTL_MS / 1000 })
    return reply.redirect(href(req, '/confirmUser', { username: state.loginName(user) }), 302)
  })

  function renderConfirm(req: FastifyRequest, reply: FastifyReply, status: number, typed: string, more: { error?: string; info?: string } = {}): FastifyReply {
    const user = state.signInUser(typed)
    const destination = user && !user.confirmed && user.email !== undefined ? maskEmail(user.email) : undefined
    return page(reply, status, confirmPage(frame, {
      action: href(req, '/confirmUser'),
      resendAction: href(req, '/resendcode'),
      csrf: kit.csrfToken(req, reply),
      username: typed,
      ...(destination ? { destination } : {}),
      mailboxHref: '/mailbox',
      loginHref: href(req, '/login'),
      ...more,
    }))
  }

  app.get('/confirmUser', async (req, reply) => {
    if (!checked(req, reply)) return reply
    return renderConfirm(req, reply, 200, stringRecord(req.query)['username'] ?? '')
  })

  app.post('/confirmUser', async (req, reply) => {
    const accepted = kit.acceptForm(req, reply)
    if (!accepted) return reply
    const { request, form } = accepted
    const typed = (form['username'] ?? '').trim()
    const user = state.signInUser(typed)
    const fail = (message: string, error: string): FastifyReply => {
      note(req, { error })
      return renderConfirm(req, reply, 400, typed, { error: message })
    }
    if (!user || user.identities) return fail(CODE_MISMATCH, 'CodeMismatchException')
    if (user.confirmed) return fail('User cannot be confirmed. Current status is CONFIRMED', 'NotAuthorizedException')
    const result = checkCode(state, state.confirmationCodes, user.username.toLowerCase(), form['code'] ?? '')
    if (result !== 'ok') return fail(CODE_MESSAGES[result].message, CODE_MESSAGES[result].error)
    user.confirmed = true
    user.emailVerified = true
    // Managed login continues to the app after the confirmation; only in the browser that signed up (the
    // sign-up cookie), since a code alone must not be a way to sign in as someone.
    const signupId = req.cookies[SIGNUP_COOKIE]
    const signup = signupId ? state.signupSessions.get(signupId) : undefined
    if (signupId && signup && signup.username === user.username && signup.expiresAt > state.nowMs() && user.enabled) {
      state.signupSessions.delete(signupId)
      reply.clearCookie(SIGNUP_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' })
      const authTime = kit.startSession(reply, user.username)
      return reply.redirect(kit.issueCode(request, user.username, authTime), 302)
    }
    return kit.renderLogin(req, reply, request, 200, { info: 'Your account is confirmed. Sign in to continue.', username: state.loginName(user) })
  })

  app.post('/resendcode', async (req, reply) => {
    const accepted = kit.acceptForm(req, reply)
    if (!accepted) return reply
    const typed = (accepted.form['username'] ?? '').trim()
    const user = state.signInUser(typed)
    if (user && !user.identities && user.confirmed) {
      note(req, { error: 'InvalidParameterException' })
      return renderConfirm(req, reply, 400, typed, { error: 'User is already confirmed.' })
    }
    // An unknown user gets the same answer and no message is sent (prevent user existence errors).
    if (user && !user.identities) sendConfirmationCode(user)
    return renderConfirm(req, reply, 200, typed, { info: 'We have sent you a new code.' })
  })

  function renderForgot(req: FastifyRequest, reply: FastifyReply, status: number, more: { error?: string; username?: string } = {}): FastifyReply {
    return page(reply, status, forgotPasswordPage(frame, {
      action: href(req, '/forgotPassword'),
      csrf: kit.csrfToken(req, reply),
      usernameLabel: emailPool ? 'Email address' : 'Username or email',
      loginHref: href(req, '/login'),
      ...more,
    }))
  }

  app.get('/forgotPassword', async (req, reply) => {
    if (!checked(req, reply)) return reply
    const prefill = stringRecord(req.query)['username']
    return renderForgot(req, reply, 200, prefill !== undefined ? { username: prefill } : {})
  })

  /** By username, or by email (an email alias: only a verified email finds its user, as in Cognito). */
  function userForReset(typed: string): UserRecord | undefined {
    const byName = state.signInUser(typed)
    if (byName) return byName
    const wanted = typed.toLowerCase()
    return state.allUsers().find((u) => u.email !== undefined && u.emailVerified && u.email.toLowerCase() === wanted && !u.identities)
  }

  app.post('/forgotPassword', async (req, reply) => {
    const accepted = kit.acceptForm(req, reply)
    if (!accepted) return reply
    const typed = (accepted.form['username'] ?? '').trim()
    if (typed === '') return renderForgot(req, reply, 400, { error: 'Username cannot be empty' })
    const user = userForReset(typed)
    if (user && !user.identities) {
      if (!user.emailVerified || user.email === undefined) {
        note(req, { error: 'InvalidParameterException' })
        return renderForgot(req, reply, 400, { username: typed, error: 'Cannot reset password for the user as there is no registered/verified email or phone_number' })
      }
      const code = sixDigits()
      state.resetCodes.set(user.username.toLowerCase(), { code, expiresAt: state.nowMs() + RESET_CODE_TTL_MS, failures: 0 })
      state.sendCode('password-reset', user, code)
    }
    return reply.redirect(href(req, '/confirmforgotPassword', { username: typed }), 302)
  })

  function renderConfirmForgot(req: FastifyRequest, reply: FastifyReply, status: number, typed: string, error?: string): FastifyReply {
    const user = userForReset(typed)
    const destination = user && state.resetCodes.has(user.username.toLowerCase()) && user.email !== undefined ? maskEmail(user.email) : undefined
    return page(reply, status, confirmForgotPasswordPage(frame, {
      action: href(req, '/confirmforgotPassword'),
      csrf: kit.csrfToken(req, reply),
      username: typed,
      ...(destination ? { destination } : {}),
      ...(error ? { error } : {}),
      mailboxHref: '/mailbox',
      loginHref: href(req, '/login'),
      forgotHref: href(req, '/forgotPassword', { username: typed }),
    }))
  }

  app.get('/confirmforgotPassword', async (req, reply) => {
    if (!checked(req, reply)) return reply
    return renderConfirmForgot(req, reply, 200, stringRecord(req.query)['username'] ?? '')
  })

  app.post('/confirmforgotPassword', async (req, reply) => {
    const accepted = kit.acceptForm(req, reply)
    if (!accepted) return reply
    const { request, form } = accepted
    const typed = (form['username'] ?? '').trim()
    const password = form['password'] ?? ''
    const fail = (message: string, error: string): FastifyReply => {
      note(req, { error })
      return renderConfirmForgot(req, reply, 400, typed, message)
    }
    const policy = resetPasswordError(password)
    if (policy) return fail(policy, 'InvalidPasswordException')
    const user = userForReset(typed)
    if (!user || user.identities) return fail(CODE_MISMATCH, 'CodeMismatchException')
    const result = checkCode(state, state.resetCodes, user.username.toLowerCase(), form['code'] ?? '')
    if (result !== 'ok') return fail(CODE_MESSAGES[result].message, CODE_MESSAGES[result].error)
    user.password = password
    return kit.renderLogin(req, reply, request, 200, { info: 'Your password has been reset. Sign in with your new password.', username: state.loginName(user) })
  })
}
