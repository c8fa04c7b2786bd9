/**
 * The server's log destination (createLogDestination): lines are written to stdout in batches, and
 * whatever is still in the batch reaches stdout however the process ends short of SIGKILL.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const loggerModule = fileURLToPath(new URL('../../src/lib/logger.ts', import.meta.url))

/** Runs a small program that writes `lines` lines through the destination, then ends as `ending` says. */
async function run(ending: 'exit' | 'throw' | 'drain' | 'wait', lines: number) {
  const program = `
    import { createLogDestination } from ${JSON.stringify(loggerModule)}
    const destination = createLogDestination()
    for (let i = 0; i < ${lines}; i++) destination.write(JSON.stringify({ msg: 'line', i }) + '\\n')
    const ending = ${JSON.stringify(ending)}
    if (ending === 'exit') process.exit(0)
    if (ending === 'throw') setImmediate(() => { throw new Error('boom') })
    // 'wait': keeps running until the test closes its stdin.
    if (ending === 'wait') process.stdin.on('data', () => {}).on('end', () => process.exit(0))
    // 'drain': nothing keeps the event loop alive; the process ends by itself.
  `
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', program], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  const seenAt: number[] = []
  const started = Date.now()
  // 'wait': the program is told to end when its first output arrives, or at the latest after 2.8 s.
  let toldToEndAt: number | undefined
  const tellToEnd = () => {
    if (toldToEndAt !== undefined) return
    toldToEndAt = Date.now() - started
    child.stdin.end()
  }
  const latest = ending === 'wait' ? setTimeout(tellToEnd, 2800) : undefined
  if (ending !== 'wait') child.stdin.end()
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk
    seenAt.push(Date.now() - started)
    if (ending === 'wait') tellToEnd()
  })
  child.stderr.resume()
  const [code] = (await once(child, 'exit')) as [number]
  clearTimeout(latest)
  await new Promise((resolve) => setImmediate(resolve))
  const indexes = stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { i: number }).i)
  return { code, indexes, seenAt, toldToEndAt }
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i)

t.test('the last batch is written when the process calls process.exit()', async (t) => {
  const { code, indexes } = await run('exit', 3)
  t.equal(code, 0)
  t.same(indexes, all(3), 'every line, in order, though the batch never reached 4 KiB')
})

t.test('the last batch is written when the process dies of an uncaught exception', async (t) => {
  const { code, indexes } = await run('throw', 3)
  t.equal(code, 1)
  t.same(indexes, all(3))
})

t.test('the last batch is written when the event loop runs dry', async (t) => {
  const { code, indexes } = await run('drain', 3)
  t.equal(code, 0)
  t.same(indexes, all(3))
})

t.test('more than a batch: full batches go out as they fill, nothing is lost or reordered', async (t) => {
  const { code, indexes } = await run('exit', 2000)
  t.equal(code, 0)
  t.same(indexes, all(2000))
})

t.test('a small batch is written within about a second while the process keeps running', async (t) => {
  const { code, indexes, seenAt, toldToEndAt } = await run('wait', 3)
  t.equal(code, 0)
  t.same(indexes, all(3))
  t.ok(seenAt.length > 0 && (seenAt[0] as number) < 2800, `first output after ${seenAt[0]} ms, within 2.8 s`)
  t.ok(toldToEndAt !== undefined && (seenAt[0] as number) <= toldToEndAt, 'while the process was still running (before it was told to end)')
})

t.test('the pretty destination writes one readable line per entry, with local time and the level name', async (t) => {
  const program = `
    import pino from 'pino'
    import { createLogDestination } from ${JSON.stringify(loggerModule)}
    const log = pino({ base: { pid: 1, hostname: 'h' } }, createLogDestination('pretty'))
    log.warn({ retryInMs: 500 }, 'Cognito discovery failed at http://127.0.0.1:9/pool: connect ECONNREFUSED')
    log.info({ error: { type: 'CognitoError', message: 'refused' }, url: '/login' }, 'Cognito refused')
  `
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.resume()
  await once(child, 'exit')
  const lines = stdout.replace(/\u001b\[[0-9;]*m/g, '').trim().split('\n')
  t.equal(lines.length, 2, 'one line each')
  t.match(lines[0], /^\[\d\d:\d\d:\d\d\] WARN: Cognito discovery failed at http:\/\/127\.0\.0\.1:9\/pool: connect ECONNREFUSED \{"retryInMs":500\}$/)
  t.match(lines[1], /^\[\d\d:\d\d:\d\d\] INFO: Cognito refused \{"error":\{"type":"CognitoError","message":"refused"\},"url":"\/login"\}$/, 'an error object stays on its line')
  t.notMatch(stdout, /"pid"|"hostname"|"level"|"time"/, 'no JSON bookkeeping')
})
