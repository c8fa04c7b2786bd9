/**
 * docs/security.md's catalogue table stays true: every case of the security catalogue (98 ids) has
 * one row, and every test a row cites exists in the file it names with the case id in its title.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/lib/paths.js'

/** The catalogue's sections and how many cases each holds. */
const SECTIONS: Record<string, number> = { OIDC: 26, BCP: 15, SES: 18, WEB: 14, FLT: 18, LOAD: 7 }
const expectedIds = Object.entries(SECTIONS).flatMap(([prefix, count]) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`),
)

const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'security.md'), 'utf8')
const rows = doc
  .split('\n')
  .map((line) => /^\| ((?:OIDC|BCP|SES|WEB|FLT|LOAD)-\d\d) \| (.+?) \| (.+) \|$/.exec(line))
  .filter((match): match is RegExpExecArray => match !== null)
  .map((match) => ({ id: match[1] as string, name: match[2] as string, proof: match[3] as string }))

t.test('every catalogue case has exactly one row, in order', async (t) => {
  t.same(
    rows.map((row) => row.id),
    expectedIds,
  )
})

t.test('every cited test exists, in the file the row names, with the case id in its title', async (t) => {
  for (const row of rows) {
    const citations = [...row.proof.matchAll(/((?:test|bench)\/[\w./-]+\.ts): "([^"]+)"/g)]
    const reason = /(?:^|; )(n\/a|documented): \S/.test(row.proof)
    t.ok(citations.length > 0 || reason, `${row.id}: a test, or a reason why none applies`)
    for (const [, file, title] of citations) {
      const path = join(PROJECT_ROOT, file as string)
      if (!existsSync(path)) {
        t.fail(`${row.id}: ${file} does not exist`)
        continue
      }
      if (file?.startsWith('bench/')) continue
      const source = readFileSync(path, 'utf8')
      t.ok(source.includes(title as string), `${row.id}: "${title}" is a test title in ${file}`)
      t.match(title, new RegExp(`(^|, )${row.id}\\b`), `${row.id}: the title names the case`)
    }
  }
})
