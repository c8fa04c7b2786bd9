/**
 * The sign-in component's error types, and what each means to a person (describeAuthError): the host
 * app's error handler decides how that looks. Messages never carry a token or a code.
 */

export type CognitoErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'too-large'
  | 'bad-response'
  | 'invalid-response'
  | 'invalid-grant'
  /** A refresh answered with an ID token for another subject or issuer: the session must end (OIDC-21). */
  | 'identity-changed'
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

export type SignInErrorKind = 'refused' | 'missing-transaction' | 'state-mismatch' | 'missing-code' | 'unknown-provider' | 'not-reauthenticated'

/**
 * Cognito's discovery document could not be loaded (not yet, or not now): sign-in is not available
 * until it is. Keeps the underlying failure's kind. Never cached: the next request tries again.
 */
export class DiscoveryUnavailableError extends CognitoError {
  constructor(cause: CognitoError) {
    super(cause.kind, `discovery failed: ${cause.message}`)
    this.name = 'DiscoveryUnavailableError'
  }
}

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

/** The error and its causes, outermost first (at most eight). */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = []
  for (let current = error; current && chain.length < 8; current = (current as { cause?: unknown }).cause) chain.push(current)
  return chain
}

/** A CognitoError, or a timeout (an abort), anywhere in the error's cause chain. */
export function cognitoErrorInChain(error: unknown): CognitoError | undefined {
  for (const link of causeChain(error)) {
    if (link instanceof CognitoError) return link
    const name = (link as { name?: string }).name
    if (name === 'TimeoutError' || name === 'AbortError') return new CognitoError('timeout', 'Cognito did not answer in time')
  }
  return undefined
}

/**
 * A failed request to Cognito as a CognitoError: timeout (an abort anywhere in the cause chain),
 * a CognitoError already made, or unreachable. Never carries the request's body or headers.
 */
export function networkError(error: unknown): CognitoError {
  const known = cognitoErrorInChain(error)
  if (known) return known
  // fetch's own "fetch failed" says nothing; its cause says what and where ("connect ECONNREFUSED
  // 127.0.0.1:9099", "getaddrinfo ENOTFOUND …"): addresses and error codes only, never a body.
  const cause = causeChain(error).slice(1).at(-1) as { message?: unknown } | undefined
  const detail = typeof cause?.message === 'string' && cause.message !== '' ? `: ${cause.message.slice(0, 200)}` : ''
  if (error instanceof TypeError) return new CognitoError('unreachable', `Cognito could not be reached${detail}`)
  return new CognitoError('unreachable', error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error')
}

export interface Action {
  readonly href: string
  readonly label: string
}

/** What a person is told about an error: a status, a title, a plain explanation and a way forward. */
export interface ErrorDescription {
  readonly statusCode: number
  readonly title: string
  readonly message: string
  readonly action: Action
  /** True when the cause is on our or Cognito's side and deserves an error-level log line. */
  readonly serverFault: boolean
  /** For a passing outage (503): when to try again, sent as `Retry-After` (seconds). */
  readonly retryAfterSeconds?: number
}

/** `Retry-After` of a 503 for a passing outage (Cognito's discovery, the session store, a renewal). */
export const RETRY_AFTER_SECONDS = 10

export const HOME: Action = { href: '/', label: 'Go to the home page' }
/** Reloads the page that failed (an empty href is the current URL). */
export const RELOAD: Action = { href: '', label: 'Try again' }

export function describe(statusCode: number, title: string, message: string, action: Action = HOME): ErrorDescription {
  return { statusCode, title, message, action, serverFault: statusCode >= 500 }
}

/** A short, printable excerpt of what Cognito said (it may come from a Lambda trigger); escaped by the view. */
function excerpt(text: string | undefined): string {
  if (!text) return ''
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean
}

/**
 * What a sign-in error means to a person, or undefined when `error` is not one of the component's.
 * `loginPath` is where "Try again" starts a new sign-in.
 */
export function describeAuthError(error: unknown, loginPath: string): ErrorDescription | undefined {
  const tryAgain: Action = { href: loginPath, label: 'Try again' }
  if (error instanceof SignInError) {
    switch (error.kind) {
      case 'refused': {
        if (error.oauthError === 'access_denied') {
          return describe(403, 'Sign-in was cancelled', 'Cognito did not sign you in: the sign-in was cancelled or refused. You can try again.', tryAgain)
        }
        const detail = excerpt(error.oauthDescription)
        return describe(
          400,
          'Sign-in was refused',
          `Cognito could not sign you in (${error.oauthError ?? 'error'}${detail ? `: ${detail}` : ''}). You can try again.`,
          tryAgain,
        )
      }
      case 'missing-transaction':
        return describe(
          400,
          'Your sign-in attempt has expired',
          'We could not find the sign-in you started: it expired, was already completed, or was started in another browser. Please start again.',
          tryAgain,
        )
      case 'state-mismatch':
        return describe(
          400,
          'This sign-in does not match',
          'The answer from Cognito does not belong to the sign-in started in this browser (perhaps another tab started a newer one). Please start again.',
          tryAgain,
        )
      case 'unknown-provider':
        return describe(400, 'Unknown sign-in option', 'This site does not offer that way of signing in. Choose one of the options on the home page.')
      case 'missing-code':
        return describe(400, 'Sign-in answer incomplete', 'Cognito sent us back without a sign-in code. Please start again.', tryAgain)
      case 'not-reauthenticated':
        return describe(
          401,
          'Your sign-in was not confirmed',
          'Cognito let you through without asking for your password again, so this does not count as signing in again. You are still signed in as before; nothing was changed. Please try again.',
          { href: '/', label: 'Go to the home page' },
        )
    }
  }
  if (error instanceof DiscoveryUnavailableError) {
    return {
      ...describe(503, 'Cognito could not be reached', 'Sign-in is not available right now: the sign-in service cannot be reached. Please try again in a moment.', tryAgain),
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }
  }
  if (error instanceof CognitoError) {
    switch (error.kind) {
      case 'invalid-grant':
        return describe(400, 'Your sign-in has expired', 'The sign-in code was already used or has expired. Please sign in again.', tryAgain)
      case 'timeout':
        return describe(504, 'Cognito is not answering', 'The sign-in service took too long to answer. Please try again in a moment.', tryAgain)
      case 'unreachable':
        return describe(502, 'Cognito could not be reached', 'The sign-in service cannot be reached right now. Please try again in a moment.', tryAgain)
      case 'client-rejected':
        return describe(
          502,
          'Sign-in is misconfigured',
          'Cognito refused this application’s credentials. The site’s administrator needs to check the app client settings.',
        )
      default:
        return describe(
          502,
          'Cognito gave an unexpected answer',
          'The answer from the sign-in service could not be verified, so you were not signed in. Please try again.',
          tryAgain,
        )
    }
  }
  if (error instanceof SessionEndedError) {
    return describe(
      401,
      'Your session has ended',
      'Your sign-in is no longer valid (it was signed out elsewhere, expired, or the account was disabled). Please sign in again.',
      { href: `${loginPath}?returnTo=${encodeURIComponent(error.returnTo)}`, label: 'Sign in again' },
    )
  }
  if (error instanceof SessionRenewalError) {
    return {
      ...describe(
        503,
        'Cognito cannot be reached',
        'Your session needs to be renewed, but the sign-in service is not answering. Nothing is lost: please try again in a moment.',
        RELOAD,
      ),
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    }
  }
  return undefined
}
