/** Assembly of the emulator: Fastify app, hooks, routes, listen. */
import { createServer, type Server } from 'node:http'
import { registerUserPoolApi } from './user-pool-api.js'
import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import Fastify from 'fastify'
import { registerHostedUi } from './hosted-ui.js'
import { loggableQuery, note, noteOf, parseForm, pathOf, sendJson, stringRecord } from './http-util.js'
import { createKeySet } from './keys.js'
import { isLocalOnlyPath } from './local-pages.js'
import { registerOAuthEndpoints } from './oauth-endpoints.js'
import { seedUserList } from './seed.js'
import { PoolState, cognitoStyleSub } from './state.js'
import type { Faults, LocalCognito, LocalCognitoOptions, LocalCognitoUser, SeenRequest } from './types.js'
import { readUsersFile, type FileUser } from './users-file.js'
import { registerWellKnown } from './well-known.js'

/** Provider names as Cognito allows them (1–32 characters, no whitespace), unique ignoring case, not COGNITO. */
function checkProviderNames(names: string[]): string[] {
  const seen = new Set<string>()
  for (const n of names) {
    if (!/^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,32}$/u.test(n) || n.startsWith('_')) throw new Error(`local-cognito: invalid federated provider name ${JSON.stringify(n)}`)
    if (n.toUpperCase() === 'COGNITO') throw new Error('local-cognito: COGNITO is not a federated provider name')
    if (seen.has(n.toLowerCase())) throw new Error(`local-cognito: duplicate federated provider name ${JSON.stringify(n)}`)
    seen.add(n.toLowerCase())
  }
  return [...names]
}

/** The users the pool starts with: the given list (default the seed), then the users file over it (same name replaces). */
function initialUsers(opts: LocalCognitoOptions): FileUser[] {
  const users: FileUser[] = [...(opts.users ?? seedUserList())]
  if (opts.usersFile !== undefined) {
    for (const u of readUsersFile(opts.usersFile)) {
      const i = users.findIndex((x) => x.username.toLowerCase() === u.username.toLowerCase())
      if (i >= 0) users[i] = u
      else users.push(u)
    }
  }
  return users
}

const writeLine = (line: string): void => void process.stdout.write(`${line}\n`)

