/**
 * The default password policy of a Cognito user pool: at least 8 characters, with an uppercase letter, a lowercase
 * letter, a digit and a symbol. Messages are Cognito's own; sign-up says "did not conform with policy", the
 * forgotten-password and challenge paths say "does not conform to policy".
 */

/** Cognito's symbol set for RequireSymbols (a space inside the password counts too). */
const SYMBOLS = `^$*.[]{}()?"!@#%&/\\,><':;|_~\`=+- `

export const MINIMUM_LENGTH = 8

/** The policy as the forms state it, one requirement a line. */
export const POLICY_REQUIREMENTS: readonly string[] = Object.freeze([
  `At least ${MINIMUM_LENGTH} characters`,
  'An uppercase letter (A–Z)',
  'A lowercase letter (a–z)',
  'A number (0–9)',
  'A symbol, such as ! @ # $ % ^ & * - _ = +',
])

/** The first unmet requirement, in the words Cognito uses after its prefix; undefined when the password conforms. */
export function policyViolation(password: string): string | undefined {
  if ([...password].length < MINIMUM_LENGTH) return 'Password not long enough'
  if (!/[a-z]/.test(password)) return 'Password must have lowercase characters'
  if (!/[A-Z]/.test(password)) return 'Password must have uppercase characters'
  if (!/[0-9]/.test(password)) return 'Password must have numeric characters'
  if (![...password].some((c) => SYMBOLS.includes(c))) return 'Password must have symbol characters'
  return undefined
}

/** SignUp's InvalidPasswordException message, or undefined. */
export function signUpPasswordError(password: string): string | undefined {
  const v = policyViolation(password)
  return v === undefined ? undefined : `Password did not conform with policy: ${v}`
}

/** ConfirmForgotPassword's InvalidPasswordException message, or undefined. */
export function resetPasswordError(password: string): string | undefined {
  const v = policyViolation(password)
  return v === undefined ? undefined : `Password does not conform to policy: ${v}`
}
