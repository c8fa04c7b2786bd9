/**
 * The load generator, in its own process so that it never shares an event loop with the app:
 * receives one target over IPC, runs autocannon (a warm-up, then the measured run), sends back
 * the figures.
 */
import autocannon from 'autocannon'

export interface LoadRequest {
  url: string
  headers: Record<string, string>
  connections: number
  warmupSeconds: number
  durationSeconds: number
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

function run(request: LoadRequest, duration: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: request.url, headers: request.headers, connections: request.connections, duration, pipelining: 1 },
      (error, result) => (error ? reject(error) : resolve(result)),
    )
  })
}

process.on('message', async (request: LoadRequest) => {
  try {
    if (request.warmupSeconds > 0) await run(request, request.warmupSeconds)
    const r = await run(request, request.durationSeconds)
    const result: LoadResult = {
      requests: r.requests.total,
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
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
