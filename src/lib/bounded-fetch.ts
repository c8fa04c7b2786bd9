/** fetch with a bounded response size: a huge or endless answer from the provider is refused, not read. */
export class ResponseTooLargeError extends Error {
  constructor(url: string) {
    super(`response from ${new URL(url).pathname} is larger than allowed`)
    this.name = 'ResponseTooLargeError'
  }
}

/** The body's bytes, or undefined when it is larger than `maxBytes` (the rest is not read). */
async function readBytes(response: Response, maxBytes: number): Promise<Buffer | undefined> {
  if (Number(response.headers.get('content-length') ?? '0') > maxBytes) {
    await response.body?.cancel()
    return undefined
  }
  if (!response.body) return Buffer.alloc(0)
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

export async function fetchBounded(url: string, init: RequestInit, maxBytes: number): Promise<Response> {
  const response = await fetch(url, init)
  if (!response.body) return response
  const body = await readBytes(response, maxBytes)
  if (body === undefined) throw new ResponseTooLargeError(url)
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}

/** The body as text, or undefined when it is larger than `maxBytes` (the rest is not read). */
export async function readBounded(response: Response, maxBytes: number): Promise<string | undefined> {
  return (await readBytes(response, maxBytes))?.toString('utf8')
}
