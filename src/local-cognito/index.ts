/** Local Amazon Cognito user-pool emulator: hosted UI, OAuth 2.0 / OIDC endpoints, discovery and JWKS. */
export { startLocalCognito } from './server.js'
export { defaultLocalClient, DEMO_USERS } from './seed.js'
export { FEDERATED_TEST_USER, federatedUsername } from './federated.js'
export type { Faults, FederatedIdentity, LocalCognito, LocalCognitoClient, LocalCognitoOptions, LocalCognitoUser, SeenRequest } from './types.js'
