/**
 * Pages that exist only on the local Cognito (no real user pool has them): the mailbox of emailed codes, the faults
 * switchboard, and the stylesheet of every page.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { HostedUiKit } from './hosted-ui.js'
import { note, stringRecord } from './http-util.js'
import { faultsPage, mailboxPage } from './pages.js'
import type { PoolState } from './state.js'
import { STYLESHEET, STYLESHEET_PATH } from './stylesheet.js'

/** Paths that keep answering while the "Cognito down" fault is on, so that it can be switched off again. */
export function isLocalOnlyPath(path: string): boolean {
  return path === '/mailbox' || path.startsWith('/_local/') || path === STYLESHEET_PATH
}

export interface ConnectionControl {
  /** true while the port is closed */
  refusing(): boolean
  refuse(ms: number): Promise<void>
}

export function registerLocalPages(app: FastifyInstance, state: PoolState, kit: Pick<HostedUiKit, 'frame' | 'page' | 'csrfToken' | 'csrfValid'>, connections: ConnectionControl): void {
  const { frame, page } = kit

  app.get(STYLESHEET_PATH, async (_req, reply) =>
    reply.code(200).header('content-type', 'text/css;charset=UTF-8').header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(STYLESHEET),
  )

  app.get('/mailbox', async (_req, reply) => {
    const messages = [...state.mailbox].reverse().map((m) => ({
      at: new Date(m.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ''),
      to: m.to,
      username: m.username,
      kind: m.kind === 'confirmation' ? 'Sign-up confirmation code' : 'Password reset code',
      code: m.code,
    }))
    return page(reply, 200, mailboxPage(frame, messages))
  })

  let refuseSeconds = 30
  const render = (reply: FastifyReply, status: number, csrf: string, saved?: string): FastifyReply =>
    page(reply, status, faultsPage(frame, {
      action: '/_local/faults',
      csrf,
      unavailable: state.faults.unavailable === true,
      refusing: connections.refusing(),
      refuseSeconds,
      tokenDelaySeconds: Math.round((state.faults.tokenEndpoint?.delayMs ?? 0) / 1000),
      refreshRefused: state.faults.refreshRefused === true,
      ...(saved ? { saved } : {}),
    }))

  app.get('/_local/faults', async (req, reply) => render(reply, 200, kit.csrfToken(req, reply)))

  app.post('/_local/faults', async (req, reply) => {
    const form = stringRecord(req.body)
    if (!kit.csrfValid(req, form)) {
      note(req, { error: 'csrf' })
      return render(reply, 403, kit.csrfToken(req, reply), undefined)
    }
    const whole = (name: string, min: number, max: number, fallback: number): number => {
      const n = Number(form[name])
      return Number.isInteger(n) && n >= min && n <= max ? n : fallback
    }
    refuseSeconds = whole('refuseSeconds', 1, 3600, refuseSeconds)
    const delaySeconds = whole('tokenDelaySeconds', 0, 600, 0)
    // Changed in place: the Faults object tests hold stays the same object.
    const f = state.faults
    if (form['unavailable'] === 'on') f.unavailable = true
    else delete f.unavailable
    if (form['refreshRefused'] === 'on') f.refreshRefused = true
    else delete f.refreshRefused
    const { delayMs: _delay, ...tokenRest } = f.tokenEndpoint ?? {}
    if (delaySeconds > 0) f.tokenEndpoint = { ...tokenRest, delayMs: delaySeconds * 1000 }
    else if (Object.keys(tokenRest).length > 0) f.tokenEndpoint = tokenRest
    else delete f.tokenEndpoint
    const csrf = kit.csrfToken(req, reply)
    if (form['refuse'] === 'on') {
      // Answer first, then close the port: this page cannot answer while it is closed.
      const closeAfterReply = (): void => void connections.refuse(refuseSeconds * 1000)
      reply.raw.once('finish', closeAfterReply)
      return render(reply, 200, csrf, `Saved. The port closes now and opens again in ${refuseSeconds} seconds.`)
    }
    return render(reply, 200, csrf, 'Saved.')
  })
}
