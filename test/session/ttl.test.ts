import t from 'tap'
import { remainingMs, storeTtlMs } from '../../src/session/stores/ttl.js'

const now = Date.UTC(2030, 0, 1, 12, 0, 0)

t.test('cookie expiry only (Date, ISO string as restored from JSON, number)', async (t) => {
  t.equal(remainingMs({ cookie: { expires: new Date(now + 60_000) } }, now), 60_000)
  t.equal(remainingMs({ cookie: { expires: new Date(now + 60_000).toISOString() } }, now), 60_000)
  t.equal(remainingMs({ cookie: { expires: now + 5 } }, now), 5)
  t.equal(remainingMs({ cookie: { expires: 'not a date' } }, now), undefined, 'invalid date ignored')
})

t.test('absolute expiry only', async (t) => {
  t.equal(remainingMs({ absoluteExpiresAt: now + 3_600_000 }, now), 3_600_000)
  t.equal(remainingMs({ cookie: { expires: null }, absoluteExpiresAt: now + 10 }, now), 10)
  t.equal(remainingMs({ absoluteExpiresAt: String(now + 10) }, now), undefined, 'non-numeric field ignored')
  t.equal(remainingMs({ absoluteExpiresAt: Number.NaN }, now), undefined)
})

t.test('both set: the smaller wins', async (t) => {
  t.equal(remainingMs({ cookie: { expires: new Date(now + 60_000) }, absoluteExpiresAt: now + 30_000 }, now), 30_000)
  t.equal(remainingMs({ cookie: { expires: new Date(now + 20_000) }, absoluteExpiresAt: now + 30_000 }, now), 20_000)
  t.equal(remainingMs({ cookie: { expires: new Date(now + 20_000) }, absoluteExpiresAt: now - 1 }, now), -1)
})

t.test('neither set', async (t) => {
  t.equal(remainingMs({}, now), undefined)
  t.equal(remainingMs({ cookie: { expires: null } }, now), undefined)
  t.equal(remainingMs({ cookie: null }, now), undefined)
  t.equal(remainingMs(null, now), undefined)
  t.equal(storeTtlMs({}, now, 1234), 1234, 'store falls back to its default TTL')
})

t.test('expired', async (t) => {
  t.equal(remainingMs({ cookie: { expires: new Date(now) } }, now), 0)
  t.ok((remainingMs({ cookie: { expires: new Date(now - 1000) } }, now) ?? 1) < 0)
  t.equal(storeTtlMs({ cookie: { expires: new Date(now) } }, now, 1234), 0)
  t.equal(storeTtlMs({ absoluteExpiresAt: now - 5 }, now, 1234), 0)
  t.equal(storeTtlMs({ absoluteExpiresAt: now + 0.2 }, now, 1234), 1, 'a live session gets at least 1 ms')
})
