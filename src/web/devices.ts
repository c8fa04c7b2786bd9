/**
 * What the devices page says about a session's browser: its name and major version and its operating
 * system, read from the User-Agent kept at sign-in (bowser: maintained, MIT, no data files).
 */
import Bowser from 'bowser'

export interface DeviceDescription {
  /** "Firefox 128", or "Unknown browser". */
  readonly browser: string
  /** "Windows 10", "iOS 17.5", or "unknown system". */
  readonly os: string
  /** "desktop", "mobile", "tablet" or "tv" when the User-Agent says; else undefined. */
  readonly kind: string | undefined
}

const UNKNOWN: DeviceDescription = Object.freeze({ browser: 'Unknown browser', os: 'unknown system', kind: undefined })

function major(version: string | undefined): string {
  return version?.split('.')[0] ?? ''
}

export function describeDevice(userAgent: string | undefined): DeviceDescription {
  if (userAgent === undefined || userAgent.trim() === '') return UNKNOWN
  let parsed: Bowser.Parser.ParsedResult
  try {
    parsed = Bowser.parse(userAgent)
  } catch {
    return UNKNOWN
  }
  const browserName = parsed.browser.name
  const browser = browserName ? `${browserName} ${major(parsed.browser.version)}`.trim() : UNKNOWN.browser
  const osName = parsed.os.name
  const osVersion = parsed.os.versionName ?? parsed.os.version
  // Safari and Chrome on a Mac report macOS 10.15 whatever the version: the name alone is what is known.
  const os = osName ? (osVersion && osName !== 'macOS' && !osVersion.startsWith('NT') ? `${osName} ${osVersion}` : osName) : UNKNOWN.os
  return { browser, os, kind: parsed.platform.type }
}
