const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

/**
 * Parses a duration written like `500ms`, `30s`, `30m`, `24h` or `7d` into milliseconds.
 * A bare number is read as seconds. Returns undefined for anything else.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (!match) return undefined
  const amount = Number(match[1])
  const unit = UNITS[match[2] ?? 's'] as number
  const ms = Math.round(amount * unit)
  return Number.isFinite(ms) ? ms : undefined
}

/** Formats milliseconds back into the largest whole unit, for messages. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
