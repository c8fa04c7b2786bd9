/**
 * What the app sent over the back channel: every fetch this process makes is recorded (the app and
 * the local Cognito run in the test's process), with its URL, method, headers and body.
 */
import { Browser } from '../helpers/browser.js'

export interface SentRequest {
  url: URL
  method: string
  headers: Headers
  body: string
}

/** Records every fetch from now on (the real fetch still runs); the returned list fills as requests go out. */
export function recordFetches(teardown: { teardown(fn: () => unknown): void }): SentRequest[] {
  const sent: SentRequest[] = []
  const real = globalThis.fetch
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const body = init?.body
    sent.push({
      url,
      method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(),
      headers: new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)),
      body: typeof body === 'string' || body instanceof URLSearchParams ? String(body) : body == null ? '' : '[binary]',
    })
    return real(input, init)
  }) as typeof fetch
  teardown.teardown(() => {
    globalThis.fetch = real
  })
  return sent
}

/** One response as a browser would see it: status, URL, every header and the body. */
export interface SeenResponse {
  url: string
  status: number
  headers: string
  body: string
}

/** A Browser that keeps every response it receives (headers and body), for scanning afterwards. */
export class RecordingBrowser extends Browser {
  readonly seen: SeenResponse[] = []

  override async request(url: string | URL, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const response = await super.request(url, init)
    const body = await response.clone().text()
    this.seen.push({ url: String(url), status: response.status, headers: JSON.stringify([...response.headers]), body })
    return response
  }

  /** Everything seen, and every cookie stored, as one text. */
  everything(): string {
    const cookies = [...this.jar.values()].flatMap((jar) => [...jar].map(([name, c]) => `${name}=${c.value}; ${c.attributes}`))
    return [...this.seen.map((r) => `${r.url}\n${r.headers}\n${r.body}`), ...this.setCookies, ...cookies].join('\n')
  }
}
