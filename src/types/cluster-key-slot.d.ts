/** cluster-key-slot ships no types: the Redis Cluster hash slot (0–16383) of a key, hash tags included (as ioredis computes it). */
declare module 'cluster-key-slot' {
  function calculateSlot (key: string | Buffer): number
  export default calculateSlot
}
