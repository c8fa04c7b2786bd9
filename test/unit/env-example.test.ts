/**
 * .env.example documents every variable the configuration reads, and only those: a new setting
 * cannot ship undocumented, and a removed one cannot linger in the file people copy.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/index.js'
import { PROJECT_ROOT } from '../../src/lib/paths.js'

const configDir = join(PROJECT_ROOT, 'src', 'config')
const source = readdirSync(configDir).map((file) => readFileSync(join(configDir, file), 'utf8')).join('\n')
const example = readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8')
// The embedded local Cognito's own settings (LOCAL_COGNITO_USERS, token lifetimes, …), read at start.
const localCognito = readFileSync(join(PROJECT_ROOT, 'src', 'local-cognito', 'users-file.ts'), 'utf8')
const reference = readFileSync(join(PROJECT_ROOT, 'docs', 'configuration.md'), 'utf8')

t.test('every variable loadConfig reads is in .env.example, with a comment, and nothing else is', async (t) => {
  const read = new Set([...source.matchAll(/\bread\.(?:string|int|choice|boolean|duration|list)\('([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] as string))
  t.ok(read.size >= 25, `found the variables loadConfig reads (${read.size})`)
  const local = [...localCognito.matchAll(/(?:env\['|seconds\(env, ')(LOCAL_COGNITO_[A-Z0-9_]+)'/g)].map((m) => m[1] as string)
  t.ok(local.length >= 5, `found the local Cognito's settings (${local.length})`)
  for (const name of local) read.add(name)
  const lines = example.split('\n')
  const documented = new Map<string, number>()
  lines.forEach((line, index) => {
    const name = /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1]
    if (name) documented.set(name, index)
  })
  for (const name of read) {
    const index = documented.get(name)
    if (index === undefined) {
      t.fail(`${name} is read by loadConfig but missing from .env.example`)
      continue
    }
    // A comment above it, or above the run of variables it belongs to (HOST and PORT share one).
    let above = index - 1
    while (above > 0 && /^[A-Z][A-Z0-9_]*=/.test(lines[above] ?? '')) above--
    t.match(lines[above], /^#/, `${name} is explained by a comment`)
  }
  for (const name of documented.keys()) t.ok(read.has(name), `${name} in .env.example is read by loadConfig`)
})

t.test('docs/configuration.md has a row for every variable of .env.example, and only those', async (t) => {
  const inExample = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string)
  const inReference = [...reference.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1] as string)
  t.same(inReference, inExample, 'the same variables, in the same order')
})

t.test('.env.example as it stands is a valid development configuration', async (t) => {
  const env = Object.fromEntries(
    example
      .split('\n')
      .map((line) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  )
  const config = loadConfig(env)
  t.equal(config.nodeEnv, 'development')
  t.equal(config.cognito.issuer, undefined, 'no pool: the local Cognito')
  t.equal(config.server.accessLog, 'all', 'an empty ACCESS_LOG takes the default')
})
