/**
 * The component's public entries: package.json `exports` names `./auth` and `./session`, each the build
 * of a src/<unit>/index.ts that holds what the README's registration code imports, with its types.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/lib/paths.js'

const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; default: string }>
}
const build = JSON.parse(readFileSync(join(PROJECT_ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { declaration?: boolean } }

const expected: Record<string, string[]> = {
  './auth': ['default', 'cognitoAuth', 'authPaths', 'registeredUrls', 'BearerError', 'CognitoError', 'SignInError', 'SessionEndedError', 'SessionRenewalError'],
  './session': ['sessionPlugin', 'MemorySessionStore', 'RedisSessionStore', 'createSessionStore', 'SessionStoreUnavailableError'],
}

t.test('package.json exports the sign-in component and the sessions, typed', async (t) => {
  t.same(Object.keys(pkg.exports).sort(), Object.keys(expected).sort())
  t.equal(build.compilerOptions.declaration, true, 'the build writes the .d.ts files the exports name')
  for (const [entry, names] of Object.entries(expected)) {
    const target = pkg.exports[entry]
    t.ok(target, entry)
    if (!target) continue
    const source = target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')
    t.equal(target.types, target.default.replace(/\.js$/, '.d.ts'), `${entry}: types beside the code`)
    t.ok(existsSync(join(PROJECT_ROOT, source)), `${entry} is built from ${source}`)
    const module = (await import(pathToFileURL(join(PROJECT_ROOT, source)).href)) as Record<string, unknown>
    for (const name of names) t.ok(module[name] !== undefined, `${entry} exports ${name}`)
  }
})

t.test('the sign-in component imports nothing of the app: no web/, views or app modules', async (t) => {
  const { readdirSync } = await import('node:fs')
  for (const unit of ['auth', 'session']) {
    const dir = join(PROJECT_ROOT, 'src', unit)
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    t.ok(files.length > 3, `${unit}/ has its modules`)
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8')
      const imports = [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1] as string)
      const bad = imports.filter((i) => /\/(web|doctor|local-cognito|config)\/|\/app\.js$|\/server\.js$/.test(i) || (unit === 'session' && /\/auth\//.test(i)))
      t.same(bad, [], `src/${unit}/${file} imports nothing of the app${unit === 'session' ? ' nor of auth/' : ''}`)
    }
  }
})
