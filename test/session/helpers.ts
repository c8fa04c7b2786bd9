/** A Redis session store for one test: its own key prefix, an admin client to look at the keys, both cleaned up. */
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { RedisSessionStore } from '../../src/session/stores/redis.js'
import { deleteKeys, REDIS_URL, uniquePrefix } from '../helpers/redis.js'

export async function redisStoreFor(t: Test, name: string): Promise<{ store: RedisSessionStore; admin: Redis; prefix: string }> {
  const prefix = uniquePrefix(name)
  const admin = new Redis(REDIS_URL)
  t.teardown(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await admin.quit()
  })
  const store = new RedisSessionStore({ url: REDIS_URL, prefix })
  t.teardown(() => store.close())
  t.equal(await store.ping(), true, 'Redis answers')
  return { store, admin, prefix }
}