export async function startLocalCognito(opts: LocalCognitoOptions = {}): Promise<LocalCognito> {
  const region = opts.region ?? 'us-east-1'
  const signInWith = opts.signInWith ?? 'username'
  const users = initialUsers(opts)
  /** In an email sign-in pool the username is a UUID, the same as the sub; people sign in with the email. */
  const poolUser = (u: LocalCognitoUser): LocalCognitoUser => {
    if (signInWith !== 'email') return u
    const sub = u.sub ?? cognitoStyleSub()
    return { ...u, username: sub, sub }
  }
  const state = new PoolState(
    {
      region,
      userPoolId: opts.userPoolId ?? `${region}_LocalPool1`,
      accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
      idTokenTtlSeconds: opts.idTokenTtlSeconds ?? 3600,
      refreshTokenTtlSeconds: opts.refreshTokenTtlSeconds ?? 30 * 24 * 3600,
      now: opts.now ?? Date.now,
      federatedProviders: checkProviderNames(opts.federatedProviders ?? ['Google']),
      appName: opts.appName ?? 'Cognito Sign-in',
      allowSignUp: opts.allowSignUp ?? true,
      signInWith,
      hostedUi: opts.hostedUi ?? 'managed',
      refreshTokenRotation: opts.refreshTokenRotation,
      logger: opts.logger ?? writeLine,
      demoUsers:
        opts.demoHint === false
          ? []
          : users
              .filter((u) => u.enabled !== false)
              .map((u) => ({
                login: signInWith === 'email' && u.email !== undefined ? u.email : u.username,
                password: u.password,
                ...(u.description !== undefined ? { description: u.description } : {}),
              })),
    },
    await createKeySet(),
  )
  for (const c of opts.clients ?? []) state.addClient(c)
  for (const u of users) state.addUser(poolUser(u))

  const app = Fastify({ logger: false, forceCloseConnections: true })
  await app.register(fastifyCookie)
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseForm(String(body)))
  })
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))

  // With an issuer origin of its own, each origin answers only its own paths (404 otherwise).
  const issuerPath = `/${state.settings.userPoolId}/`
  app.addHook('onRequest', async (req, reply) => {
    if (!state.issuerOrigin) return undefined
    const path = pathOf(req.url)
    const forIssuer = path.startsWith(issuerPath) || (path === '/' && req.method === 'POST')
    const onIssuer = req.raw.socket.localPort !== port
    if (forIssuer === onIssuer) return undefined
    return reply.code(404).header('content-type', 'text/plain;charset=UTF-8').send('Not Found')
  })
  app.addHook('onRequest', async (req, reply) => {
    if (state.faults.unavailable && !isLocalOnlyPath(pathOf(req.url))) {
      note(req, { error: 'unavailable' })
      return reply.code(503).header('content-type', 'text/plain;charset=UTF-8').send('Service Unavailable')
    }
    return undefined
  })
  app.addHook('onResponse', async (req, reply) => {
    const entry: SeenRequest = {
      method: req.method,
      path: pathOf(req.url),
      query: loggableQuery(stringRecord(req.query)),
      status: reply.statusCode,
    }
    const n = noteOf(req)
    if (n.grantType !== undefined) entry.grantType = n.grantType
    if (n.clientAuth !== undefined) entry.clientAuth = n.clientAuth
    if (n.error !== undefined) entry.error = n.error
    state.requests.push(entry)
  })
  app.setErrorHandler(async (err: { statusCode?: unknown }, req, reply) => {
    const code = err.statusCode
    const status = typeof code === 'number' && code >= 400 && code < 600 ? code : 500
    const error = status < 500 ? 'invalid_request' : 'server_error'
    note(req, { error })
    return sendJson(reply, status, { error })
  })

  registerWellKnown(app, state)
  const connections = { refusing: (): boolean => false, refuse: async (_ms: number): Promise<void> => undefined }
  registerHostedUi(app, state, connections)
  registerOAuthEndpoints(app, state)
  registerUserPoolApi(app, state)

  const host = opts.host ?? '127.0.0.1'
  await app.listen({ host, port: opts.port ?? 0 })
  const { port } = app.server.address() as AddressInfo

  // The issuer on an origin of its own: a second server handing its requests to the same routes.
  let issuerServer: Server | undefined
  if (opts.issuerPort !== undefined) {
    const server = createServer((req, res) => app.routing(req, res))
    issuerServer = server
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host, port: opts.issuerPort }, () => {
          server.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      await app.close()
      throw error
    }
  }

  // "Cognito down" by a closed port: connections are refused until the timer opens it again.
  let reopenTimer: NodeJS.Timeout | undefined
  let refusing = false
  const reopen = async (): Promise<void> => {
    if (reopenTimer) clearTimeout(reopenTimer)
    reopenTimer = undefined
    if (!refusing) return
    await new Promise<void>((resolve, reject) => {
      app.server.once('error', reject)
      app.server.listen({ host, port }, () => {
        app.server.off('error', reject)
        resolve()
      })
    })
    refusing = false
  }
  const refuse = async (ms: number): Promise<void> => {
    if (reopenTimer) clearTimeout(reopenTimer)
    if (!refusing) {
      refusing = true
      await new Promise<void>((resolve) => {
        app.server.close(() => resolve())
        app.server.closeAllConnections()
      })
    }
    reopenTimer = setTimeout(() => void reopen().catch((err: unknown) => state.settings.logger(`Local Cognito: could not open port ${port} again: ${String(err)}`)), ms)
    reopenTimer.unref()
  }
  connections.refusing = () => refusing
  connections.refuse = refuse
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  state.origin = `http://${shownHost}:${port}`
  if (issuerServer) state.issuerOrigin = `http://${shownHost}:${(issuerServer.address() as AddressInfo).port}`

  return {
    origin: state.origin,
    issuer: state.issuer,
    issuerOrigin: state.issuerOrigin || state.origin,
    userPoolId: state.settings.userPoolId,
    requests: state.requests,
    addClient: (c) => state.addClient(c),
    addUser: (u) => {
      state.addUser(poolUser(u))
    },
    setUserEnabled: (username, enabled) => state.setUserEnabled(username, enabled),
    setUserGroups: (username, groups) => state.setUserGroups(username, groups),
    isRefreshTokenRevoked: (token) => state.isRefreshTokenRevoked(token),
    countGrants: (grantType) => state.grantCounts.get(grantType) ?? 0,
    resetRequests: () => {
      state.requests.length = 0
    },
    get faults(): Faults {
      return state.faults
    },
    set faults(f: Faults) {
      state.faults = f
    },
    rotateKeys: async () => {
      state.setKeys(await createKeySet())
    },
    user: (name) => {
      const u = state.signInUser(name)
      return u ? state.snapshot(u) : undefined
    },
    mailbox: state.mailbox,
    refuseConnections: refuse,
    close: async () => {
      await reopen()
      if (issuerServer) {
        const server = issuerServer
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
      await app.close()
    },
  }
}
