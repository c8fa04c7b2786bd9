/**
 * Another OpenID provider than Cognito (COGNITO_ISSUER) with a client id that is not Cognito-shaped
 * (`op-client-1a2b3c`, as panva's oidc-provider or Keycloak hand out): the app starts and signs in.
 */
import t from 'tap'
import { defaultLocalClient } from '../../src/local-cognito/index.js'
import { Browser } from '../helpers/browser.js'
import { freePort, signIn, startStack } from '../helpers/stack.js'

t.test('OIDC: a client id of another provider’s shape signs in through the whole flow', async (t) => {
  const port = await freePort()
  const base = `http://localhost:${port}`
  const client = { ...defaultLocalClient(base), clientId: 'op-client-1a2b3c', clientSecret: 'op-client-secret-0123456789abcdef' }
  const stack = await startStack(t, {
    port,
    cognito: { clients: [client] },
    env: { COGNITO_CLIENT_ID: client.clientId, COGNITO_CLIENT_SECRET: client.clientSecret },
  })
  t.equal(stack.config.cognito.clientId, 'op-client-1a2b3c')
  const result = await signIn(new Browser(), stack)
  t.equal(result.response.status, 200)
  t.equal(new URL(result.url).pathname, '/logged-in')
  const authorize = stack.cognito.requests.find((r) => r.path === '/oauth2/authorize')
  t.equal(authorize?.query.client_id, 'op-client-1a2b3c', 'the authorize request names that client')
  t.ok(stack.cognito.requests.some((r) => r.grantType === 'authorization_code' && r.status === 200 && r.clientAuth === 'basic'), 'its secret accepted at the token endpoint')
})
