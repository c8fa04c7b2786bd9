/** The Cognito section: the pool (issuer, app client and secret) and how the app signs people in. */
import { isLoopbackHost, type EnvReader } from './reader.js'

/** What identifies the pool and the app client. In development the local Cognito provides them. */
export interface PoolCredentials {
  /** Issuer identifier: `https://cognito-idp.<region>.amazonaws.com/<pool id>` or a full URL. */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string
}

/** Sign-in settings that do not depend on which pool is used. */
export interface CognitoOptions {
  /** The pool's domain as an origin (`https://…`), used for the logout URL when discovery has none. */
  readonly domain: string | undefined
  readonly scopes: readonly string[]
  /** Federated identity providers offered as "Continue with …" buttons (COGNITO_IDENTITY_PROVIDERS). */
  readonly identityProviders: readonly string[]
  /** Bound on every HTTP call to Cognito. */
  readonly timeoutMs: number
  /** Refresh the access token when it expires within this margin (TOKEN_REFRESH_MARGIN). */
  readonly refreshMarginMs: number
  /** Requests per minute and client IP to the sign-in routes (RATE_LIMIT_SIGNIN). */
  readonly rateLimitSignIn: number
}

export interface CognitoSettings extends PoolCredentials, CognitoOptions {
  /** Plain-http issuer on a loopback address (the local Cognito); never true otherwise. */
  readonly allowInsecureRequests: boolean
}

/** The section before a pool is known: development without one uses the local Cognito. */
export type PendingCognitoSettings = CognitoOptions & { readonly issuer: undefined }

const POOL_ID = /^(?<region>[a-z]{2}-(?:gov-)?[a-z]+-\d)_[a-zA-Z0-9]+$/
const REGION = /^[a-z]{2}-(?:gov-)?[a-z]+-\d$/
/** A Cognito app client id (the shape a typo breaks); with COGNITO_ISSUER another provider's ids may be any visible ASCII. */
export const CLIENT_ID = /^[\w+]{1,128}$/
export const ANY_CLIENT_ID = /^[\x21-\x7e]{1,255}$/
export const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** The issuer from COGNITO_USER_POOL_ID (+ COGNITO_REGION) or COGNITO_ISSUER; undefined when neither is set or valid. */
function readIssuer(read: EnvReader): string | undefined {
  const issuerRaw = read.string('COGNITO_ISSUER')
  const poolId = read.string('COGNITO_USER_POOL_ID')
  const regionRaw = read.string('COGNITO_REGION')

  let fromPool: string | undefined
  if (poolId !== undefined) {
    const region = POOL_ID.exec(poolId)?.groups?.region
    if (region === undefined) {
      return read.fail('COGNITO_USER_POOL_ID', `expected a user pool id like us-east-1_AbC123xyz, got "${poolId}"`)
    }
    if (regionRaw !== undefined && regionRaw !== region) {
      read.fail(
        'COGNITO_REGION',
        `"${regionRaw}" does not match the region of COGNITO_USER_POOL_ID (${region}); leave it unset or make them agree`,
      )
    }
    fromPool = `https://cognito-idp.${region}.amazonaws.com/${poolId}`
  } else if (regionRaw !== undefined) {
    if (!REGION.test(regionRaw)) read.fail('COGNITO_REGION', `expected an AWS region like eu-west-1, got "${regionRaw}"`)
    if (issuerRaw === undefined) return read.fail('COGNITO_USER_POOL_ID', 'is required when COGNITO_REGION is set')
  }

  if (issuerRaw === undefined) return fromPool
  const url = read.url('COGNITO_ISSUER', issuerRaw)
  if (!url || !read.httpsUnlessLoopback('COGNITO_ISSUER', url)) return undefined
  if (url.search || url.hash) return read.fail('COGNITO_ISSUER', `must not carry a query or fragment, got "${issuerRaw}"`)
  if (/\/\.well-known\//.test(url.pathname)) {
    // The discovery document's own URL as the issuer would turn off openid-client's issuer check.
    const issuer = url.href.replace(/\/\.well-known\/.*$/, '')
    return read.fail('COGNITO_ISSUER', `is the discovery document's URL; set the issuer itself, without /.well-known/…: ${issuer}`)
  }
  const issuer = url.href.replace(/\/+$/, '')
  if (fromPool !== undefined && fromPool !== issuer) {
    return read.fail('COGNITO_ISSUER', `conflicts with COGNITO_USER_POOL_ID (which means ${fromPool}); set only one of them`)
  }
  return issuer
}

function readDomain(read: EnvReader): string | undefined {
  const raw = read.string('COGNITO_DOMAIN')
  if (raw === undefined) return undefined
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`
  const url = read.url('COGNITO_DOMAIN', withScheme)
  if (!url || !read.httpsUnlessLoopback('COGNITO_DOMAIN', url)) return undefined
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return read.fail('COGNITO_DOMAIN', `expected the pool's domain, e.g. myapp.auth.eu-west-1.amazoncognito.com, got "${raw}"`)
  }
  return url.origin
}

