/**
 * HTML pages of the emulated hosted UI, in the manner of Cognito's managed login: a centred card with the app's
 * name, one stylesheet from this origin, no inline script or style. Every dynamic value goes through escapeHtml.
 */
import { POLICY_REQUIREMENTS } from './password-policy.js'
import { STYLESHEET_PATH } from './stylesheet.js'

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

const e = escapeHtml

/** What every page shows around its card. */
export interface PageFrame {
  /** The app's name at the top of the card. */
  appName: string
}

export interface Link {
  href: string
  text: string
  id?: string
}

function layout(frame: PageFrame, title: string, body: string, { wide = false } = {}): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${e(title)}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main class="lc-page">
<div class="lc-card${wide ? ' lc-wide' : ''}">
<p class="lc-brand">${e(frame.appName)}</p>
${body}
</div>
<p class="lc-local">Local Cognito: a development stand-in for Amazon Cognito.</p>
</main>
</body>
</html>
`
}

function alert(id: string, message: string | undefined): string {
  return message ? `<p class="lc-alert" id="${id}" role="alert">${e(message)}</p>\n` : ''
}

function info(id: string, message: string | undefined): string {
  return message ? `<p class="lc-alert lc-info" id="${id}" role="status">${e(message)}</p>\n` : ''
}

function csrfField(csrf: string): string {
  return `<input type="hidden" name="_csrf" value="${e(csrf)}">`
}

function links(items: Array<Link | undefined>): string {
  const present = items.filter((l): l is Link => l !== undefined)
  if (present.length === 0) return ''
  const li = present.map((l) => `<li><a href="${e(l.href)}"${l.id ? ` id="${e(l.id)}"` : ''}>${e(l.text)}</a></li>`)
  return `<ul class="lc-links">\n${li.join('\n')}\n</ul>`
}

function policyList(id: string): string {
  return `<p class="lc-help" id="${id}Intro">Your password must have:</p>
<ul class="lc-policy" id="${id}">
${POLICY_REQUIREMENTS.map((r) => `<li>${e(r)}</li>`).join('\n')}
</ul>`
}

/** The local-only hint listing the demo users, each a link that reloads the form with the username filled. */
export interface DemoHint {
  users: Array<{ login: string; password: string; description?: string; href: string }>
  /** Link that hides the hint for this browser (a cookie), back to this page. */
  hideHref: string
}

function demoHint(hint: DemoHint | undefined): string {
  if (!hint || hint.users.length === 0) return ''
  const items = hint.users.map(
    (u) =>
      `<li><a href="${e(u.href)}" class="lc-fill">${e(u.login)}</a> · password <code>${e(u.password)}</code>${u.description ? ` <span class="lc-help">${e(u.description)}</span>` : ''}</li>`,
  )
  return `<details class="lc-hint" id="demoUsersHint" open>
<summary>Demo users (this local Cognito only)</summary>
<p>Choose one to fill in the sign-in name, then type its password.</p>
<ul>
${items.join('\n')}
</ul>
<p><a href="${e(hint.hideHref)}" id="hideDemoHint">Hide this hint</a></p>
</details>
`
}

export interface LoginPageInput {
  action: string
  csrf: string
  error?: string
  info?: string
  username?: string
  /** 'Username' or, in an email sign-in pool, 'Email address' */
  usernameLabel: string
  usernameType: 'text' | 'email'
  forgotHref: string
  /** absent when the pool allows no self sign-up */
  signupHref?: string
  back?: Link
  hint?: DemoHint
  /** when the hint is hidden: a link that shows it again */
  showHintHref?: string
  /** a link to confirm the account, after "User is not confirmed." */
  confirmHref?: string
}

export function loginPage(frame: PageFrame, p: LoginPageInput): string {
  const confirm = p.confirmHref ? `<p><a href="${e(p.confirmHref)}" id="confirmAccountLink">Confirm your account</a></p>\n` : ''
  return layout(frame, 'Sign in', `<h1>Sign in</h1>
