/**
 * Seals the tokens inside a stored session record (AES-256-GCM, a key derived from the session
 * secret): a Redis dump, replica or backup, or a heap snapshot of the memory store, shows no JWT and no
 * refresh token. Several secrets, newest first, during a rotation: the first seals, every one opens.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { deriveKeys, type Secrets } from '../../lib/secrets.js'

export interface TokenSealer {
  seal(plain: string): string
  /** The plain text, or undefined when no key opens it (tampered, or sealed with a removed secret). */
  open(sealed: string): string | undefined
}

export function createTokenSealer(secrets: Secrets): TokenSealer {
  const keys = deriveKeys(secrets, 'session tokens')
  if (keys.length === 0) throw new TypeError('createTokenSealer needs a secret')
  return {
    seal(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', keys[0] as Uint8Array, iv)
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return `v1.${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`
    },
    open(sealed) {
      const [version, iv, body, tag] = sealed.split('.')
      if (version !== 'v1' || iv === undefined || body === undefined || tag === undefined) return undefined
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
          decipher.setAuthTag(Buffer.from(tag, 'base64url'))
          return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
        } catch {
          // not this key
        }
      }
      return undefined
    },
  }
}
