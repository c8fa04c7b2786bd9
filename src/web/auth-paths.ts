/** Where this app puts the sign-in component's routes and its own signed-in and signed-out pages. */
import { authPaths, registeredUrls } from '../auth/options.js'

export const APP_AUTH_PATHS = authPaths('', { signedOut: '/logged-out', afterSignIn: '/logged-in' })

/** The callback and sign-out URLs to register on the app client for this base URL. */
export function appRegisteredUrls(baseUrl: string): { redirectUri: string; postLogoutRedirectUri: string } {
  return registeredUrls(baseUrl, APP_AUTH_PATHS)
}
