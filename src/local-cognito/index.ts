/** Local Amazon Cognito user-pool emulator: hosted UI, OAuth 2.0 / OIDC endpoints, discovery and JWKS. */
export { startLocalCognito } from './server.js'
export { defaultLocalClient, DEMO_USERS, MFA_DEMO_USER } from './seed.js'
export { localCognitoOptionsFromEnv, parseUsers, readUsersFile, type FileUser } from './users-file.js'
export { totpCode, totpUri } from './mfa.js'
export { FEDERATED_TEST_USER, federatedUsername } from './federated.js'
export type { Faults, FederatedIdentity, LocalCognito, LocalCognitoClient, LocalCognitoOptions, LocalCognitoUser, MailboxEntry, SeenRequest, UserSnapshot } from './types.js'
