import { Signer } from '@fastify/cookie'
import t from 'tap'
import { SessionIdSigner } from '../../src/session/id-signer.js'

const SECRET = 'a-session-secret-that-is-long-enough-0123456789'

t.test('signs and verifies exactly like @fastify/cookie’s Signer', async (t) => {
  const signer = new SessionIdSigner(SECRET)
  const reference = new Signer(SECRET, 'sha256')
  const signed = signer.sign('session-id-1')
  t.equal(signed, reference.sign('session-id-1'))
  t.same(signer.unsign(signed), { valid: true, renew: false, value: 'session-id-1' })
  t.same(signer.unsign(signed), { valid: true, renew: false, value: 'session-id-1' }, 'and again, from memory')
  t.equal(signer.sign('session-id-1'), signed, 'signing a verified id gives the cookie back')
})

t.test('forged, tampered and foreign cookies fail and are not remembered', async (t) => {
  const signer = new SessionIdSigner(SECRET)
  const good = signer.sign('victim')
  const forged = [
    'victim',
    'victim.',
    `${good}x`,
    `attacker${good.slice(good.indexOf('.'))}`,
    new Signer('another-secret-that-is-long-enough-0123456789', 'sha256').sign('victim'),
  ]
  for (const value of forged) {
    t.same(signer.unsign(value), { valid: false, renew: false, value: null }, value)
    t.same(signer.unsign(value), { valid: false, renew: false, value: null }, `${value} again`)
  }
  t.equal(signer.size, 0, 'nothing remembered')
  t.ok(signer.unsign(good).valid)
  t.equal(signer.size, 1)
})

t.test('memory is bounded: the earliest verified are forgotten first, and still verify', async (t) => {
  const signer = new SessionIdSigner(SECRET, 3)
  const cookies = ['a', 'b', 'c', 'd', 'e'].map((id) => signer.sign(id))
  for (const cookie of cookies) t.ok(signer.unsign(cookie).valid)
  t.equal(signer.size, 3)
  t.same(signer.unsign(cookies[0] as string), { valid: true, renew: false, value: 'a' }, 'a forgotten cookie is verified afresh')
  t.equal(signer.size, 3)
})

t.test('answers cannot be changed by a caller', async (t) => {
  const signer = new SessionIdSigner(SECRET)
  const cookie = signer.sign('id')
  const first = signer.unsign(cookie)
  t.throws(() => {
    ;(first as { value: string | null }).value = 'someone-else'
  }, TypeError)
  t.equal(signer.unsign(cookie).value, 'id')
})
