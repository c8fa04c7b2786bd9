/** The environment the app and its commands read: `process.env` over a `.env` file at the project root. */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import type { Env } from '../config/index.js'
import { PROJECT_ROOT } from './paths.js'

/** process.env wins over `.env`, as with dotenv. `file` defaults to `.env` at the project root. */
export function readEnvironment(file: string = join(PROJECT_ROOT, '.env')): Env {
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {}
  return { ...fromFile, ...process.env }
}
