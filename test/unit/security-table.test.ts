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

/** The titles a test file gives its tests: literal ones as they are, template ones as patterns. */
function titlesIn(source: string): Array<string | RegExp> {
  const titles: Array<string | RegExp> = []
  for (const match of source.matchAll(/\bt\.test\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`((?:[^`\\]|\\.)*)`)/g)) {
    const literal = match[1] ?? match[2]
    if (literal !== undefined) titles.push(literal.replace(/\\(.)/g, '$1'))
    else {
      const parts = (match[3] as string).split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      titles.push(new RegExp(`^${parts.join('.+')}$`))
    }
  }
  // Table-driven tests name each row in an array: `['OIDC-13 userInfo answers for another subject', …]`.
  for (const match of source.matchAll(/\[\s*'((?:OIDC|BCP|SES|WEB|FLT|LOAD)-\d\d[^']*)'/g)) titles.push(match[1] as string)
  return titles
}

t.test('every cited test exists, in the file the row names; each row cites one titled with its case id', async (t) => {
  for (const row of rows) {
    const citations = [...row.proof.matchAll(/((?:test|bench)\/[\w./-]+\.ts): "([^"]+)"/g)]
    const reason = /(?:^|; )(n\/a|documented): \S/.test(row.proof)
    t.ok(citations.length > 0 || reason, `${row.id}: a test, or a reason why none applies`)
    let named = reason
    for (const [, file, title] of citations) {
      const path = join(PROJECT_ROOT, file as string)
      if (!existsSync(path)) {
        t.fail(`${row.id}: ${file} does not exist`)
        continue
      }
      if (file?.startsWith('bench/')) {
        named = true
        continue
      }
      const titles = titlesIn(readFileSync(path, 'utf8'))
      const found = titles.some((candidate) => (typeof candidate === 'string' ? candidate === title : candidate.test(title as string)))
      t.ok(found, `${row.id}: "${title}" is a test title in ${file}`)
      if (new RegExp(`(^|, )${row.id}\\b`).test(title as string)) named = true
    }
    t.ok(named, `${row.id}: a cited test names the case in its title`)
  }
})
