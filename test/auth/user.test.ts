import t from 'tap'
import { displayName, toUser } from '../../src/auth/user.js'

t.test('Cognito ID token claims and userInfo become the app user', async (t) => {
  const user = toUser(
    {
      sub: 'd488e438-b0d1-7011-bc2c-604a199fcdd5',
      'cognito:username': 'demo',
      'cognito:groups': ['admin', 'editors'],
      email_verified: true,
      email: 'old@example.com',
      auth_time: 1708631984,
    },
    { sub: 'd488e438-b0d1-7011-bc2c-604a199fcdd5', email: 'demo@example.com', email_verified: 'true', name: 'Demo User' },
  )
  t.same(user, {
    sub: 'd488e438-b0d1-7011-bc2c-604a199fcdd5',
    username: 'demo',
    name: 'Demo User',
    email: 'demo@example.com',
    emailVerified: true,
    groups: ['admin', 'editors'],
    authTime: 1708631984000,
  })
})

t.test('absent groups mean no groups; string booleans are read as booleans', async (t) => {
  const user = toUser({ sub: 's1', 'cognito:username': 'reader' }, { email_verified: 'false', email: 'r@example.com' })
  t.same(user.groups, [])
  t.equal(user.emailVerified, false)
  t.equal(user.name, undefined)
  t.equal(displayName(user), 'r@example.com')
})

t.test('fallbacks: username from userInfo, then sub; name from given and family names', async (t) => {
  t.equal(toUser({ sub: 's2' }, { username: 'from-userinfo' }).username, 'from-userinfo')
  t.equal(toUser({ sub: 's3' }).username, 's3')
  t.equal(toUser({ sub: 's4', given_name: 'Ada', family_name: 'Lovelace' }).name, 'Ada Lovelace')
  t.equal(displayName(toUser({ sub: 's5', 'cognito:username': 'u5' })), 'u5')
  t.same(toUser({ sub: 's6', 'cognito:groups': 'solo' }).groups, ['solo'], 'a single group as a string is tolerated')
  t.throws(() => toUser({}), /no sub/)
})
