/** Local Amazon Cognito user-pool emulator: hosted UI, OAuth 2.0 / OIDC endpoints, discovery and JWKS. */
export { startLocalCognito } from './server.js'
export { defaultLocalClient, DEMO_USERS } from './seed.js'
export type { Faults, LocalCognito, LocalCognitoClient, LocalCognitoOptions, LocalCognitoUser, SeenRequest } from './types.js'
