/**
 * Signed-in page views under load while a fault happens (a cluster master killed, a Redis restarted):
 * what every answer was, which sessions came back, and for how long page views were refused.
 * Shared by test/sessions/redis-failover.test.ts (which asserts the outcomes) and bench/failover.ts
 * (which prints the figures for docs/performance.md).
 */
import type { LocalCognitoUser } from '../../src/local-cognito/index.js'
import { Browser } from './browser.js'
import { sleep } from './clock.js'
import { signIn, type Stack } from './stack.js'

/** `count` people for the local Cognito: each a user of their own, so their sessions spread over the cluster's slots. */
export function loadUsers (count: number): LocalCognitoUser[] {
  return Array.from({ length: count }, (_, i) => ({
    username: `load-${i}`,
    password: `Load-passw0rd-${i}`,
    email: `load-${i}@example.com`,
    emailVerified: true,
    name: `Load ${i}`
  }))
}

export interface Person {
  readonly username: string
  readonly browser: Browser
}

/** Signs each user in, on the stacks in turn (the first on the first stack, …). */
export async function signInAll (stacks: readonly Stack[], users: readonly LocalCognitoUser[]): Promise<Person[]> {
  const people: Person[] = []
  for (const [i, user] of users.entries()) {
    const browser = new Browser()
    const stack = stacks[i % stacks.length] as Stack
    const done = await signIn(browser, stack, { username: user.username, password: user.password })
    if (done.response.status !== 200) throw new Error(`sign-in of ${user.username} ended with ${done.response.status}`)
    people.push({ username: user.username, browser })
  }
  return people
}

export interface View {
  readonly person: string
  /** When the request was sent and answered (ms since the epoch, real time). */
  readonly sentAt: number
  readonly answeredAt: number
  /** The status, or 0 when the request itself failed (connection refused, reset). */
  readonly status: number
  /** A 200 that shows this person signed in. */
  readonly signedIn: boolean
}

export interface LoadReport {
  readonly views: readonly View[]
  /** When the fault began (just before `fault()` was called). */
  readonly faultAt: number
  /** When `fault()` resolved (for a restart: the server answers again). */
  readonly faultDoneAt: number
  /** How many answers of each status (0: the request failed). */
  readonly statuses: Readonly<Record<number, number>>
  /** Views that were neither a signed-in 200 nor a 503. */
  readonly wrong: readonly View[]
  /** True when, by the end, every person's last views were signed-in 200s after the last refusal. */
  readonly recovered: boolean
  /** From the first refused view's sending to the last refused view's answer (0 when none was refused). */
  readonly refusedMs: number
  /** From the fault to the first signed-in view sent after the last refusal (0 when none was refused). */
  readonly recoveryMs: number
  readonly refused: number
  /** From the fault to the first wrong answer's sending (undefined when there was none). */
  readonly firstWrongMs: number | undefined
}

export interface LoadOptions {
  /** Views per person before the fault. Default 3. */
  readonly warmupViews?: number
  /** After the last refusal, how long everyone must be served before the load stops. Default 1 000 ms. */
  readonly settleMs?: number
  /** The load stops by this long after the fault, recovered or not. Default 30 000 ms. */
  readonly timeoutMs?: number
  /** Pause between one person's views (each person views one page at a time). Default 20 ms. */
  readonly pauseMs?: number
}

/**
 * Each person views `/logged-in` again and again, on the stacks in turn; after a warm-up, `fault()`
 * runs while the views go on; the load stops once everyone has been served for `settleMs` since the
 * last refusal (or at `timeoutMs`). A 503 counts as refused; anything else but a signed-in 200 is wrong.
 */
