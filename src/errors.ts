/** Typed errors and the one mapping from any error to what a person is shown. Pure. */
import { SessionStoreUnavailableError } from './session-stores/types.js'


export type CognitoErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'too-large'
  | 'bad-response'
  | 'invalid-response'
  | 'invalid-grant'
  | 'client-rejected'
  | 'error-response'

/** Something went wrong between the app and Cognito. The message never carries a token or code. */
export class CognitoError extends Error {
  constructor(
    readonly kind: CognitoErrorKind,
    message: string,
  ) {
    super(message)
    this.name = 'CognitoError'
  }
}

export type SignInErrorKind = 'refused' | 'missing-transaction' | 'state-mismatch' | 'missing-code' | 'unknown-provider'

/** The sign-in attempt itself cannot go on (user's side: 4xx). */
export class SignInError extends Error {
  constructor(
    readonly kind: SignInErrorKind,
    readonly oauthError?: string,
    readonly oauthDescription?: string,
  ) {
    super(oauthError ? `sign-in ${kind}: ${oauthError}` : `sign-in ${kind}`)
    this.name = 'SignInError'
  }
}

/** The session store (e.g. Redis) does not answer: the stores' own error, used app-wide. */
export { SessionStoreUnavailableError }

/** Cognito refused to renew the session (refresh token revoked or expired, user disabled). */
export class SessionEndedError extends Error {
  constructor(readonly returnTo: string) {
    super('session ended by Cognito')
    this.name = 'SessionEndedError'
  }
}

/** The access token has expired and Cognito cannot be reached to renew it. */
export class SessionRenewalError extends Error {
  constructor() {
    super('session could not be renewed: Cognito unavailable')
    this.name = 'SessionRenewalError'
  }
}

export interface Action {
  readonly href: string
  readonly label: string
}

/** What the error page shows. */
export interface ErrorPage {
  readonly statusCode: number
  readonly title: string
  readonly message: string
  readonly action: Action
  /** True when the cause is on our or Cognito's side and deserves an error-level log line. */
  readonly serverFault: boolean
}

const HOME: Action = { href: '/', label: 'Go to the home page' }
const TRY_AGAIN: Action = { href: '/login', label: 'Try again' }
/** Reloads the page that failed (an empty href is the current URL). */
const RELOAD: Action = { href: '', label: 'Try again' }

function page(statusCode: number, title: string, message: string, action: Action = HOME): ErrorPage {
  return { statusCode, title, message, action, serverFault: statusCode >= 500 }
}

/** A short, printable excerpt of what Cognito said (it may come from a Lambda trigger); escaped by the view. */
function excerpt(text: string | undefined): string {
  if (!text) return ''
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean
}

export function notFoundPage(): ErrorPage {
  return page(404, 'Page not found', 'There is no page at this address. Check the link, or start again from the home page.')
}

/** Maps any error to the page a person sees: a plain explanation and a way forward, never a stack trace. */
export function toErrorPage(error: unknown): ErrorPage {
  if (error instanceof SignInError) {
    switch (error.kind) {
      case 'refused': {
        if (error.oauthError === 'access_denied') {
          return page(403, 'Sign-in was cancelled', 'Cognito did not sign you in: the sign-in was cancelled or refused. You can try again.', TRY_AGAIN)
        }
        const detail = excerpt(error.oauthDescription)
        return page(
          400,
          'Sign-in was refused',
          `Cognito could not sign you in (${error.oauthError ?? 'error'}${detail ? `: ${detail}` : ''}). You can try again.`,
          TRY_AGAIN,
        )
      }
      case 'missing-transaction':
        return page(
          400,
          'Your sign-in attempt has expired',
          'We could not find the sign-in you started: it expired, was already completed, or was started in another browser. Please start again.',
          TRY_AGAIN,
        )
      case 'state-mismatch':
        return page(
          400,
          'This sign-in does not match',
          'The answer from Cognito does not belong to the sign-in started in this browser (perhaps another tab started a newer one). Please start again.',
          TRY_AGAIN,
        )
      case 'unknown-provider':
        return page(400, 'Unknown sign-in option', 'This site does not offer that way of signing in. Choose one of the options on the home page.')
      case 'missing-code':
        return page(400, 'Sign-in answer incomplete', 'Cognito sent us back without a sign-in code. Please start again.', TRY_AGAIN)
    }
  }
  if (error instanceof CognitoError) {
    switch (error.kind) {
      case 'invalid-grant':
        return page(
          400,
          'Your sign-in has expired',
          'The sign-in code was already used or has expired. Please sign in again.',
          TRY_AGAIN,
        )
      case 'timeout':
        return page(504, 'Cognito is not answering', 'The sign-in service took too long to answer. Please try again in a moment.', TRY_AGAIN)
      case 'unreachable':
        return page(502, 'Cognito could not be reached', 'The sign-in service cannot be reached right now. Please try again in a moment.', TRY_AGAIN)
      case 'client-rejected':
        return page(
          502,
          'Sign-in is misconfigured',
          'Cognito refused this application’s credentials. The site’s administrator needs to check the app client settings.',
          HOME,
        )
      default:
        return page(
          502,
          'Cognito gave an unexpected answer',
          'The answer from the sign-in service could not be verified, so you were not signed in. Please try again.',
          TRY_AGAIN,
        )
    }
  }
  if (error instanceof SessionEndedError) {
    return page(
      401,
      'Your session has ended',
      'Your sign-in is no longer valid (it was signed out elsewhere, expired, or the account was disabled). Please sign in again.',
      { href: `/login?returnTo=${encodeURIComponent(error.returnTo)}`, label: 'Sign in again' },
    )
  }
  if (error instanceof SessionRenewalError) {
    return page(
      503,
      'Cognito cannot be reached',
      'Your session needs to be renewed, but the sign-in service is not answering. Nothing is lost: please try again in a moment.',
      RELOAD,
    )
  }
  if (error instanceof SessionStoreUnavailableError) {
    return page(
      503,
      'Temporarily unavailable',
      'Your session cannot be read right now. Nothing is lost: please try again in a moment.',
      RELOAD,
    )
  }
  const code = (error as { code?: unknown })?.code
  const statusCode = (error as { statusCode?: unknown })?.statusCode
  if (typeof code === 'string' && code.startsWith('FST_CSRF_')) {
    return page(
      403,
      'This form has expired',
      'For your safety the request was refused: it did not come from a page of this site, or the page was too old. Go back, reload the page and try again.',
    )
  }
  if (statusCode === 429) {
    return page(429, 'Too many attempts', 'You have made too many requests in a short time. Please wait a minute and try again.')
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    if (statusCode === 404) return notFoundPage()
    return page(statusCode, 'Bad request', 'The request could not be understood. Please go back and try again.')
  }
  return page(500, 'Something went wrong', 'An unexpected error happened on our side. Please try again; if it keeps happening, contact the site’s administrator.')
}
