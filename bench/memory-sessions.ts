/**
 * Heap cost of sessions in the memory store: stores N realistic sessions (an ID, access and refresh
 * token of JWT size, the profile, cookie data, a CSRF secret) and reports the heap growth.
 * Run in its own process with --expose-gc; prints one JSON line.
 */
import { randomBytes } from 'node:crypto'
import type { Session } from 'fastify'
import { MemorySessionStore } from '../src/session/stores/memory.js'

const count = Number(process.argv[2] ?? 100_000)
const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with --expose-gc')

/** A base64url string of about `length` characters, unique to each call (three parts, like a JWT). */
function jwtLike(length: number): string {
  const part = (n: number) => randomBytes(Math.ceil((n * 3) / 4)).toString('base64url').slice(0, n)
  const header = part(Math.round(length * 0.1))
  const signature = part(342) // RS256 signature, 256 bytes
  return `${header}.${part(length - header.length - signature.length - 2)}.${signature}`
}

function session(i: number): Session {
  const now = Date.now()
  return {
    cookie: { originalMaxAge: 86_400_000, expires: new Date(now + 86_400_000), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
    user: {
      sub: `0a1b2c3d-${String(i).padStart(4, '0')}-4e5f-8a9b-0c1d2e3f4a5b`,
      username: `user${i}`,
      name: `Person Number ${i}`,
      email: `user${i}@example.com`,
      emailVerified: true,
      groups: ['admin'],
      authTime: now,
    },
    tokens: {
      idToken: jwtLike(1_100),
      accessToken: jwtLike(1_050),
      refreshToken: jwtLike(1_750),
      accessExpiresAt: now + 3_600_000,
    },
    signedInAt: now,
    lastSeenAt: now,
    absoluteExpiresAt: now + 7 * 86_400_000,
    _csrf: randomBytes(18).toString('base64url'),
  } as unknown as Session
}

const store = new MemorySessionStore({ maxSessions: count + 1, sweepIntervalMs: 0, defaultTtlMs: 86_400_000 })
// Build the sessions first and let them go: what stays is what the store keeps.
gc()
gc()
const before = process.memoryUsage()
let jsonBytes = 0
for (let i = 0; i < count; i++) {
  const s = session(i)
  jsonBytes += Buffer.byteLength(JSON.stringify(s))
  store.set(randomBytes(24).toString('base64url'), s, () => undefined)
}
gc()
gc()
const after = process.memoryUsage()
process.stdout.write(
  `${JSON.stringify({
    count,
    stored: store.size,
    heapGrowthBytes: after.heapUsed - before.heapUsed,
    externalGrowthBytes: after.external - before.external,
    rssGrowthBytes: after.rss - before.rss,
    jsonBytesPerSession: Math.round(jsonBytes / count),
  })}\n`,
)
await store.close()
