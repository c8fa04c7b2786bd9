/**
 * Times as the pages show them: a date a person can read and a hint relative to now ("in 23 hours").
 *
 * The server does not know the viewer's time zone, so the page carries the instant (`datetime`), a
 * UTC rendering that is right without JavaScript, and the hint; public/js/local-time.js then shows
 * the date in the viewer's own zone and language. The formatters are made once: making an
 * Intl.DateTimeFormat costs tens of microseconds, using one about one.
 */

export interface ShownTime {
  /** For `<time datetime>`: the instant, ISO 8601 in UTC. */
  readonly iso: string
  /** "3 Dec 2026, 17:05 UTC". */
  readonly text: string
  /** "in 23 hours", "5 minutes ago", "now". */
  readonly relative: string
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })
const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })

const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
]

/** "in 23 hours" / "5 minutes ago": the largest unit that fits, rounded; under a minute, "now". */
export function describeRelative(at: number, now: number): string {
  const diff = at - now
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms) return relativeFormat.format(Math.sign(diff) * Math.round(Math.abs(diff) / ms), unit)
  }
  return 'now'
}

export function showTime(at: number, now: number): ShownTime {
  const date = new Date(at)
  return { iso: date.toISOString(), text: `${dateFormat.format(date)} UTC`, relative: describeRelative(at, now) }
}
