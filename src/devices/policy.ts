import type { RawConfig } from '../config/schema.js';
import type { DirectoryUser } from '../directory/directory.js';
import { OsTooOldError, PlatformNotAllowedError, RandomisedMacError } from '../errors.js';
import { ENROLLABLE_PLATFORMS, type EnrollablePlatform, type Platform } from './device.js';
import { isLocallyAdministered, type Mac } from '../mac.js';

/** The `enrollment` section of the configuration. */
export type EnrollmentPolicySettings = RawConfig['enrollment'];

const OS_NAMES: Readonly<Record<'ios' | 'android', string>> = { ios: 'iOS', android: 'Android' };

const UPDATE_HINTS: Readonly<Record<'ios' | 'android', string>> = {
  ios: 'Update it in Settings → General → Software Update.',
  android: 'Update it in Settings → System → Software update (on some phones: Settings → Software update).',
};

/** How pages name each platform's devices. */
export const PLATFORM_NAMES: Readonly<Record<EnrollablePlatform, string>> = {
  ios: 'iPhone and iPad',
  macos: 'Mac',
  android: 'Android',
  windows: 'Windows',
  chromeos: 'Chromebook',
  linux: 'Linux',
};

const OTHER_MAC_HINT = "Turn off the private (randomised) Wi-Fi address for this network in the device's Wi-Fi settings so that it uses its own address, then reconnect.";

/** What to do when the version is unknown: the browser that tells it. */
const UNKNOWN_HINTS: Readonly<Record<'ios' | 'android', string>> = {
  ios: 'Open this page in Safari, which tells it; if the device is older, update it in Settings → General → Software Update.',
  // Chrome says "Android 10; K" on every version: only the agent reports the real one.
  android: 'This browser does not tell it; ask IT how to enroll this device.',
};

const DEVICE_MAC_HINTS: Readonly<Record<Platform, string>> = {
  ios:
    'Use the device address for this network: Settings → Wi-Fi → tap ⓘ next to this network → turn off Private Wi-Fi Address (iOS 18: set Private Wi-Fi Address to Off). Then reconnect.',
  android:
    'Use the device address for this network: Settings → Network & internet → Internet → tap ⚙ next to this network → Privacy → Use device MAC. Then reconnect.',
  macos: 'Use the device address for this network: System Settings → Wi-Fi → Details… next to this network → Private Wi-Fi address → Off (macOS 15 and later). Then reconnect.',
  windows: 'Use the device address for this network: Settings → Network & internet → Wi-Fi → Manage known networks → this network → Random hardware addresses → Off. Then reconnect.',
  chromeos: OTHER_MAC_HINT,
  linux: OTHER_MAC_HINT,
  other: OTHER_MAC_HINT,
};

/**
 * The device policy (config `enrollment`): which platforms may enroll, how many devices a
 * person may enroll, the oldest OS versions allowed, and whether randomised MACs may enroll. Pure: no
 * store, no clock; EnrollmentService applies it.
 */
export class DevicePolicy {
  private settings: EnrollmentPolicySettings;

  constructor(settings: EnrollmentPolicySettings) {
    this.settings = settings;
  }

  /** The policy of a reloaded config: every check from now on applies it (devices already enrolled stay). */
  replace(settings: EnrollmentPolicySettings): void {
    this.settings = settings;
  }

  /**
   * The person's device limit (0: unlimited): `device_limit`, unless the person is in
   * groups of `group_limits`, in which case the most generous of those and
   * `device_limit` wins (0 beats any number). A configured group matches one of the
   * user's groups when the two are equal ignoring case and the spaces around "," and
   * "=" of a DN, or when the configured group is a plain name (no "=") and equals the
   * value of the first RDN of the user's group DN: `wifi-staff` matches
   * `cn=Wifi-Staff,ou=groups,dc=example,dc=org`.
   */
  limitFor(user: DirectoryUser): number {
    const limits = [this.settings.device_limit];
    for (const { group, limit } of this.settings.group_limits) {
      if (user.groups.some((g) => groupMatches(group, g))) limits.push(limit);
    }
    return limits.includes(0) ? 0 : Math.max(...limits);
  }

  /** Whether the platform may enroll (`enrollment.platforms`); `other` never may. */
  allows(platform: Platform): platform is EnrollablePlatform {
    return platform !== 'other' && this.settings.platforms[platform];
  }

