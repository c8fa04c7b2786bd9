/** The clock tests hand to the app and the local Cognito: real time plus an offset the test moves. */
import type { Clock } from '../../src/lib/clock.js'

export class TestClock implements Clock {
  #offset = 0

  now(): number {
    return Date.now() + this.#offset
  }

  /** Moves time forward by `ms` for everyone holding this clock. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): the clock only moves forward`)
    this.#offset += ms
  }

  /** Moves time forward to `at` (epoch ms). */
  advanceTo(at: number): void {
    this.advance(at - this.now())
  }
}

/**
 * A real wait, for what the clock cannot move: a polling step while waiting for an event, or Redis's
 * own key expiry. Never a stand-in for time passing in the app or the local Cognito (advance the clock).
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` every 10 ms until it holds (true), or fails the test after `ms` (false). */
export async function until(t: { fail: (message: string) => unknown }, what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) {
      t.fail(`timed out waiting until ${what}`)
      return false
    }
    await sleep(10)
  }
  return true
}
