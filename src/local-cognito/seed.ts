/** Seed users (users.json) and the default app client. */
import { totpUri } from './mfa.js'
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
  totpSecret?: string
}

const SEED: ReadonlyArray<SeedUser> = seedUsers

/** What a person needs to add a seed user's TOTP secret to an authenticator app. */
function mfaNote(u: SeedUser): string {
  return u.totpSecret === undefined ? '' : `; TOTP secret ${u.totpSecret} (${totpUri(u.totpSecret, u.username)})`
}

/** Demo accounts of the seed, for the app to print at start (the MFA user's line carries its TOTP secret). */
export const DEMO_USERS: ReadonlyArray<{ username: string; password: string; description: string }> = Object.freeze(
  SEED.map((u) => Object.freeze({ username: u.username, password: u.password, description: `${u.description}${mfaNote(u)}` })),
)

/** The seed's MFA demo user: username, password and TOTP secret. */
export const MFA_DEMO_USER: Readonly<{ username: string; password: string; totpSecret: string }> = (() => {
  const u = SEED.find((s) => s.totpSecret !== undefined)
  if (!u?.totpSecret) throw new Error('local-cognito: the seed has no MFA user')
  return Object.freeze({ username: u.username, password: u.password, totpSecret: u.totpSecret })
})()

export function seedUserList(): Array<LocalCognitoUser & { description: string }> {
  return SEED.map((u) => ({
    username: u.username,
    password: u.password,
    sub: u.sub,
    email: u.email,
    emailVerified: u.emailVerified,
    name: u.name,
    groups: [...u.groups],
    description: u.description,
    ...(u.totpSecret !== undefined ? { totpSecret: u.totpSecret } : {}),
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