/**
 * The scopes to request. Default `openid email profile`; with the local Cognito also
 * `aws.cognito.signin.user.admin`, so that "sign out everywhere" signs out the pool's other apps too
 * (a real pool's app client must allow that scope first: it is added there only when asked).
 */
function readScopes(read: EnvReader, local: boolean): string[] {
  const scopes = read.list('COGNITO_SCOPES', local ? 'openid email profile aws.cognito.signin.user.admin' : 'openid email profile')
  if (!scopes.includes('openid')) {
    read.fail('COGNITO_SCOPES', `must include "openid" (Cognito issues an ID token only with it), got "${read.string('COGNITO_SCOPES')}"`)
  }
  const bad = scopes.find((scope) => !SCOPE.test(scope))
  if (bad !== undefined) read.fail('COGNITO_SCOPES', `"${bad}" is not a valid scope`)
  return scopes
}

function readIdentityProviders(read: EnvReader): string[] {
  const names = read.list('COGNITO_IDENTITY_PROVIDERS')
  // Cognito provider names: 1–32 characters of letters, digits, and . _ - (plus the built-in COGNITO).
  const bad = names.find((name) => !/^[\w.-]{1,40}$/.test(name))
  if (bad !== undefined) {
    read.fail(
      'COGNITO_IDENTITY_PROVIDERS',
      `expected provider names separated by commas (e.g. Google,SignInWithApple,AcmeSAML), got "${bad}"`,
    )
  }
  return names
}

/** The section from the environment; `issuer` is undefined when no pool is set (allowed only outside production). */
/** The NODE_ENV values under which development may run without a pool (on the local Cognito), exactly. */
const LOCAL_COGNITO_ENVIRONMENTS: readonly string[] = ['development', 'test']

export function readCognito(read: EnvReader, nodeEnv: string): CognitoSettings | PendingCognitoSettings {
  const issuer = readIssuer(read)
  const clientId = read.string('COGNITO_CLIENT_ID')
  const clientSecret = read.string('COGNITO_CLIENT_SECRET')
  const options: CognitoOptions = {
    domain: readDomain(read),
    scopes: readScopes(read, read.string('COGNITO_USER_POOL_ID') === undefined && read.string('COGNITO_ISSUER') === undefined),
    identityProviders: readIdentityProviders(read),
    timeoutMs: read.duration('COGNITO_TIMEOUT', '10s', 100),
    refreshMarginMs: read.duration('TOKEN_REFRESH_MARGIN', '60s', 0),
    rateLimitSignIn: read.int('RATE_LIMIT_SIGNIN', 30, 1, 100_000),
  }
  const poolSet = read.string('COGNITO_USER_POOL_ID') !== undefined || read.string('COGNITO_ISSUER') !== undefined
  if (!poolSet) {
    // Fail closed: the local Cognito (published demo passwords, open sign-up) starts only where NODE_ENV
    // says development or test, exactly; `staging`, `prod` or `Production` need a real pool.
    if (!LOCAL_COGNITO_ENVIRONMENTS.includes(nodeEnv)) {
      read.fail(
        'COGNITO_USER_POOL_ID',
        `is required when NODE_ENV=${nodeEnv} (or set COGNITO_ISSUER); the local Cognito starts only when NODE_ENV is unset, "development" or "test"`,
      )
    } else if (clientId !== undefined || clientSecret !== undefined) {
      read.fail('COGNITO_USER_POOL_ID', 'is required when COGNITO_CLIENT_ID or COGNITO_CLIENT_SECRET is set (or set COGNITO_ISSUER)')
    }
    return { ...options, issuer: undefined }
  }
  const poolVariable = read.string('COGNITO_USER_POOL_ID') !== undefined ? 'COGNITO_USER_POOL_ID' : 'COGNITO_ISSUER'
  if (clientId === undefined) read.fail('COGNITO_CLIENT_ID', `is required when ${poolVariable} is set`)
  else if (poolVariable === 'COGNITO_USER_POOL_ID' ? !CLIENT_ID.test(clientId) : !ANY_CLIENT_ID.test(clientId)) {
    read.fail('COGNITO_CLIENT_ID', poolVariable === 'COGNITO_USER_POOL_ID'
      ? `expected the app client id (letters and digits), got "${clientId}"`
      : `expected the client id (visible characters, no spaces), got "${clientId}"`)
  }
  if (clientSecret === undefined) {
    read.fail('COGNITO_CLIENT_SECRET', `is required when ${poolVariable} is set (create the app client with a client secret)`)
  }
  // With a problem recorded, loadConfig throws: the placeholders below are never used.
  return withPool(options, { issuer: issuer ?? 'https://invalid.invalid', clientId: clientId ?? '', clientSecret: clientSecret ?? '' })
}

/** The section once the pool is known. */
export function withPool(options: CognitoOptions, pool: PoolCredentials): CognitoSettings {
  const url = new URL(pool.issuer)
  return {
    ...options,
    issuer: pool.issuer,
    clientId: pool.clientId,
    clientSecret: pool.clientSecret,
    allowInsecureRequests: url.protocol === 'http:' && isLoopbackHost(url.hostname),
  }
}
