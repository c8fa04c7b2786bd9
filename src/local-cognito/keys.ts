/** RSA signing keys and the JWKS document. */
import { createHash, generateKeyPair, type KeyObject } from 'node:crypto'

export interface PublicJwk {
  alg: 'RS256'
  e: string
  kid: string
  kty: 'RSA'
  n: string
  use: 'sig'
}

export interface SigningKey {
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
  jwk: PublicJwk
}

function rsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, (err, publicKey, privateKey) => {
      if (err) reject(err)
      else resolve({ publicKey, privateKey })
    })
  })
}

/**
 * A new RSA-2048 key. The kid is a 44-character standard base64 string like Cognito's:
 * base64 of the SHA-256 over the RFC 7638 thumbprint input of the public key.
 */
export async function createSigningKey(): Promise<SigningKey> {
  const { publicKey, privateKey } = await rsaKeyPair()
  const exported = publicKey.export({ format: 'jwk' })
  const e = String(exported.e)
  const n = String(exported.n)
  const kid = createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64')
  return { kid, privateKey, publicKey, jwk: { alg: 'RS256', e, kid, kty: 'RSA', n, use: 'sig' } }
}

export interface KeySet {
  id: SigningKey
  access: SigningKey
}

export async function createKeySet(): Promise<KeySet> {
  const [id, access] = await Promise.all([createSigningKey(), createSigningKey()])
  return { id, access }
}