${alert('loginErrorMessage', p.error)}${confirm}${info('loginInfoMessage', p.info)}${demoHint(p.hint)}<form method="post" action="${e(p.action)}" name="cognitoSignInForm">
${csrfField(p.csrf)}
<label for="signInFormUsername">${e(p.usernameLabel)}</label>
<input id="signInFormUsername" name="username" type="${p.usernameType}" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${e(p.username ?? '')}">
<label for="signInFormPassword">Password</label>
<input id="signInFormPassword" name="password" type="password" autocomplete="current-password" required>
<button id="signInSubmitButton" name="signInSubmitButton" type="submit" class="lc-primary">Sign in</button>
</form>
${links([
  { href: p.forgotHref, text: 'Forgot your password?', id: 'forgotPasswordLink' },
  p.signupHref ? { href: p.signupHref, text: 'Create an account', id: 'signUpLink' } : undefined,
  p.showHintHref ? { href: p.showHintHref, text: 'Show the demo users', id: 'showDemoHint' } : undefined,
  p.back ? { ...p.back, id: 'backToAppLink' } : undefined,
])}`)
}

export interface SignupPageInput {
  action: string
  csrf: string
  error?: string
  username?: string
  email?: string
  /** false in an email sign-in pool (the email is the sign-in name) */
  askUsername: boolean
  loginHref: string
  back?: Link
}

export function signupPage(frame: PageFrame, p: SignupPageInput): string {
  const username = p.askUsername
    ? `<label for="signUpFormUsername">Username</label>
<input id="signUpFormUsername" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${e(p.username ?? '')}">
`
    : ''
  return layout(frame, 'Sign up', `<h1>Sign up</h1>
${alert('signupErrorMessage', p.error)}<form method="post" action="${e(p.action)}" name="cognitoSignUpForm">
${csrfField(p.csrf)}
${username}<label for="signUpFormEmail">Email address</label>
<input id="signUpFormEmail" name="email" type="email" autocomplete="email" autocapitalize="none" spellcheck="false" required value="${e(p.email ?? '')}">
<label for="signUpFormPassword">Password</label>
<input id="signUpFormPassword" name="password" type="password" autocomplete="new-password" required aria-describedby="passwordPolicyIntro passwordPolicy">
${policyList('passwordPolicy')}
<button id="signUpButton" name="signUpButton" type="submit" class="lc-primary">Sign up</button>
</form>
${links([{ href: p.loginHref, text: 'Already have an account? Sign in', id: 'signInLink' }, p.back ? { ...p.back, id: 'backToAppLink' } : undefined])}`)
}

export interface ConfirmPageInput {
  action: string
  resendAction: string
  csrf: string
  username: string
  /** masked, e.g. d***@e***.com; absent when the user is unknown */
  destination?: string
  error?: string
  info?: string
  mailboxHref: string
  loginHref: string
}

export function confirmPage(frame: PageFrame, p: ConfirmPageInput): string {
  const sent = p.destination
    ? `We have sent a code by email to <strong>${e(p.destination)}</strong>. Enter it below to confirm your account.`
    : 'Enter the code we sent you to confirm your account.'
  return layout(frame, 'Confirm account', `<h1>Confirm account</h1>
${alert('confirmErrorMessage', p.error)}${info('confirmInfoMessage', p.info)}<p id="codeDeliveryMessage">${sent}</p>
<form method="post" action="${e(p.action)}" name="cognitoConfirmForm">
${csrfField(p.csrf)}
<input type="hidden" name="username" value="${e(p.username)}">
<label for="confirmFormCode">Verification code</label>
<input id="confirmFormCode" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" required class="lc-code" aria-describedby="confirmCodeHelp">
<p class="lc-help" id="confirmCodeHelp">Six digits. On this local Cognito the code is printed in its terminal and shown on the <a href="${e(p.mailboxHref)}">mailbox page</a>.</p>
<button id="confirmButton" type="submit" class="lc-primary">Confirm account</button>
</form>
<form method="post" action="${e(p.resendAction)}" name="cognitoResendForm">
${csrfField(p.csrf)}
<input type="hidden" name="username" value="${e(p.username)}">
<button id="resendCodeButton" type="submit" class="lc-secondary">Resend code</button>
</form>
${links([{ href: p.loginHref, text: 'Back to sign in', id: 'signInLink' }])}`)
}

export interface ForgotPageInput {
  action: string
  csrf: string
  error?: string
  username?: string
  usernameLabel: string
  loginHref: string
}

export function forgotPasswordPage(frame: PageFrame, p: ForgotPageInput): string {
  return layout(frame, 'Forgot password', `<h1>Forgot your password?</h1>
