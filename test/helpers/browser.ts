/**
 * A small HTTP "browser" for integration tests: real requests over loopback, redirects followed by
 * hand, and a cookie jar keyed by host name (as browsers do: cookies ignore the port), so the app at
 * `localhost` and the local Cognito at `127.0.0.1` are two sites.
 */
export interface StoredCookie {
  value: string
  attributes: string
}

export interface Hop {
  url: string
  status: number
  location: string | undefined
}

export class Browser {
  readonly jar = new Map<string, Map<string, StoredCookie>>()
  /** Every Set-Cookie header received, raw, for assertions on flags. */
  readonly setCookies: string[] = []

  cookies(host: string): Map<string, StoredCookie> {
    let cookies = this.jar.get(host)
    if (!cookies) {
      cookies = new Map()
      this.jar.set(host, cookies)
    }
    return cookies
  }

  cookie(host: string, name: string): string | undefined {
    return this.cookies(host).get(name)?.value
  }

  setCookie(host: string, name: string, value: string): void {
    this.cookies(host).set(name, { value, attributes: '' })
  }

  deleteCookie(host: string, name: string): void {
    this.cookies(host).delete(name)
  }

  #store(host: string, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      this.setCookies.push(line)
      const [pair = '', ...attributes] = line.split(';')
      const i = pair.indexOf('=')
      const name = pair.slice(0, i).trim()
      const value = pair.slice(i + 1).trim()
      const expired =
        value === '' || /max-age=0(?:;|$)/i.test(line.replace(/\s/g, '')) || /expires=thu, 01 jan 1970/i.test(line)
      if (expired) this.cookies(host).delete(name)
      else this.cookies(host).set(name, { value, attributes: attributes.join(';').trim() })
    }
  }

  async request(url: string | URL, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url)
    const headers = new Headers(init.headers)
    const jar = this.cookies(target.hostname)
    if (jar.size > 0 && !headers.has('cookie')) {
      headers.set('cookie', [...jar].map(([name, c]) => `${name}=${c.value}`).join('; '))
    }
    let body = init.body
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded')
      body = new URLSearchParams(init.form).toString()
    }
    // Connect to the loopback address directly; the cookie host stays the logical one.
    const connect = new URL(target)
    if (connect.hostname === 'localhost') connect.hostname = '127.0.0.1'
    const response = await fetch(connect, { ...init, body, headers, redirect: 'manual' })
    this.#store(target.hostname, response)
    return response
  }

  get(url: string | URL, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(url, { headers })
  }

  post(url: string | URL, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(url, { method: 'POST', form, headers })
  }

  /** Follows redirects (GET after 302/303) until a non-redirect answer; returns it and the hops. */
  async follow(first: Response, from: string | URL, max = 10): Promise<{ response: Response; url: string; hops: Hop[] }> {
    let response = first
    let url = new URL(from).href
    const hops: Hop[] = []
    for (let i = 0; i < max; i++) {
      const location = response.headers.get('location') ?? undefined
      hops.push({ url, status: response.status, location })
      if (response.status < 300 || response.status >= 400 || !location) return { response, url, hops }
      await response.arrayBuffer()
      url = new URL(location, url).href
      response = await this.get(url)
    }
    throw new Error(`too many redirects from ${from}`)
  }

  async navigate(url: string | URL): Promise<{ response: Response; url: string; hops: Hop[] }> {
    return this.follow(await this.get(url), url)
  }
}

/** A POST form of the hosted UI: the sign-in page, the sign-up page or the simulated IdP's page. */
export interface HostedForm {
  /** Where it posts, resolved against the page's URL. */
  action: string
  /** The action attribute as written in the page (entities decoded), e.g. `/login?client_id=…`. */
  formAction: string
  /** The form's name: `cognitoSignInForm`, `cognitoSignUpForm` or `federatedSignInForm`. */
  name: string | undefined
  /** The hidden `_csrf` field (the hosted UI's double-submit token). */
  csrf: string
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
}

/**
 * The hosted UI's form (sign-in, sign-up, or the simulated IdP's Continue/Cancel): the first POST form
 * in the page, its action and name, and the `_csrf` field inside it. The one parser for those pages.
 */
export function parseSignInForm(html: string, pageUrl: string | URL): HostedForm {
  const tag = /<form\b[^>]*\bmethod="post"[^>]*>/i.exec(html)
  const attribute = (name: string): string | undefined => {
    const value = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag?.[0] ?? '')?.[1]
    return value === undefined ? undefined : decodeEntities(value)
  }
  const formAction = attribute('action')
  const end = tag ? html.indexOf('</form>', tag.index) : -1
  const body = tag ? html.slice(tag.index, end === -1 ? undefined : end) : ''
  const csrf = /name="_csrf"\s+value="([^"]*)"/i.exec(body)?.[1]
  if (formAction === undefined || csrf === undefined) throw new Error(`no hosted UI form at ${pageUrl}`)
  return { action: new URL(formAction, pageUrl).href, formAction, name: attribute('name'), csrf: decodeEntities(csrf) }
}

/** The app's CSRF token from a page with the sign-out form. */
export function csrfTokenOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
  if (!token) throw new Error('no CSRF token in page')
  return token
}
