/**
 * Settings of the local Cognito from the environment (LOCAL_COGNITO_*), for `npm run local-cognito` and the app's
 * embedded start: a users file, token lifetimes, the sign-in attribute.
 */
import { readFileSync } from 'node:fs'
import type { LocalCognitoOptions, LocalCognitoUser } from './types.js'

/** A user of the users file: a LocalCognitoUser, plus a line for the demo-users hint. */
export interface FileUser extends LocalCognitoUser {
  description?: string
}

const USER_KEYS = new Set(['username', 'password', 'sub', 'email', 'emailVerified', 'name', 'phoneNumber', 'groups', 'attributes', 'enabled', 'confirmed', 'totpSecret', 'description'])
const STRING_KEYS = ['sub', 'email', 'name', 'phoneNumber', 'totpSecret', 'description'] as const
const BOOLEAN_KEYS = ['emailVerified', 'enabled', 'confirmed'] as const

/** Parse and check a users file's text: `{"users":[…]}` or `[…]`. Throws an Error naming the file and the field. */
export function parseUsers(text: string, source: string): FileUser[] {
  const fail = (where: string, what: string): never => {
    throw new Error(`${source}: ${where}: ${what}`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    return fail('not JSON', (error as Error).message)
  }
  const list = Array.isArray(data) ? data : (data as { users?: unknown } | null)?.users
  if (!Array.isArray(list)) return fail('top level', 'expected {"users": [...]} or an array of users')
  const seen = new Set<string>()
  return list.map((raw: unknown, i): FileUser => {
    const at = `users[${i}]`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(at, 'expected an object')
    const u = raw as Record<string, unknown>
    for (const k of Object.keys(u)) if (!USER_KEYS.has(k)) fail(`${at}.${k}`, `unknown field (known: ${[...USER_KEYS].join(', ')})`)
    if (typeof u['username'] !== 'string' || u['username'].trim() === '') fail(`${at}.username`, 'expected a non-empty string')
    if (typeof u['password'] !== 'string' || u['password'] === '') fail(`${at}.password`, 'expected a non-empty string')
    const username = u['username'] as string
    if (seen.has(username.toLowerCase())) fail(`${at}.username`, `${username} appears twice (usernames ignore case)`)
    seen.add(username.toLowerCase())
    for (const k of STRING_KEYS) if (u[k] !== undefined && typeof u[k] !== 'string') fail(`${at}.${k}`, 'expected a string')
    for (const k of BOOLEAN_KEYS) if (u[k] !== undefined && typeof u[k] !== 'boolean') fail(`${at}.${k}`, 'expected true or false')
    if (u['groups'] !== undefined && (!Array.isArray(u['groups']) || u['groups'].some((g) => typeof g !== 'string'))) fail(`${at}.groups`, 'expected an array of strings')
    const attributes = u['attributes']
    if (attributes !== undefined) {
      if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) fail(`${at}.attributes`, 'expected an object of strings')
      for (const [k, v] of Object.entries(attributes as Record<string, unknown>)) {
        // Cognito keeps every attribute value as a string (custom ones too).
        if (typeof v !== 'string') fail(`${at}.attributes.${k}`, 'expected a string (Cognito attribute values are strings)')
      }
    }
    if (typeof u['totpSecret'] === 'string' && !/^[A-Z2-7]{16,}=*$/i.test(u['totpSecret'].replace(/\s/g, ''))) fail(`${at}.totpSecret`, 'expected a base32 secret (at least 16 characters A–Z, 2–7)')
    return u as unknown as FileUser
  })
}

export function readUsersFile(path: string): FileUser[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`LOCAL_COGNITO_USERS: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  return parseUsers(text, `LOCAL_COGNITO_USERS (${path})`)
}

function seconds(env: Record<string, string | undefined>, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: expected whole seconds from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  return n
}

/**
 * Options from LOCAL_COGNITO_USERS (users file), LOCAL_COGNITO_ACCESS_TOKEN_TTL and LOCAL_COGNITO_ID_TOKEN_TTL
 * (seconds, 300–86400 as Cognito allows), LOCAL_COGNITO_REFRESH_TOKEN_TTL (seconds, 1 hour–10 years) and
 * LOCAL_COGNITO_SIGN_IN_WITH (`username` or `email`), LOCAL_COGNITO_HOSTED_UI (`managed` or `classic`) and
 * LOCAL_COGNITO_REFRESH_TOKEN_ROTATION (`off`, or the grace period in seconds, 0–60). Throws on a bad value,
 * naming the variable.
 */
export function localCognitoOptionsFromEnv(env: Record<string, string | undefined>): Partial<LocalCognitoOptions> {
  const out: Partial<LocalCognitoOptions> = {}
  const users = env['LOCAL_COGNITO_USERS']?.trim()
  if (users) out.usersFile = users
  const access = seconds(env, 'LOCAL_COGNITO_ACCESS_TOKEN_TTL', 300, 86_400)
  if (access !== undefined) out.accessTokenTtlSeconds = access
  const id = seconds(env, 'LOCAL_COGNITO_ID_TOKEN_TTL', 300, 86_400)
  if (id !== undefined) out.idTokenTtlSeconds = id
  const refresh = seconds(env, 'LOCAL_COGNITO_REFRESH_TOKEN_TTL', 3600, 315_360_000)
  if (refresh !== undefined) out.refreshTokenTtlSeconds = refresh
  const signInWith = env['LOCAL_COGNITO_SIGN_IN_WITH']?.trim()
  if (signInWith) {
    if (signInWith !== 'username' && signInWith !== 'email') throw new Error(`LOCAL_COGNITO_SIGN_IN_WITH: expected username or email, got ${JSON.stringify(signInWith)}`)
    out.signInWith = signInWith
  }
  const ui = env['LOCAL_COGNITO_HOSTED_UI']?.trim()
  if (ui) {
    if (ui !== 'managed' && ui !== 'classic') throw new Error(`LOCAL_COGNITO_HOSTED_UI: expected managed or classic, got ${JSON.stringify(ui)}`)
    out.hostedUi = ui
  }
  const rotation = env['LOCAL_COGNITO_REFRESH_TOKEN_ROTATION']?.trim()
  if (rotation && rotation !== 'off') {
    const grace = seconds(env, 'LOCAL_COGNITO_REFRESH_TOKEN_ROTATION', 0, 60)
    if (grace !== undefined) out.refreshTokenRotation = { graceSeconds: grace }
  }
  return out
}