${alert('forgotErrorMessage', p.error)}<p>Enter your ${e(p.usernameLabel.toLowerCase())} and we will send you a code to reset your password.</p>
<form method="post" action="${e(p.action)}" name="cognitoForgotPasswordForm">
${csrfField(p.csrf)}
<label for="forgotFormUsername">${e(p.usernameLabel)}</label>
<input id="forgotFormUsername" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${e(p.username ?? '')}">
<button id="resetPasswordButton" type="submit" class="lc-primary">Reset my password</button>
</form>
${links([{ href: p.loginHref, text: 'Back to sign in', id: 'signInLink' }])}`)
}

export interface ConfirmForgotPageInput {
  action: string
  csrf: string
  username: string
  destination?: string
  error?: string
  mailboxHref: string
  loginHref: string
  forgotHref: string
}

export function confirmForgotPasswordPage(frame: PageFrame, p: ConfirmForgotPageInput): string {
  const sent = p.destination
    ? `We have sent a password reset code by email to <strong>${e(p.destination)}</strong>. Enter it below to reset your password.`
    : 'If the account exists, we have sent a password reset code to its email address. Enter it below to reset your password.'
  return layout(frame, 'Reset password', `<h1>Reset your password</h1>
${alert('confirmForgotErrorMessage', p.error)}<p id="codeDeliveryMessage">${sent}</p>
<form method="post" action="${e(p.action)}" name="cognitoConfirmForgotPasswordForm">
${csrfField(p.csrf)}
<input type="hidden" name="username" value="${e(p.username)}">
<label for="forgotFormCode">Code</label>
<input id="forgotFormCode" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" required class="lc-code" aria-describedby="forgotCodeHelp">
<p class="lc-help" id="forgotCodeHelp">On this local Cognito the code is printed in its terminal and shown on the <a href="${e(p.mailboxHref)}">mailbox page</a>.</p>
<label for="forgotFormPassword">New password</label>
<input id="forgotFormPassword" name="password" type="password" autocomplete="new-password" required aria-describedby="newPasswordPolicyIntro newPasswordPolicy">
${policyList('newPasswordPolicy')}
<button id="changePasswordButton" type="submit" class="lc-primary">Reset password</button>
</form>
${links([{ href: p.forgotHref, text: 'Send a new code', id: 'newCodeLink' }, { href: p.loginHref, text: 'Back to sign in', id: 'signInLink' }])}`)
}

export interface MfaPageInput {
  action: string
  csrf: string
  session: string
  error?: string
  loginHref: string
}

export function mfaPage(frame: PageFrame, p: MfaPageInput): string {
  return layout(frame, 'Multi-factor authentication', `<h1>Enter your authentication code</h1>
${alert('mfaErrorMessage', p.error)}<p>Open your authenticator app and enter the 6-digit code it shows for this account.</p>
<form method="post" action="${e(p.action)}" name="cognitoMfaForm">
${csrfField(p.csrf)}
<input type="hidden" name="session" value="${e(p.session)}">
<label for="mfaFormCode">Code</label>
<input id="mfaFormCode" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="6" required class="lc-code">
<button id="mfaSubmitButton" type="submit" class="lc-primary">Sign in</button>
</form>
${links([{ href: p.loginHref, text: 'Back to sign in', id: 'signInLink' }])}`)
}

export const ERROR_PAGE_HEADLINE = 'An error was encountered with the requested page.'

export function errorPage(frame: PageFrame, detail?: string): string {
  const d = detail ? `<p id="errorMessage">${e(detail)}</p>\n` : ''
  return layout(frame, 'Error', `<h1>${ERROR_PAGE_HEADLINE}</h1>\n${d}`)
}

export function forbiddenPage(frame: PageFrame): string {
  return layout(frame, 'Forbidden', '<h1>Forbidden</h1>\n<p>The request could not be verified (missing or invalid CSRF token). Go back, reload the page and try again.</p>')
}

export interface FederatedPageInput {
  provider: string
  action: string
  csrf: string
  email: string
  name: string
}

/** The simulated IdP's sign-in page: one fixed user, Continue or Cancel. */
export function federatedPage(frame: PageFrame, p: FederatedPageInput): string {
  const provider = e(p.provider)
  return layout(frame, `Sign in with ${p.provider} (simulated)`, `<h1>Sign in with ${provider} (simulated)</h1>
