/**
 * The load generator, in its own process so that it never shares an event loop with the app:
 * receives one target over IPC, runs autocannon (a warm-up, then the measured run, for a duration or
 * a number of requests), sends back the figures. Latency percentiles are taken from every response's
 * own time (autocannon's histogram rounds them to whole milliseconds, too coarse for a 1.25× bound
 * on a p99 of a few ms).
 */
import autocannon from 'autocannon'

export interface LoadRequest {
  url: string
  headers: Record<string, string>
  connections: number
  warmupSeconds: number
  durationSeconds: number
  /** Instead of a duration: this many requests, then stop. */
  amount?: number
}

export interface LoadResult {
  requests: number
  rps: number
  p50: number
  p99: number
  max: number
  non2xx: number
  errors: number
  timeouts: number
  bytesPerResponse: number
}

/** The value below which `share` of the sorted values lie. */
function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] as number
}

function run(request: LoadRequest, duration: number, amount?: number): Promise<{ result: autocannon.Result; latencies: number[] }> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = []
    const instance = autocannon(
      { url: request.url, headers: request.headers, connections: request.connections, pipelining: 1, ...(amount === undefined ? { duration } : { amount }) },
      (error, result) => (error ? reject(error) : resolve({ result, latencies })),
    )
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime)
    })
  })
}

process.on('message', async (request: LoadRequest) => {
  try {
    if (request.warmupSeconds > 0) await run(request, request.warmupSeconds)
    const { result: r, latencies } = await run(request, request.durationSeconds, request.amount)
    latencies.sort((a, b) => a - b)
    const result: LoadResult = {
      requests: r.requests.total,
      rps: r.requests.average,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      bytesPerResponse: r.requests.total > 0 ? Math.round(r.throughput.total / r.requests.total) : 0,
    }
    process.send?.({ ok: true, result })
  } catch (error) {
    process.send?.({ ok: false, message: (error as Error).message })
  }
})
process.send?.({ ready: true })
