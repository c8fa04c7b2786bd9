/**
 * The sign-in component, importable on its own (package export `cognito-fastify-ssr/auth`):
 *
 *   await app.register(sessionPlugin, { secret, secureCookies, idleTimeoutMs, maxAgeMs, store })
 *   await app.register(cognitoAuth, { issuer, clientId, clientSecret, baseUrl, secret })
 *   app.get('/account', { onRequest: app.requireUser }, handler)
 */
export { default, default as cognitoAuth, isInGroup, type CognitoAuth } from './plugin.js'
export { authPaths, registeredUrls, type AuthPaths, type CognitoAuthOptions, type ForbiddenContext } from './options.js'
export { BearerError, bearerChallenge, bearerTokenOf, type BearerPrincipal } from './bearer.js'
export {
  CognitoError,
  SessionEndedError,
  SessionRenewalError,
  SignInError,
  type Action,
  type ErrorDescription,
} from './errors.js'
export { safeReturnTo } from './return-to.js'
export type { LoginTransaction, SignedIn, TokenSet } from './types.js'
export { displayName, signInName, type User } from './user.js'