  /** The platforms that may enroll, in ENROLLABLE_PLATFORMS order. */
  allowedPlatforms(): EnrollablePlatform[] {
    return ENROLLABLE_PLATFORMS.filter((p) => this.settings.platforms[p]);
  }

  /**
   * Throws PlatformNotAllowedError unless the platform may enroll. The platform is what the
   * browser (or the agent) says: the check keeps every way in to the same rule, it does not
   * prove what the device is.
   */
  checkPlatform(platform: Platform): void {
    if (this.allows(platform)) return;
    const allowedPlatforms = this.allowedPlatforms();
    const allowed = allowedPlatforms.map((p) => PLATFORM_NAMES[p]);
    const instead = allowed.length > 0 ? ` It is open to: ${allowed.join(', ')}.` : '';
    if (platform === 'other') {
      throw new PlatformNotAllowedError(platform, `This device's system was not recognised, so it cannot be enrolled here.${instead}`, allowedPlatforms);
    }
    throw new PlatformNotAllowedError(platform, `This Wi-Fi is not open to ${PLATFORM_NAMES[platform]} devices.${instead}`, allowedPlatforms);
  }

  /** The minimum OS version for the platform, when one is set. */
  minimumOs(platform: Platform): string | undefined {
    return platform === 'ios' || platform === 'android' ? this.settings.min_os_version[platform] : undefined;
  }

  /**
   * Throws OsTooOldError when the platform has a minimum version and the device runs an
   * older one, or did not say which (a version that is not dotted numbers counts as
   * unknown): an unknown version never passes a minimum. On the portal the version is the
   * User-Agent's (iPadOS's desktop Safari: Safari's version, which is the system's); the
   * agent API sends it.
   */
  checkOs(platform: Platform, osVersion: string | undefined): void {
    if (platform !== 'ios' && platform !== 'android') return;
    const needed = this.minimumOs(platform);
    if (needed === undefined) return;
    const name = OS_NAMES[platform];
    const found = osVersion !== undefined && VERSION.test(osVersion.trim()) ? osVersion.trim() : undefined;
    if (found === undefined) {
      throw new OsTooOldError(
        needed,
        `This device did not say which ${name} version it runs; this Wi-Fi needs ${name} ${needed} or later. ${UNKNOWN_HINTS[platform]}`,
        { platform },
      );
    }
    if (compareVersions(found, needed) >= 0) return;
    throw new OsTooOldError(needed, `This device runs ${name} ${found}; this Wi-Fi needs ${name} ${needed} or later. ${UPDATE_HINTS[platform]}`, { platform, found });
  }

  /** The MAC is locally administered (bit 0x02 of the first octet): a randomised, "private" address. */
  isRandomisedMac(mac: Mac): boolean {
    return isLocallyAdministered(mac);
  }

  /**
   * With `randomised_macs: refuse`, throws RandomisedMacError for a randomised MAC, saying
   * how to make the device use its own address on this network; otherwise tells whether
   * the MAC is randomised, so the device is recorded as such.
   */
  checkMac(mac: Mac, platform: Platform): { readonly randomised: boolean } {
    if (!this.isRandomisedMac(mac)) return { randomised: false };
    if (this.settings.randomised_macs === 'accept') return { randomised: true };
    throw new RandomisedMacError(`This device uses a private (randomised) Wi-Fi address on this network, which cannot be enrolled. ${DEVICE_MAC_HINTS[platform]}`, platform);
  }
}

const VERSION = /^\d+(\.\d+)*$/;

/**
 * Compares dotted numeric versions part by part ("16.10" > "16.9"; "16" = "16.0").
 * Negative when a < b, 0 when equal, positive when a > b.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A DN or group name folded for comparison: lower case, no spaces around "," and "=". */
function foldGroup(g: string): string {
  return g.trim().replace(/\s*([,=])\s*/g, '$1').toLowerCase();
}

/** See DevicePolicy.limitFor. */
export function groupMatches(configured: string, userGroup: string): boolean {
  const want = foldGroup(configured);
  const have = foldGroup(userGroup);
  if (want === have) return true;
  if (want.includes('=')) return false;
  const firstRdn = /^[^=,]+=((?:\\.|[^,\\])*)/.exec(have);
  return firstRdn !== null && firstRdn[1] === want;
}
