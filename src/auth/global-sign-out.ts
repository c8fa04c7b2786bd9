/**
 * Cognito's GlobalSignOut: the user pool API on the issuer's origin (`POST /`, `X-Amz-Target:
 * AWSCognitoIdentityProviderService.GlobalSignOut`, `Content-Type: application/x-amz-json-1.1`, body
 * `{"AccessToken": …}`), authorized by the person's own access token, which must carry the scope
 * `aws.cognito.signin.user.admin`. Cognito then refuses every refresh token it issued to that person,
 * for every app client of the pool. It does not end Cognito's own sign-in session (that takes /logout)
 * and access tokens stay valid where they are checked locally, until they expire.
 *
 * Call it before revoking this session's refresh token: a revocation also revokes the access token
 * it was issued with, and GlobalSignOut would then answer "Access Token has been revoked".
 */
import { decodeJwt } from 'jose'
import { fetchFromCognito } from './cognito-fetch.js'
import type { TokenSet } from './types.js'

export const ADMIN_SCOPE = 'aws.cognito.signin.user.admin'

/** What became of the other apps' sessions. */
export type GlobalSignOutOutcome =
  /** Cognito revoked every refresh token of the person. */
  | { readonly kind: 'signed-out' }
  /** Not asked: the session's access token lacks the admin scope (COGNITO_SCOPES does not request it). */
  | { readonly kind: 'no-scope' }
  /** Not asked: the issuer is not a Cognito user pool. */
  | { readonly kind: 'not-cognito' }
  /** Cognito answered with an error (`__type`, e.g. NotAuthorizedException) or could not be reached. */
  | { readonly kind: 'failed'; readonly reason: string }

/** A Cognito user pool's issuer: `https://cognito-idp.<region>.amazonaws.com/<region>_<id>` (or a local Cognito's, same path). */
export function isCognitoIssuer(issuer: string): boolean {
  try {
    return /^\/[a-z]{2}(?:-gov)?-[a-z]+-\d_[A-Za-z0-9]+\/?$/.test(new URL(issuer).pathname)
  } catch {
    return false
  }
}

/**
 * True when the access token was granted the admin scope. Cognito's token response names no scope;
 * its access token's `scope` claim does (read, not verified: the token came from Cognito's token
 * endpoint, and Cognito checks it again).
 */
export function hasAdminScope(tokens: Pick<TokenSet, 'accessToken'> | undefined): boolean {
  if (tokens === undefined) return false
  try {
    const scope = decodeJwt(tokens.accessToken).scope
    return typeof scope === 'string' && scope.split(' ').includes(ADMIN_SCOPE)
  } catch {
    return false
  }
}

/** Asks Cognito to sign the person out of every app of the pool. Never throws: the outcome says what happened. */
export async function globalSignOut(issuer: string, tokens: TokenSet | undefined, timeoutMs: number): Promise<GlobalSignOutOutcome> {
  if (!isCognitoIssuer(issuer)) return { kind: 'not-cognito' }
  if (tokens === undefined || !hasAdminScope(tokens)) return { kind: 'no-scope' }
  let response: Response
  try {
    response = await fetchFromCognito(new URL('/', issuer).href, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityProviderService.GlobalSignOut',
      },
      body: JSON.stringify({ AccessToken: tokens.accessToken }),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    const name = (error as Error).name
    return { kind: 'failed', reason: name === 'TimeoutError' || name === 'AbortError' ? 'Cognito did not answer in time' : 'Cognito could not be reached' }
  }
  if (response.ok) return { kind: 'signed-out' }
  let type = `HTTP ${response.status}`
  try {
    const body = (await response.json()) as { __type?: unknown }
    // `__type` may carry a namespace (`com.amazon…#NotAuthorizedException`): the name is what counts.
    if (typeof body.__type === 'string' && /^[\w.#:]{1,128}$/.test(body.__type)) type = body.__type.split('#').at(-1) as string
  } catch {
    // not JSON: the status says enough
  }
  return { kind: 'failed', reason: type }
}
