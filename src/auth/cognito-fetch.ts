/** Every HTTP call to Cognito goes through here: its answer is capped, so a huge or endless one is refused, not read. */
import { fetchBounded, ResponseTooLargeError } from '../lib/bounded-fetch.js'
import { CognitoError } from './errors.js'

/** Cap on any response body from Cognito; its documents are a few kilobytes. */
export const MAX_RESPONSE_BYTES = 256 * 1024

export async function fetchFromCognito(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchBounded(url, init, MAX_RESPONSE_BYTES)
  } catch (error) {
    if (error instanceof ResponseTooLargeError) throw new CognitoError('too-large', error.message)
    throw error
  }
}
