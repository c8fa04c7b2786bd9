import t from 'tap'
import { ConfigError, formatConfigError, hasPool, isLoopbackHost, loadConfig, loadPoolConfig, withPool } from '../../src/config/index.js'
import { appRegisteredUrls } from '../../src/web/auth-paths.js'
import { formatDuration, parseDuration } from '../../src/lib/duration.js'
import { parseClusterUrls } from '../../src/lib/redis-urls.js'

const POOL = {
  COGNITO_USER_POOL_ID: 'eu-west-1_AbC123xyz',
  COGNITO_CLIENT_ID: 'abcdefghij0123456789klmnop',
  COGNITO_CLIENT_SECRET: 'secret-value',
}
const SECRET = 'x'.repeat(40)

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`)
}

t.test('defaults with nothing configured: development with the local Cognito', async (t) => {
  const config = loadConfig({})
  t.equal(config.cognito.issuer, undefined, 'no pool: the local Cognito will be used')
  t.notOk(hasPool(config))
  t.equal(config.web.baseUrl, 'http://localhost:3000')
  t.same(appRegisteredUrls(config.web.baseUrl), {
    redirectUri: 'http://localhost:3000/auth/callback',
    postLogoutRedirectUri: 'http://localhost:3000/logged-out',
  })
  t.equal(config.server.port, 3000)
  t.equal(config.server.host, '127.0.0.1')
  t.equal(config.web.secure, false)
  t.equal(config.session.secureCookies, false)
  t.equal(config.session.cookieName, 'sid')
  t.equal(config.session.store, 'memory')
  t.equal(config.session.idleTimeoutMs, 24 * 3600_000)
  t.equal(config.session.maxAgeMs, 7 * 24 * 3600_000)
  t.equal(config.cognito.refreshMarginMs, 60_000)
  t.ok(config.session.secretGenerated)
  t.ok(config.session.secret.length >= 32)
  t.not(loadConfig({}).session.secret, config.session.secret, 'a random secret each time')
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.session), 'frozen')
})

t.test('a real pool: issuer from the pool id, region from its prefix', async (t) => {
  const config = loadPoolConfig({ ...POOL, APP_BASE_URL: 'https://app.example.com', SESSION_SECRET: SECRET, NODE_ENV: 'production' })
  t.equal(config.cognito.issuer, 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz')
  t.equal(config.cognito.allowInsecureRequests, false)
  t.same(config.cognito.scopes, ['openid', 'email', 'profile'])
  t.equal(config.web.secure, true)
  t.equal(config.session.secureCookies, true)
  t.equal(config.session.cookieName, '__Host-sid')
  t.equal(appRegisteredUrls(config.web.baseUrl).redirectUri, 'https://app.example.com/auth/callback')
  t.notOk(config.session.secretGenerated)
})

t.test('COGNITO_ISSUER and COGNITO_DOMAIN forms', async (t) => {
  const local = loadPoolConfig({ ...POOL, COGNITO_USER_POOL_ID: '', COGNITO_ISSUER: 'http://127.0.0.1:9099/us-east-1_LocalPool1/' })
  t.equal(local.cognito.issuer, 'http://127.0.0.1:9099/us-east-1_LocalPool1', 'trailing slash dropped')
  t.equal(local.cognito.allowInsecureRequests, true, 'plain http only on loopback')
  const remote = loadPoolConfig({
    ...POOL,
    COGNITO_USER_POOL_ID: '',
    COGNITO_ISSUER: 'https://idp.example.com/pool',
    COGNITO_DOMAIN: 'auth.example.com',
  })
  t.equal(remote.cognito?.domain, 'https://auth.example.com', 'domain without scheme gets https://')
  t.equal(remote.cognito.allowInsecureRequests, false)
  t.equal(
    loadConfig({ ...POOL, COGNITO_DOMAIN: 'https://x.auth.eu-west-1.amazoncognito.com' }).cognito?.domain,
    'https://x.auth.eu-west-1.amazoncognito.com',
  )
  t.same(loadConfig({ ...POOL, COGNITO_SCOPES: 'openid, email  phone' }).cognito?.scopes, ['openid', 'email', 'phone'])
  t.equal(
    loadConfig({ ...POOL, COGNITO_REGION: 'eu-west-1' }).cognito?.issuer,
    'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz',
  )
})

t.test('every bad value names its variable and what is expected', async (t) => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ NODE_ENV: 'production', SESSION_SECRET: SECRET }, 'COGNITO_USER_POOL_ID', /required when NODE_ENV=production/],
    [{ ...POOL, NODE_ENV: 'production' }, 'SESSION_SECRET', /required when NODE_ENV=production/],
    [{ ...POOL, SESSION_SECRET: 'short' }, 'SESSION_SECRET', /at least 32 characters/],
    [{ ...POOL, COGNITO_CLIENT_SECRET: '' }, 'COGNITO_CLIENT_SECRET', /required when COGNITO_USER_POOL_ID is set/],
    [{ ...POOL, COGNITO_CLIENT_ID: '' }, 'COGNITO_CLIENT_ID', /required when COGNITO_USER_POOL_ID is set/],
    [{ ...POOL, COGNITO_CLIENT_ID: 'has spaces!' }, 'COGNITO_CLIENT_ID', /app client id/],
    [{ ...POOL, COGNITO_USER_POOL_ID: 'not-a-pool' }, 'COGNITO_USER_POOL_ID', /like us-east-1_AbC123xyz/],
    [{ ...POOL, COGNITO_REGION: 'us-east-1' }, 'COGNITO_REGION', /does not match/],
    [{ COGNITO_CLIENT_ID: 'abc' }, 'COGNITO_USER_POOL_ID', /required when COGNITO_CLIENT_ID/],
    [{ COGNITO_REGION: 'eu-west-1' }, 'COGNITO_USER_POOL_ID', /required when COGNITO_REGION/],
    [{ ...POOL, COGNITO_USER_POOL_ID: '', COGNITO_ISSUER: 'http://idp.example.com/pool' }, 'COGNITO_ISSUER', /must use https/],
    [{ ...POOL, COGNITO_USER_POOL_ID: '', COGNITO_ISSUER: 'not a url' }, 'COGNITO_ISSUER', /absolute URL/],
    [
      { ...POOL, COGNITO_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/other' },
      'COGNITO_ISSUER',
      /conflicts with COGNITO_USER_POOL_ID/,
    ],
    [{ ...POOL, COGNITO_DOMAIN: 'https://auth.example.com/path' }, 'COGNITO_DOMAIN', /pool's domain/],
    [{ ...POOL, COGNITO_SCOPES: 'email profile' }, 'COGNITO_SCOPES', /must include "openid"/],
    [{ APP_BASE_URL: 'ftp://x' }, 'APP_BASE_URL', /http\(s\) URL/],
    [{ APP_BASE_URL: 'https://app.example.com/sub' }, 'APP_BASE_URL', /no path/],
    [{ PORT: '70000' }, 'PORT', /whole number from 0 to 65535/],
    [{ PORT: 'abc' }, 'PORT', /whole number/],
    [{ SESSION_IDLE_TIMEOUT: 'soon' }, 'SESSION_IDLE_TIMEOUT', /duration like 30s/],
    [{ SESSION_IDLE_TIMEOUT: '8d' }, 'SESSION_IDLE_TIMEOUT', /must not be longer than SESSION_MAX_AGE/],
    [{ SESSION_STORE: 'mongo' }, 'SESSION_STORE', /"memory" or "redis"/],
    [{ SESSION_STORE: 'redis' }, 'REDIS_URL', /required when SESSION_STORE=redis/],
    [{ SESSION_STORE: 'redis', REDIS_URL: 'http://x' }, 'REDIS_URL', /redis:\/\/ or rediss:\/\//],
    [{ SESSION_STORE: 'redis', REDIS_URL: 'redis://a:6379,redis://b:6379' }, 'REDIS_URL', /set REDIS_CLUSTER=true/],
    [{ SESSION_STORE: 'redis', REDIS_URL: 'redis://a:6379', REDIS_CLUSTER: 'yes' }, 'REDIS_CLUSTER', /expected true or false, got "yes"/],
    [{ SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://a:6379,redis://b:6379' }, 'REDIS_URL', /URL 2 of 2: every seed URL must use the same scheme/],
    [{ SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://a:6379,http://b' }, 'REDIS_URL', /URL 2 of 2: expected a redis:\/\/ or rediss:\/\/ URL/],
    [{ SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:6379/2' }, 'REDIS_URL', /only database 0/],
    [{ SESSION_MEMORY_MAX: '0' }, 'SESSION_MEMORY_MAX', /whole number/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /expected one of/],
    [{ ACCESS_LOG: 'some' }, 'ACCESS_LOG', /expected one of all, errors, off, got "some"/],
    [{ TRUST_PROXY: 'sometimes' }, 'TRUST_PROXY', /hop count/],
    [{ COGNITO_TIMEOUT: '10ms' }, 'COGNITO_TIMEOUT', /at least/],
    [{ VIEW_CACHE: 'yes' }, 'VIEW_CACHE', /expected true or false, got "yes"/],
  ]
  for (const [env, variable, message] of cases) {
    const error = failure(env)
    t.equal(error.variable, variable, `${JSON.stringify(env)} → ${variable}`)
    t.match(error.message, message)
    t.match(error.message, new RegExp(`^${variable}: `), 'the message starts with the variable')
  }
})

t.test('the access log: every request in development, failures only in production, as asked', async (t) => {
  t.equal(loadConfig({}).server.accessLog, 'all', 'development: every request')
  t.equal(loadConfig({ NODE_ENV: 'test' }).server.accessLog, 'all')
  const production = { ...POOL, NODE_ENV: 'production', SESSION_SECRET: SECRET, APP_BASE_URL: 'https://app.example.com' }
  t.equal(loadConfig(production).server.accessLog, 'errors', 'production: requests answered with 400 or more')
  t.equal(loadConfig({ ...production, ACCESS_LOG: 'all' }).server.accessLog, 'all')
  t.equal(loadConfig({ ACCESS_LOG: 'off' }).server.accessLog, 'off')
  t.equal(loadConfig({ ACCESS_LOG: ' errors ' }).server.accessLog, 'errors', 'trimmed like every variable')
})

t.test('WEB-13: the local Cognito fails closed: without a pool only NODE_ENV unset, development or test may start', async (t) => {
  for (const nodeEnv of [undefined, 'development', 'test']) {
    const config = loadConfig(nodeEnv === undefined ? {} : { NODE_ENV: nodeEnv })
    t.notOk(hasPool(config), `NODE_ENV=${nodeEnv ?? '(unset)'}: the local Cognito may stand in`)
  }
  for (const nodeEnv of ['staging', 'prod', 'Production', 'PRODUCTION', 'dev', 'production ']) {
    const error = failure({ NODE_ENV: nodeEnv, SESSION_SECRET: SECRET })
    t.equal(error.variable, 'COGNITO_USER_POOL_ID', `NODE_ENV=${JSON.stringify(nodeEnv)} needs a pool`)
    t.match(error.message, /the local Cognito starts only when NODE_ENV is unset, "development" or "test"/)
  }
})

t.test('OIDC: another provider through COGNITO_ISSUER may have client ids of another shape; a Cognito pool may not', async (t) => {
  const generic = { COGNITO_ISSUER: 'https://op.example.com', COGNITO_CLIENT_ID: 'op-client-1a2b3c', COGNITO_CLIENT_SECRET: 's' }
  t.equal(loadPoolConfig(generic).cognito.clientId, 'op-client-1a2b3c')
  t.same(loadConfig({ ...generic, API_ALLOWED_CLIENT_IDS: 'op-client-2, 3f9a01c2d4' }).api.extraClientIds, ['op-client-2', '3f9a01c2d4'])
  t.match(failure({ ...generic, COGNITO_CLIENT_ID: 'has space' }).message, /COGNITO_CLIENT_ID: expected the client id \(visible characters, no spaces\)/)
  t.match(failure({ ...POOL, COGNITO_CLIENT_ID: 'op-client-1a2b3c' }).message, /COGNITO_CLIENT_ID: expected the app client id/)
  t.match(failure({ API_ALLOWED_CLIENT_IDS: 'a,b\u00e9' }).message, /API_ALLOWED_CLIENT_IDS: expected app client ids/)
})

t.test('SES-01: production serves over https: APP_BASE_URL set and https (loopback http to try a build); the issuer is not the discovery URL', async (t) => {
  const production = { ...POOL, NODE_ENV: 'production', SESSION_SECRET: SECRET }
  t.match(failure(production).message, /^APP_BASE_URL: is required when NODE_ENV=production/m, 'no silent http://localhost:3000')
  t.match(failure({ ...production, APP_BASE_URL: 'http://app.example.com' }).message, /^APP_BASE_URL: must use https:\/\/ when NODE_ENV=production/m)
  for (const local of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000']) {
    t.equal(loadPoolConfig({ ...production, APP_BASE_URL: local }).web.baseUrl, new URL(local).origin, `${local}: a production build tried locally`)
  }
  const live = loadPoolConfig({ ...production, APP_BASE_URL: 'https://app.example.com' })
  t.equal(live.session.cookieName, '__Host-sid')
  t.equal(loadConfig({ APP_BASE_URL: 'http://app.example.com' }).web.baseUrl, 'http://app.example.com', 'development may use http')

  const discoveryUrl = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz/.well-known/openid-configuration'
  const error = failure({ COGNITO_ISSUER: discoveryUrl, COGNITO_CLIENT_ID: 'abc', COGNITO_CLIENT_SECRET: 's' })
  t.equal(error.variable, 'COGNITO_ISSUER')
  t.match(error.message, /is the discovery document's URL; set the issuer itself, without \/\.well-known\/…: https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com\/eu-west-1_AbC123xyz$/m)
})

t.test('SES-05: SESSION_SECRET takes several secrets, newest first, each long enough', async (t) => {
  const a = 'a'.repeat(40)
  const b = 'b'.repeat(40)
  const config = loadConfig({ SESSION_SECRET: `${a}, ${b}` })
  t.same(config.session.secrets, [a, b])
  t.equal(config.session.secret, a, 'the newest signs and seals')
  t.same(loadConfig({ SESSION_SECRET: a }).session.secrets, [a])
  t.match(failure({ SESSION_SECRET: `${a},short` }).message, /SESSION_SECRET: must be at least 32 characters long \(secret 2 of 2\) \(got 5\)/)
  t.notMatch(failure({ SESSION_SECRET: `${a},short` }).message, /aaaa/, 'no secret in the message')
})

t.test('every problem is reported at once, a line each, naming its variable', async (t) => {
  const error = failure({
    NODE_ENV: 'production',
    APP_BASE_URL: 'ftp://x',
    PORT: 'abc',
    SESSION_STORE: 'redis',
    LOG_LEVEL: 'loud',
    COGNITO_SCOPES: 'email',
  })
  t.same(
    error.problems.map((p) => p.variable).sort(),
    ['APP_BASE_URL', 'COGNITO_SCOPES', 'COGNITO_USER_POOL_ID', 'LOG_LEVEL', 'PORT', 'REDIS_URL', 'SESSION_SECRET'],
    'one problem per bad or missing variable',
  )
  t.equal(error.message.split('\n').length, 7, 'one line each')
  const printed = formatConfigError(error)
  t.match(printed, /^Configuration error: APP_BASE_URL: expected an http\(s\) URL/m)
  t.match(printed, /^Configuration error: SESSION_SECRET: is required when NODE_ENV=production/m)
  t.match(printed, /See \.env\.example for every variable\.\n$/)
  t.equal(failure({ ...POOL, COGNITO_CLIENT_ID: 'bad id!', COGNITO_CLIENT_SECRET: '' }).problems.length, 2, 'both app client variables')
})

t.test('development without a pool: the local Cognito fills it in before the app is built', async (t) => {
  const loaded = loadConfig({ COGNITO_SCOPES: 'openid email', COGNITO_TIMEOUT: '4s' })
  t.notOk(hasPool(loaded))
  const config = withPool(loaded, { issuer: 'http://127.0.0.1:9099/us-east-1_LocalPool1', clientId: 'local', clientSecret: 'secret' })
  t.ok(hasPool(config))
  t.equal(config.cognito.issuer, 'http://127.0.0.1:9099/us-east-1_LocalPool1')
  t.equal(config.cognito.allowInsecureRequests, true)
  t.same(config.cognito.scopes, ['openid', 'email'], 'the other Cognito settings are kept')
  t.equal(config.cognito.timeoutMs, 4000)
  t.equal(config.session.secret, loaded.session.secret, 'the same sections otherwise')
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.cognito))
  t.throws(() => loadPoolConfig({}), { name: 'ConfigError', variable: 'COGNITO_USER_POOL_ID' })
})

t.test('no secret value is echoed in a config error', async (t) => {
  const error = failure({ ...POOL, SESSION_SECRET: 'tiny-secret' })
  t.notMatch(error.message, /tiny-secret/)
})

t.test('Redis and proxy settings', async (t) => {
  const config = loadConfig({ SESSION_STORE: 'redis', REDIS_URL: 'rediss://cache.example.com:6380', TRUST_PROXY: '1' })
  t.equal(config.session.redisUrl, 'rediss://cache.example.com:6380')
  t.equal(config.server.trustProxy, 1)
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).server.trustProxy, true)
  t.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).server.trustProxy, '10.0.0.0/8,127.0.0.1')
})

t.test('Redis Cluster: seed nodes, TLS and credentials from the URLs; a bad list is named without its secrets', async (t) => {
  const config = loadConfig({ SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://app:pa%3Ass@node-1.example.com:6379, rediss://node-2.example.com:6380' })
  t.equal(config.session.redisCluster, true)
  t.equal(config.session.redisUrl, 'rediss://app:pa%3Ass@node-1.example.com:6379, rediss://node-2.example.com:6380')
  t.same(parseClusterUrls(config.session.redisUrl as string), {
    nodes: [{ host: 'node-1.example.com', port: 6379 }, { host: 'node-2.example.com', port: 6380 }],
    tls: true,
    username: 'app',
    password: 'pa:ss',
  }, 'every seed, TLS, and the ACL user and password (percent-decoded) for every node')
  t.same(parseClusterUrls('redis://:token@[::1]:7000').nodes, [{ host: '::1', port: 7000 }], 'an IPv6 seed; an auth token alone')
  t.equal(parseClusterUrls('redis://:token@[::1]:7000').password, 'token')
  t.equal(loadConfig({ SESSION_STORE: 'redis', REDIS_URL: 'redis://a:6379' }).session.redisCluster, false, 'off by default')
  t.equal(loadConfig({ REDIS_CLUSTER: 'true' }).session.redisCluster, false, 'meaningless without the Redis store')
  const error = failure({ SESSION_STORE: 'redis', REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://u:first-SECRET@a:6379,rediss://u:other-SECRET@b:6379' })
  t.equal(error.variable, 'REDIS_URL')
  t.match(error.message, /same user and password/)
  t.notMatch(error.message, /SECRET/, 'no password in the message')
})

t.test('compiled templates are cached in development as in production unless VIEW_CACHE=false', async (t) => {
  t.equal(loadConfig({}).web.viewCache, true, 'development (the default) caches')
  t.equal(loadConfig({ ...POOL, NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(40), APP_BASE_URL: 'https://app.example.com' }).web.viewCache, true)
  t.equal(loadConfig({ VIEW_CACHE: 'false' }).web.viewCache, false)
  t.equal(loadConfig({ VIEW_CACHE: 'true' }).web.viewCache, true)
})

t.test('durations', async (t) => {
  t.equal(parseDuration('30m'), 1_800_000)
  t.equal(parseDuration('24h'), 86_400_000)
  t.equal(parseDuration('7d'), 604_800_000)
  t.equal(parseDuration('500ms'), 500)
  t.equal(parseDuration('90'), 90_000, 'a bare number is seconds')
  t.equal(parseDuration('1.5h'), 5_400_000)
  t.equal(parseDuration('-5m'), undefined)
  t.equal(parseDuration('5 weeks'), undefined)
  t.equal(parseDuration(''), undefined)
  t.equal(formatDuration(86_400_000), '1d')
  t.equal(formatDuration(90_000), '90s')
  t.equal(formatDuration(1500), '1500ms')
})

t.test('loopback hosts', async (t) => {
  for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) t.ok(isLoopbackHost(host), host)
  for (const host of ['example.com', '10.0.0.1', 'localhost.example.com', '128.0.0.1']) t.notOk(isLoopbackHost(host), host)
})

t.test('LOG_FORMAT: auto by default, pretty or json on request, never pretty in production', async (t) => {
  t.equal(loadConfig({}).server.logFormat, 'auto')
  t.equal(loadConfig({ LOG_FORMAT: 'pretty' }).server.logFormat, 'pretty')
  t.equal(loadConfig({ LOG_FORMAT: 'json' }).server.logFormat, 'json')
  t.throws(() => loadConfig({ LOG_FORMAT: 'fancy' }), /LOG_FORMAT/)
  const production = { NODE_ENV: 'production', APP_BASE_URL: 'https://app.example.com', SESSION_SECRET: 'x'.repeat(40), COGNITO_USER_POOL_ID: 'eu-west-1_AbC123xyz', COGNITO_CLIENT_ID: 'a'.repeat(26), COGNITO_CLIENT_SECRET: 's'.repeat(40) }
  t.equal(loadConfig(production).server.logFormat, 'json', 'production logs JSON')
  t.throws(() => loadConfig({ ...production, LOG_FORMAT: 'pretty' }), /LOG_FORMAT: must not be pretty when NODE_ENV=production/)
})

t.test('APP_BASE_URL follows PORT in development when unset', async (t) => {
  t.equal(loadConfig({ PORT: '3456' }).web.baseUrl, 'http://localhost:3456')
  t.equal(loadConfig({}).web.baseUrl, 'http://localhost:3000')
  t.equal(loadConfig({ PORT: '3456', APP_BASE_URL: 'http://localhost:8080' }).web.baseUrl, 'http://localhost:8080', 'a set APP_BASE_URL wins (a proxy in front)')
})

t.test('RECENT_SIGNIN_MAX_AGE and the admin scope: defaults, and bad values named', async (t) => {
  t.equal(loadConfig({}).session.recentSignInMaxAgeMs, 10 * 60_000, 'a sign-in within 10 minutes by default')
  t.equal(loadConfig({ RECENT_SIGNIN_MAX_AGE: '5m' }).session.recentSignInMaxAgeMs, 5 * 60_000)
  t.match(failure({ RECENT_SIGNIN_MAX_AGE: 'soon' }).message, /^RECENT_SIGNIN_MAX_AGE: /m)
  t.match(failure({ RECENT_SIGNIN_MAX_AGE: '1s' }).message, /^RECENT_SIGNIN_MAX_AGE: /m, 'too short to sign in at all')
  t.same(loadConfig({}).cognito?.scopes, ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin'], 'the local Cognito: the admin scope asked, for sign out everywhere')
  t.same(loadConfig(POOL).cognito?.scopes, ['openid', 'email', 'profile'], 'a real pool: only what every app client allows, unless COGNITO_SCOPES says')
})
