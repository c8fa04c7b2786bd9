/**
 * The one place that decides whether the browser tests can run: launches Debian's Chromium
 * through playwright-core, or skips the file (fails it under CI) with a clear message.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium; CHROMIUM_PATH overrides it (e.g. to check the skip path). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_MISSING =
  'Chromium not found: install it with `apt-get install -y chromium` (Debian) to run the browser tests'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The part of a tap test this helper needs. */
export interface TestLike {
  fail(message: string): unknown
  plan(n: number, comment?: string): void
  teardown(fn: () => unknown): void
}

/**
 * Launches Chromium for one test file and closes it in teardown. When it is missing or cannot
 * start: under CI (`CI=true`) the test fails; elsewhere the file is skipped. Returns undefined then,
 * and the caller adds no tests.
 */
export async function launchChromium(t: TestLike): Promise<Browser | undefined> {
  let reason: string | undefined
  let browser: Browser | undefined
  if (!existsSync(CHROMIUM_PATH)) {
    reason = CHROMIUM_MISSING
  } else {
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 })
    } catch (error) {
      const detail = (error as Error).message.split('\n')[0]
      reason = `${CHROMIUM_MISSING} (${CHROMIUM_PATH} did not start: ${detail})`
    }
  }
  if (!browser) {
    if (process.env.CI === 'true') t.fail(`${reason} — the browser tests are required under CI`)
    else t.plan(0, reason)
    return undefined
  }
  const launched = browser
  t.teardown(() => launched.close())
  return launched
}
