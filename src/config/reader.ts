/**
 * Reads variables from an environment map and records every problem instead of stopping at the first,
 * so that one start names every bad or missing variable. Each read returns a usable fallback after
 * recording a problem, so the checks that follow can still run.
 *
 * Why not a schema (env-schema/ajv): most of the checks are between variables (the region against the
 * pool id, the idle timeout against the maximum age, REDIS_URL with SESSION_STORE=redis, a client
 * secret with a pool) or say what to do ("create the app client with a client secret"), and a
 * schema's messages ("must match pattern …") would have to be rewritten for each variable anyway.
 */
import { formatDuration, parseDuration } from '../lib/duration.js'
import { isLoopbackHost } from '../lib/hosts.js'

/** The environment as a plain map; `process.env` plus a `.env` file in practice, anything in tests. */
export type Env = Readonly<Record<string, string | undefined>>

export interface ConfigProblem {
  readonly variable: string
  readonly message: string
}

/** Every problem found in the environment, one line each (`VARIABLE: what is expected`). */
export class ConfigError extends Error {
  /** The first problem's variable. */
  readonly variable: string

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.variable}: ${p.message}`).join('\n'))
    this.name = 'ConfigError'
    this.variable = problems[0]?.variable ?? ''
  }
}

/** The error as the commands print it: a line per problem, then where every variable is explained. */
export function formatConfigError(error: ConfigError): string {
  return `${error.problems.map((p) => `Configuration error: ${p.variable}: ${p.message}`).join('\n')}\nSee .env.example for every variable.\n`
}

export { isLoopbackHost }

export class EnvReader {
  readonly problems: ConfigProblem[] = []

  constructor(private readonly env: Env) {}

  /** Records a problem with `variable`; returns undefined so a caller can `return reader.fail(…)`. */
  fail(variable: string, message: string): undefined {
    // One problem per variable: the first one found is the one to fix.
    if (!this.problems.some((p) => p.variable === variable)) this.problems.push({ variable, message })
    return undefined
  }

  /** The trimmed value, or undefined when unset or empty. */
  string(name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.fail(name, `expected a whole number from ${min} to ${max}, got "${raw}"`)
      return fallback
    }
    return Number(raw)
  }

  /** One of `choices`, or `fallback` when unset. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.string(name) ?? fallback
    const choice = choices.find((c) => c === raw)
    if (choice === undefined) {
      this.fail(name, `expected one of ${choices.join(', ')}, got "${raw}"`)
      return fallback
    }
    return choice
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)
    if (raw === undefined) return fallback
    if (raw === 'true') return true
    if (raw === 'false') return false
    this.fail(name, `expected true or false, got "${raw}"`)
    return fallback
  }

  duration(name: string, fallback: string, minMs: number): number {
    const raw = this.string(name) ?? fallback
    const ms = parseDuration(raw)
    if (ms === undefined || ms < minMs) {
      this.fail(name, `expected a duration like 30s, 30m, 24h or 7d (at least ${formatDuration(minMs)}), got "${raw}"`)
      return parseDuration(fallback) as number
    }
    return ms
  }

  /** An absolute http(s) URL without credentials; undefined (and a problem) otherwise. */
  url(name: string, raw: string): URL | undefined {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      return this.fail(name, `expected an absolute URL, got "${raw}"`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return this.fail(name, `expected an http(s) URL, got "${raw}"`)
    if (url.username || url.password) return this.fail(name, 'must not contain credentials')
    return url
  }

  /** Plain http only on loopback; true when the URL is acceptable. */
  httpsUnlessLoopback(name: string, url: URL): boolean {
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      this.fail(name, `must use https:// (plain http is accepted only on localhost/127.0.0.1), got "${url.href}"`)
      return false
    }
    return true
  }

  /** A list separated by commas or spaces, without repeats. */
  list(name: string, fallback = ''): string[] {
    return [...new Set((this.string(name) ?? fallback).split(/[\s,]+/).filter(Boolean))]
  }
}
