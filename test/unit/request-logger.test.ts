import t from 'tap'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { createRequestLogger, loggerOptions } from '../../src/lib/logger.js'

/** The app's pino options writing to an array of parsed lines, and a count of the child loggers made from it. */
function parentLogger(level: string) {
  const lines: Array<Record<string, unknown>> = []
  const options = loggerOptions(level, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }) as pino.LoggerOptions & { stream: pino.DestinationStream }
  const parent = pino(options, options.stream) as unknown as FastifyBaseLogger
  let children = 0
  // Counted on the parent only: its children inherit this property (pino makes them with Object.create).
  const child = parent.child
  parent.child = function (this: FastifyBaseLogger, bindings: pino.Bindings, opts?: pino.ChildLoggerOptions) {
    if (this === parent) children++
    return child.call(this, bindings, opts)
  } as FastifyBaseLogger['child']
  return { parent, lines, children: () => children }
}

t.test('a request that writes no line makes no child logger', async (t) => {
  const { parent, lines, children } = parentLogger('info')
  const log = createRequestLogger(parent, { reqId: 'r-1' }, {})
  log.debug('below the level')
  log.trace({ detail: 1 }, 'below the level too')
  const enabled = (level: string) => (log as unknown as { isLevelEnabled(level: string): boolean }).isLevelEnabled(level)
  t.equal(enabled('debug'), false)
  t.equal(enabled('info'), true)
  t.equal(log.level, 'info')
  t.equal(children(), 0, 'no child made')
  t.same(lines, [], 'nothing written')
})

t.test('a line is written by a child carrying the request id, made once, redaction included', async (t) => {
  const { parent, lines, children } = parentLogger('info')
  const log = createRequestLogger(parent, { reqId: 'r-2' }, {})
  log.info({ tokens: { refreshToken: 'secret-refresh-token' } }, 'first')
  log.warn('second')
  log.error(new Error('third'))
  t.equal(children(), 1, 'one child for the request')
  t.same(lines.map((l) => [l.reqId, l.msg]), [['r-2', 'first'], ['r-2', 'second'], ['r-2', 'third']])
  t.notMatch(JSON.stringify(lines), /secret-refresh-token/, 'the child redacts as the parent does')
  t.same((log as unknown as { bindings(): unknown }).bindings(), { reqId: 'r-2' })
  const sub = log.child({ step: 'refresh' })
  sub.info('from a grandchild')
  t.same([lines.at(-1)?.reqId, lines.at(-1)?.step], ['r-2', 'refresh'])
})

t.test('a route log level (child options) is honoured, and the level can be changed', async (t) => {
  const { parent, lines } = parentLogger('info')
  const verbose = createRequestLogger(parent, { reqId: 'r-3' }, { level: 'debug' })
  t.equal(verbose.level, 'debug')
  verbose.debug('written at the route level')
  t.same(lines.map((l) => l.msg), ['written at the route level'])
  const quiet = createRequestLogger(parent, { reqId: 'r-4' }, {})
  quiet.level = 'error'
  quiet.warn('below the new level')
  quiet.error('at it')
  t.same(lines.map((l) => l.msg), ['written at the route level', 'at it'])
  t.equal(parent.level, 'info', 'the parent is not changed')
})
