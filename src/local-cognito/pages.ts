/** Plain HTML pages of the emulated hosted UI. Every dynamic value goes through escapeHtml. */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin-top:.8rem}
input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem}
.error{color:#a00;border:1px solid #a00;padding:.5rem}
.note{color:#666;font-size:.85rem}
</style>
</head>
<body>
<p class="note">Local Cognito (emulator)</p>
${body}
</body>
</html>
`
}

export interface LoginPageInput {
  action: string
  signupHref: string
  csrf: string
  error?: string
  username?: string
}

export function loginPage(p: LoginPageInput): string {
  const error = p.error ? `<p class="error" id="loginErrorMessage" role="alert">${escapeHtml(p.error)}</p>\n` : ''
  return layout('Signin', `<h1>Sign in with your username and password</h1>
${error}<form method="post" action="${escapeHtml(p.action)}" name="cognitoSignInForm">
<input type="hidden" name="_csrf" value="${escapeHtml(p.csrf)}">
<label for="signInFormUsername">Username</label>
<input id="signInFormUsername" name="username" type="text" autocomplete="username" autocapitalize="none" required value="${escapeHtml(p.username ?? '')}">
<label for="signInFormPassword">Password</label>
<input id="signInFormPassword" name="password" type="password" autocomplete="current-password" required>
<button id="signInSubmitButton" name="signInSubmitButton" type="submit">Sign in</button>
</form>
<p>Need an account? <a href="${escapeHtml(p.signupHref)}">Sign up</a></p>`)
}

export interface SignupPageInput {
  action: string
  loginHref: string
  csrf: string
  error?: string
  username?: string
  email?: string
}

export function signupPage(p: SignupPageInput): string {
  const error = p.error ? `<p class="error" id="signupErrorMessage" role="alert">${escapeHtml(p.error)}</p>\n` : ''
  return layout('Signup', `<h1>Sign up with a new account</h1>
${error}<form method="post" action="${escapeHtml(p.action)}" name="cognitoSignUpForm">
<input type="hidden" name="_csrf" value="${escapeHtml(p.csrf)}">
<label for="signUpFormUsername">Username</label>
<input id="signUpFormUsername" name="username" type="text" autocomplete="username" autocapitalize="none" required value="${escapeHtml(p.username ?? '')}">
<label for="signUpFormEmail">Email</label>
<input id="signUpFormEmail" name="email" type="email" autocomplete="email" required value="${escapeHtml(p.email ?? '')}">
<label for="signUpFormPassword">Password</label>
<input id="signUpFormPassword" name="password" type="password" autocomplete="new-password" required>
<button id="signUpButton" name="signUpButton" type="submit">Sign up</button>
</form>
<p>Already have an account? <a href="${escapeHtml(p.loginHref)}">Sign in</a></p>`)
}

export const ERROR_PAGE_HEADLINE = 'An error was encountered with the requested page.'

export function errorPage(detail?: string): string {
  const d = detail ? `<p id="errorMessage">${escapeHtml(detail)}</p>\n` : ''
  return layout('Error', `<h1>${ERROR_PAGE_HEADLINE}</h1>\n${d}`)
}

export function forbiddenPage(): string {
  return layout('Forbidden', '<h1>Forbidden</h1>\n<p>The request could not be verified (missing or invalid CSRF token). Go back, reload the page and try again.</p>')
}

export interface FederatedPageInput {
  provider: string
  action: string
  csrf: string
  email: string
  name: string
}

/** The simulated IdP's sign-in page: one fixed user, Continue or Cancel. */
export function federatedPage(p: FederatedPageInput): string {
  const provider = escapeHtml(p.provider)
  return layout(`Sign in with ${p.provider} (simulated)`, `<h1>Sign in with ${provider} (simulated)</h1>
<p class="note">A stand-in for ${provider}: no password, one test account.</p>
<form method="post" action="${escapeHtml(p.action)}" name="federatedSignInForm">
<input type="hidden" name="_csrf" value="${escapeHtml(p.csrf)}">
<p>Continue as <strong id="federatedUserName">${escapeHtml(p.name)}</strong> (<span id="federatedUserEmail">${escapeHtml(p.email)}</span>)?</p>
<button id="federatedContinueButton" name="action" value="continue" type="submit">Continue</button>
<button id="federatedCancelButton" name="action" value="cancel" type="submit">Cancel</button>
</form>`)
}
