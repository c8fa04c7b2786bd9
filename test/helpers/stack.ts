/**
 * Builds the real app and a real local Cognito on loopback, wired to each other, for one test.
 * Both are closed in t.teardown.
 */
import { once } from 'node:events'
import { createServer } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../../src/app.js'
import { loadPoolConfig, type Config } from '../../src/config/index.js'
import {
  defaultLocalClient,
  startLocalCognito,
  type LocalCognito,
  type LocalCognitoOptions,
} from '../../src/local-cognito/index.js'
import { Browser, parseSignInForm, type Hop } from './browser.js'
import { TestClock } from './clock.js'

export interface Teardown {
  teardown(fn: () => unknown): void
}

/** A port the OS has just handed out (the app must know its own URL before it listens). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface Stack {
  app: FastifyInstance
  /** The time the app and (unless shared) its local Cognito read; tests move it instead of sleeping. */
  clock: TestClock
  cognito: LocalCognito
  config: Config
  /** Where this instance listens, as `http://localhost:<port>`. */
  baseUrl: string
  clientId: string
  clientSecret: string
  /** Log lines written by the app (JSON strings). */
  logs: string[]
}

export interface StackOptions {
  env?: Record<string, string>
  /** The clock (default a new one); give the shared Cognito's clock to instances that share it. */
  clock?: TestClock
  /** Options for the local Cognito startStack starts (which always runs on `clock`). */
  cognito?: Omit<LocalCognitoOptions, 'now'>
  /** Reuse a running local Cognito (e.g. for two app instances); needs `clock`, the one it runs on. */
  sharedCognito?: LocalCognito
  deps?: AppDeps
  /** Port for the app; default: a free one. */
  port?: number
  /** The public base URL (APP_BASE_URL), when several instances stand behind one address. */
  appBaseUrl?: string
}

export async function startCognito(t: Teardown, options: LocalCognitoOptions = {}): Promise<LocalCognito> {
  const cognito = await startLocalCognito(options)
  t.teardown(() => cognito.close())
  return cognito
}

/** How many times the local Cognito served its key set (`<issuer>/.well-known/jwks.json`). */
export function jwksFetches(cognito: Pick<LocalCognito, 'requests'>): number {
  return cognito.requests.filter((r) => r.path.endsWith('/.well-known/jwks.json')).length
}

/**
 * A local Cognito for several app instances, and the clock it runs on: give that clock to every
 * startStack that shares this Cognito, so all of them see the same time.
 */
export async function startSharedCognito(t: Teardown, options: LocalCognitoOptions = {}): Promise<{ cognito: LocalCognito; clock: TestClock }> {
  const clock = new TestClock()
  const cognito = await startCognito(t, { now: () => clock.now(), ...options })
  return { cognito, clock }
}

export async function startStack(t: Teardown, options: StackOptions = {}): Promise<Stack> {
  if (options.sharedCognito && !options.clock) {
    throw new Error('startStack: with sharedCognito, pass the clock that Cognito runs on (startSharedCognito gives both)')
  }
  const port = options.port ?? (await freePort())
  const baseUrl = `http://localhost:${port}`
  const publicUrl = options.appBaseUrl ?? baseUrl
  const client = defaultLocalClient(publicUrl)
  const clock = options.clock ?? new TestClock()
  let cognito = options.sharedCognito
  if (!cognito) {
    cognito = await startCognito(t, { ...options.cognito, now: () => clock.now(), clients: [client, ...(options.cognito?.clients ?? [])] })
  }
  else cognito.addClient(client)

  const config = loadPoolConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    APP_BASE_URL: publicUrl,
    COGNITO_ISSUER: cognito.issuer,
    COGNITO_CLIENT_ID: client.clientId,
    COGNITO_CLIENT_SECRET: client.clientSecret,
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
    COGNITO_TIMEOUT: '3s',
    ...options.env,
  })
  const logs: string[] = []
  const app = await buildApp(config, {
    clock,
    logStream: { write: (line: string) => void logs.push(line) },
    ...options.deps,
  })
  t.teardown(() => app.close())
  await app.listen({ port, host: '127.0.0.1' })
  await app.cognito.provider.getConfiguration().catch(() => undefined)
  return {
    app,
    clock,
    cognito,
    config,
    baseUrl,
    clientId: client.clientId,
    clientSecret: client.clientSecret as string,
    logs,
  }
}

export interface SignInResult {
  response: Response
  url: string
  html: string
  hops: Hop[]
}

type SignInOptions = { username?: string; password?: string; start?: string }
/** What signing in needs to know: where the app is, and its local Cognito (which may run elsewhere). */
export type SignInTarget = Pick<Stack, 'baseUrl'> & { cognito: Pick<LocalCognito, 'origin'> }

/** Opens the app's start page, follows it to the hosted sign-in form and submits it. */
async function submitSignInForm(browser: Browser, stack: SignInTarget, options: SignInOptions) {
  const start = new URL(options.start ?? '/login', stack.baseUrl).href
  const toForm = await browser.navigate(start)
  if (!toForm.url.startsWith(stack.cognito.origin)) {
    throw new Error(`expected the hosted sign-in page, got ${toForm.response.status} at ${toForm.url}`)
  }
  const form = parseSignInForm(await toForm.response.text(), toForm.url)
  const submitted = await browser.post(form.action, {
    _csrf: form.csrf,
    username: options.username ?? 'demo',
    password: options.password ?? 'Demo-passw0rd',
  })
  return { submitted, action: form.action, hops: toForm.hops }
}

/**
 * Signs in through the app and the local Cognito's hosted UI like a person would: GET /login (or a
 * protected page), follow to the sign-in form, submit it, follow back to the app.
 */
export async function signIn(browser: Browser, stack: SignInTarget, options: SignInOptions = {}): Promise<SignInResult> {
  const { submitted, action, hops } = await submitSignInForm(browser, stack, options)
  const back = await browser.follow(submitted, action)
  return { response: back.response, url: back.url, html: await back.response.text(), hops: [...hops, ...back.hops] }
}

/** Drives the app to the Cognito callback but stops there: returns the callback URL Cognito sent. */
export async function callbackUrlFor(browser: Browser, stack: Stack, options: SignInOptions = {}): Promise<string> {
  const { submitted, action } = await submitSignInForm(browser, stack, options)
  const location = submitted.headers.get('location')
  if (submitted.status !== 302 || !location) throw new Error(`sign-in form answered ${submitted.status}`)
  return new URL(location, action).href
}

/**
 * Moves the stack's clock to `offsetMs` from the moment the app starts refreshing tokens that expire at
 * `accessExpiresAt` (that expiry minus TOKEN_REFRESH_MARGIN): negative is before it, positive inside
 * the margin. Tokens keep their normal life; only the clock moves.
 */
export function moveToRefresh(stack: Pick<Stack, 'clock' | 'config'>, accessExpiresAt: number, offsetMs: number): void {
  stack.clock.advanceTo(accessExpiresAt - stack.config.cognito.refreshMarginMs + offsetMs)
}

/** The server-side session id behind the browser's session cookie (value `<id>.<signature>`). */
export function sessionIdOf(browser: Browser, cookieName = 'sid', host = 'localhost'): string | undefined {
  const raw = browser.cookie(host, cookieName)
  if (!raw) return undefined
  const signed = decodeURIComponent(raw)
  return signed.slice(0, signed.lastIndexOf('.'))
}
