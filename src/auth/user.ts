/** The signed-in person as the app sees them: only what pages need, never a token. */
export interface User {
  readonly sub: string
  readonly username: string
  readonly name: string | undefined
  readonly email: string | undefined
  readonly emailVerified: boolean | undefined
  readonly groups: readonly string[]
  /** When the person last signed in interactively at Cognito (epoch ms, from `auth_time`). */
  readonly authTime: number | undefined
}

type Claims = Readonly<Record<string, unknown>>

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Cognito's ID token carries booleans; its userInfo endpoint carries the strings "true"/"false". */
function bool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  if (value === 'true') return true
  if (value === 'false') return false
  return undefined
}

function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string')
  // Tolerate a single group given as a string; an absent claim means no group.
  if (typeof value === 'string' && value !== '') return [value]
  return []
}

/**
 * Maps Cognito's ID token claims (authoritative for groups, which userInfo lacks) and the userInfo
 * response (fresher attributes) to the app's User.
 */
export function toUser(idClaims: Claims, userinfo: Claims = {}): User {
  const sub = str(idClaims.sub) ?? str(userinfo.sub)
  if (sub === undefined) throw new TypeError('ID token has no sub')
  const authTime = typeof idClaims.auth_time === 'number' ? idClaims.auth_time * 1000 : undefined
  return {
    sub,
    username:
      str(idClaims['cognito:username']) ?? str(userinfo.username) ?? str(idClaims.preferred_username) ?? sub,
    name:
      str(userinfo.name) ??
      str(idClaims.name) ??
      ([str(userinfo.given_name ?? idClaims.given_name), str(userinfo.family_name ?? idClaims.family_name)]
        .filter(Boolean)
        .join(' ') || undefined),
    email: str(userinfo.email) ?? str(idClaims.email),
    emailVerified: bool(userinfo.email_verified) ?? bool(idClaims.email_verified),
    groups: groupsOf(idClaims['cognito:groups']),
    authTime,
  }
}

/**
 * The name a person signs in with, as pages show it. In a pool where people sign in with their email,
 * Cognito's username is a UUID equal to the `sub`: the email is shown instead, never the UUID.
 */
export function signInName(user: Pick<User, 'sub' | 'username' | 'email'>): string {
  return user.username === user.sub && user.email ? user.email : user.username
}

/** The name to greet someone with. */
export function displayName(user: User): string {
  return user.name ?? user.email ?? signInName(user)
}