<p class="lc-help">A stand-in for ${provider}: no password, one test account.</p>
<form method="post" action="${e(p.action)}" name="federatedSignInForm">
${csrfField(p.csrf)}
<p>Continue as <strong id="federatedUserName">${e(p.name)}</strong> (<span id="federatedUserEmail">${e(p.email)}</span>)?</p>
<button id="federatedContinueButton" name="action" value="continue" type="submit" class="lc-primary">Continue</button>
<button id="federatedCancelButton" name="action" value="cancel" type="submit" class="lc-secondary">Cancel</button>
</form>`)
}

export interface MailboxMessage {
  at: string
  to: string
  username: string
  kind: string
  code: string
}

export function mailboxPage(frame: PageFrame, messages: MailboxMessage[]): string {
  const rows = messages
    .map((m) => `<tr><td>${e(m.at)}</td><td>${e(m.to)}</td><td>${e(m.username)}</td><td>${e(m.kind)}</td><td><code class="lc-code">${e(m.code)}</code></td></tr>`)
    .join('\n')
  const body =
    messages.length === 0
      ? '<p id="mailboxEmpty">No messages yet. Codes sent for sign-up and forgotten passwords appear here.</p>'
      : `<div class="lc-table-wrap">
<table id="mailbox">
<caption class="lc-help">Newest first</caption>
<thead><tr><th scope="col">Sent (UTC)</th><th scope="col">To</th><th scope="col">User</th><th scope="col">Message</th><th scope="col">Code</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>`
  return layout(frame, 'Mailbox', `<h1>Mailbox</h1>
<p>The messages this local Cognito would have emailed. A real user pool sends them; this page exists only here.</p>
${body}`, { wide: true })
}

export interface FaultsPageInput {
  action: string
  csrf: string
  unavailable: boolean
  refusing: boolean
  refuseSeconds: number
  tokenDelaySeconds: number
  refreshRefused: boolean
  saved?: string
}

export function faultsPage(frame: PageFrame, p: FaultsPageInput): string {
  const checked = (on: boolean): string => (on ? ' checked' : '')
  return layout(frame, 'Faults', `<h1>Faults</h1>
${info('faultsSavedMessage', p.saved)}<p>Switch failures on and off while the app runs, to see each of its error pages. This page exists only on the local Cognito, and stays reachable while it plays down.</p>
<form method="post" action="${e(p.action)}" name="faultsForm">
${csrfField(p.csrf)}
<fieldset>
<legend>Cognito down</legend>
<div class="lc-check"><input type="checkbox" id="faultUnavailable" name="unavailable" value="on"${checked(p.unavailable)}><label for="faultUnavailable">Every endpoint answers 503 Service Unavailable</label></div>
<div class="lc-check"><input type="checkbox" id="faultRefuse" name="refuse" value="on"${checked(p.refusing)}><label for="faultRefuse">Refuse connections (the port closes)</label></div>
<label for="faultRefuseSeconds">Refuse connections for (seconds)</label>
<input type="number" id="faultRefuseSeconds" name="refuseSeconds" min="1" max="3600" value="${p.refuseSeconds}" aria-describedby="faultRefuseHelp">
<p class="lc-help" id="faultRefuseHelp">While the port is closed this page cannot answer either, so the port opens again by itself after this time.</p>
</fieldset>
<fieldset>
<legend>Token endpoint</legend>
<label for="faultTokenDelay">Delay every answer of /oauth2/token by (seconds, 0 = none)</label>
<input type="number" id="faultTokenDelay" name="tokenDelaySeconds" min="0" max="600" value="${p.tokenDelaySeconds}">
<div class="lc-check"><input type="checkbox" id="faultRefreshRefused" name="refreshRefused" value="on"${checked(p.refreshRefused)}><label for="faultRefreshRefused">Refuse refresh tokens (400 invalid_grant)</label></div>
</fieldset>
<button id="faultsSaveButton" type="submit" class="lc-primary">Apply</button>
</form>`)
}