export async function pageViewsThrough (stacks: readonly Stack[], people: readonly Person[], fault: () => Promise<void>, options: LoadOptions = {}): Promise<LoadReport> {
  const { warmupViews = 3, settleMs = 1000, timeoutMs = 30_000, pauseMs = 20 } = options
  const views: View[] = []
  let stop = false
  let faultAt = Number.POSITIVE_INFINITY

  async function viewer (person: Person, offset: number): Promise<void> {
    let turn = offset
    while (!stop) {
      const stack = stacks[turn++ % stacks.length] as Stack
      const sentAt = Date.now()
      let status = 0
      let signedIn = false
      try {
        const response = await person.browser.get(`${stack.baseUrl}/logged-in`)
        status = response.status
        const html = await response.text()
        signedIn = status === 200 && html.includes(`data-field="username">${person.username}<`)
      } catch {
        status = 0
      }
      views.push({ person: person.username, sentAt, answeredAt: Date.now(), status, signedIn })
      await sleep(pauseMs)
    }
  }

  const running = people.map(async (person, i) => { await viewer(person, i) })
  const warmedBy = Date.now() + 10_000
  while (people.some((p) => views.filter((v) => v.person === p.username).length < warmupViews) && Date.now() < warmedBy) await sleep(20)

  faultAt = Date.now()
  let faultDoneAt = faultAt
  try {
    await fault()
    faultDoneAt = Date.now()
    const deadline = faultAt + timeoutMs
    while (Date.now() < deadline) {
      await sleep(50)
      const lastBad = views.reduce((at, v) => (v.signedIn ? at : Math.max(at, v.answeredAt)), 0)
      const since = Math.max(lastBad, faultDoneAt)
      const everyoneServed = people.every((p) => views.some((v) => v.person === p.username && v.signedIn && v.sentAt > since))
      if (everyoneServed && Date.now() - since >= settleMs) break
    }
  } finally {
    stop = true
    await Promise.all(running)
  }

  const statuses: Record<number, number> = {}
  for (const v of views) statuses[v.status] = (statuses[v.status] ?? 0) + 1
  const refusedViews = views.filter((v) => v.status === 503)
  const wrong = views.filter((v) => !v.signedIn && v.status !== 503)
  const lastBad = views.reduce((at, v) => (v.signedIn ? at : Math.max(at, v.answeredAt)), 0)
  const recovered = people.every((p) => {
    const own = views.filter((v) => v.person === p.username)
    const last = own.at(-1)
    return last !== undefined && last.signedIn && own.some((v) => v.signedIn && v.sentAt > lastBad)
  })
  const firstRefused = refusedViews.reduce((at, v) => Math.min(at, v.sentAt), Number.POSITIVE_INFINITY)
  const lastRefused = refusedViews.reduce((at, v) => Math.max(at, v.answeredAt), 0)
  const firstServedAfter = views.filter((v) => v.signedIn && v.sentAt > lastRefused).reduce((at, v) => Math.min(at, v.sentAt), Number.POSITIVE_INFINITY)
  return {
    views,
    faultAt,
    faultDoneAt,
    statuses,
    wrong,
    recovered,
    refused: refusedViews.length,
    firstWrongMs: wrong.length === 0 ? undefined : Math.min(...wrong.map((v) => v.sentAt)) - faultAt,
    refusedMs: refusedViews.length === 0 ? 0 : lastRefused - firstRefused,
    recoveryMs: refusedViews.length === 0 || !Number.isFinite(firstServedAfter) ? 0 : firstServedAfter - faultAt
  }
}

/** One line for a report: counts, the refused window and the time to recovery. */
export function describeLoad (report: LoadReport): string {
  const counts = Object.entries(report.statuses).map(([status, n]) => `${status === '0' ? 'failed' : status}: ${n}`).join(', ')
  return `${report.views.length} page views (${counts}); refused for ${report.refusedMs} ms (${report.refused} answers 503); ` +
    `served again ${report.recoveryMs} ms after the fault began; ${report.recovered ? 'everyone recovered' : 'NOT everyone recovered'}` +
    (report.wrong.length === 0 ? '' : `; ${report.wrong.length} wrong answers (${[...new Set(report.wrong.map((v) => v.person))].length} people), the first ${report.firstWrongMs ?? 0} ms after the fault`)
}
