/** fetch with a bounded response size: a huge or endless answer from the provider is refused, not read. */
export class ResponseTooLargeError extends Error {
  constructor(url: string) {
    super(`response from ${new URL(url).pathname} is larger than allowed`)
    this.name = 'ResponseTooLargeError'
  }
}

export async function fetchBounded(url: string, init: RequestInit, maxBytes: number): Promise<Response> {
  const response = await fetch(url, init)
  if (Number(response.headers.get('content-length') ?? '0') > maxBytes) {
    await response.body?.cancel()
    throw new ResponseTooLargeError(url)
  }
  if (!response.body) return response
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw new ResponseTooLargeError(url)
    }
    chunks.push(value)
  }
  return new Response(Buffer.concat(chunks), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
}
