/** The clock tests hand to the app and the local Cognito: real time plus an offset the test moves. */
import type { Clock } from '../../src/lib/clock.js'

export class TestClock implements Clock {
  #offset = 0

  now(): number {
    return Date.now() + this.#offset
  }

  /** Moves time forward by `ms` for everyone holding this clock. */
  advance(ms: number): void {
    this.#offset += ms
  }
}
