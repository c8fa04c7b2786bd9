/**
 * The component's public entries: package.json `exports` names `./auth` and `./session`, each the build
 * of a src/<unit>/index.ts that holds what the README's registration code imports, with its types, and
 * `./session/redis` (the Redis store, kept apart so that ioredis loads only where it is used).
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
  './session': ['sessionPlugin', 'MemorySessionStore', 'createSessionStore', 'SessionStoreUnavailableError'],
  './session/redis': ['RedisSessionStore'],
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

t.test('ioredis is loaded only when the Redis store is used', async (t) => {
  const { execFileSync } = await import('node:child_process')
  // ioredis is CommonJS: once anything imports it, it is in the require cache.
  const probe = (store: string): boolean => {
    const script = `
      import { createRequire } from 'node:module'
      import { buildApp } from './src/app.ts'
      import { loadPoolConfig } from './src/config/index.ts'
      const config = loadPoolConfig({ NODE_ENV: 'test', SESSION_STORE: ${JSON.stringify(store)}, REDIS_URL: 'redis://127.0.0.1:1',
        SESSION_SECRET: 'x'.repeat(32), COGNITO_ISSUER: 'http://127.0.0.1:1/us-east-1_Abc123456',
        COGNITO_CLIENT_ID: 'a'.repeat(26), COGNITO_CLIENT_SECRET: 's'.repeat(40), COGNITO_DOMAIN: 'http://127.0.0.1:1' })
      const app = await buildApp(config)
      const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/ioredis/'))
      await app.close()
      console.log(JSON.stringify(loaded))`
    const out = execFileSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } })
    return JSON.parse(out.trim().split('\n').at(-1) as string) as boolean
  }
  t.equal(probe('memory'), false, 'an app on the memory store never loads ioredis')
  t.equal(probe('redis'), true, 'an app on the Redis store does')
})
