/**
 * What the tests of a person's sessions share: form posts from the site's own pages, page reads,
 * asking the local Cognito whether a refresh token still works, the app's log lines, and going
 * through "confirm it's you" (re-authentication) at Cognito's form.
 */
import { Browser, parseSignInForm } from './browser.js'
import { sessionIdOf, type Stack } from './stack.js'

/** A form post from the site's own page (as a browser sends it). */
export function postForm(browser: Browser, stack: Pick<Stack, 'baseUrl'>, path: string, form: Record<string, string>): Promise<Response> {
  return browser.post(`${stack.baseUrl}${path}`, form, { 'sec-fetch-site': 'same-origin' })
}

/** The status of a page (default the account page), its body read and dropped. */
export async function status(browser: Browser, stack: Pick<Stack, 'baseUrl'>, path = '/logged-in'): Promise<number> {
  const response = await browser.get(`${stack.baseUrl}${path}`)
  await response.arrayBuffer()
  return response.status
}

export async function page(browser: Browser, stack: Pick<Stack, 'baseUrl'>, path: string): Promise<{ status: number; html: string }> {
  const response = await browser.get(`${stack.baseUrl}${path}`)
  return { status: response.status, html: await response.text() }
}

/** Asks the local Cognito for new tokens with a refresh token, as an app would: true when it gives them. */
export async function refreshAccepted(stack: Stack, refreshToken: string): Promise<boolean> {
  const answer = await fetch(`${stack.cognito.origin}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${stack.clientId}:${stack.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  })
  await answer.arrayBuffer()
  return answer.status === 200
}

/** The tokens kept in the session behind the browser's cookie. */
export async function tokensOf(stack: Stack, browser: Browser): Promise<{ refreshToken: string; accessToken: string }> {
  const session = await stack.app.sessionStore.read(sessionIdOf(browser) as string)
  return { refreshToken: session?.tokens?.refreshToken as string, accessToken: session?.tokens?.accessToken as string }
}

export function logLines(stack: Stack): Array<Record<string, unknown>> {
  return stack.logs.map((line) => JSON.parse(line) as Record<string, unknown>)
}

/**
 * "Confirm it's you": posts the re-authentication form (CSRF token from `csrfPage`'s HTML), follows to
 * Cognito's form, signs in there as `who` and follows back. `before` runs once the form is shown.
 */
export async function reauthenticate(
  browser: Browser,
  stack: Stack,
  options: { csrf: string; returnTo: string; username?: string; password?: string; before?: () => unknown },
): Promise<{ url: string; response: Response; started: Response }> {
  const started = await postForm(browser, stack, '/reauthenticate', { _csrf: options.csrf, returnTo: options.returnTo })
  const toForm = await browser.follow(started, `${stack.baseUrl}/reauthenticate`)
  if (!toForm.url.startsWith(stack.cognito.origin)) throw new Error(`expected Cognito's sign-in form, got ${toForm.response.status} at ${toForm.url}`)
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  await options.before?.()
  const submitted = await browser.post(form.action, { _csrf: form.csrf, username: options.username ?? 'demo', password: options.password ?? 'Demo-passw0rd' })
  const back = await browser.follow(submitted, form.action)
  return { url: back.url, response: back.response, started }
}
