/** Seed users (users.json) and the default app client. */
import seedUsers from './users.json' with { type: 'json' }
import type { LocalCognitoClient, LocalCognitoUser } from './types.js'

interface SeedUser {
  username: string
  password: string
  sub: string
  email: string
  emailVerified: boolean
  name: string
  groups: string[]
  description: string
}

const SEED: ReadonlyArray<SeedUser> = seedUsers

/** Demo accounts of the seed, for the app to print at start. */
export const DEMO_USERS: ReadonlyArray<{ username: string; password: string; description: string }> = Object.freeze(
  SEED.map((u) => Object.freeze({ username: u.username, password: u.password, description: u.description })),
)

export function seedUserList(): LocalCognitoUser[] {
  return SEED.map((u) => ({
    username: u.username,
    password: u.password,
    sub: u.sub,
    email: u.email,
    emailVerified: u.emailVerified,
    name: u.name,
    groups: [...u.groups],
  }))
}

/** Fixed, Cognito-shaped id (26 lowercase alphanumerics) and secret of the local demo client. */
export const DEFAULT_CLIENT_ID = '4lq7ocalc0gn1t0demo2c1ient'
export const DEFAULT_CLIENT_SECRET = '1c8v0q7hk3n5r2m9tb4d6lfs0jpe8wa3ugx5yi7oz2n4c6r9kbm1'

export function defaultLocalClient(appBaseUrl: string): LocalCognitoClient {
  const base = appBaseUrl.replace(/\/+$/, '')
  return {
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    callbackUrls: [`${base}/auth/callback`],
    logoutUrls: [`${base}/logged-out`],
    allowedScopes: ['openid', 'email', 'profile', 'phone', 'aws.cognito.signin.user.admin'],
    allowedOAuthFlows: ['code'],
  }
}
