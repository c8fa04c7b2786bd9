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
