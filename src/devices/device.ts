import type { Mac } from '../mac.js';

/** The platforms a device may enroll as, each its own switch in `enrollment.platforms`. */
export const ENROLLABLE_PLATFORMS = ['ios', 'macos', 'android', 'windows', 'chromeos', 'linux'] as const;

/** A platform that may be allowed to enroll (ENROLLABLE_PLATFORMS). */
export type EnrollablePlatform = (typeof ENROLLABLE_PLATFORMS)[number];

/** The platforms the portal tells apart: the enrollable ones, and `other` (not recognised: never enrolled). */
export type Platform = EnrollablePlatform | 'other';

/** What a device of each platform is called in a sentence ("Set up this Mac"), when its model is not known. */
export const PLATFORM_DEVICE_NAMES: Readonly<Record<Platform, string>> = {
  ios: 'iPhone or iPad',
  macos: 'Mac',
  android: 'Android device',
  windows: 'Windows PC',
  chromeos: 'Chromebook',
  linux: 'Linux computer',
  other: 'device',
};

/** A device's label in a list: its model, else what its platform calls it (devices enrolled before models were recorded). */
export function deviceLabel(d: Pick<Device, 'platform' | 'model'>): string {
  return d.model ?? (d.platform === 'other' ? 'Device' : (PLATFORM_DEVICE_NAMES[d.platform] ?? 'Device'));
}

/** A device enrolled by its owner. */
export interface Device {
  readonly mac: Mac;
  readonly owner: string;
  readonly platform: Platform;
  /** OS version as reported (User-Agent or agent), when known. */
  readonly osVersion?: string;
  /** ISO 8601. */
  readonly enrolledAt: string;
  /** How it was enrolled: at the portal (iOS registration) or by the Android agent's API. */
  readonly via?: 'portal' | 'agent';
  /** The device model, as the agent reports it (for example "Pixel 8"). */
  readonly model?: string;
  /** A name its owner gave it in My devices (device-name.ts): shown instead of the model. */
  readonly name?: string;
  /** The agent's version, when the agent enrolled it. */
  readonly agentVersion?: string;
  /** The MAC is locally administered (a randomised, "private" address) and the policy accepted it. */
  readonly randomisedMac?: boolean;
  /**
   * Serials (pki/serial.ts normaliseSerial) of the EAP-TLS identities issued for this
   * enrollment, oldest first, at most MAX_CERTIFICATES_PER_DEVICE. Absent or empty: none.
   * A device enrolled again after being unenrolled starts without any.
   */
  readonly certificateSerials?: readonly string[];
}

/** How many EAP-TLS identities one device keeps bound; issuing another revokes the oldest (superseded). */
export const MAX_CERTIFICATES_PER_DEVICE = 5;

/**
 * An enrollment whose person and policy were checked at the portal, waiting for the router
 * to prove the device: MikroTik's redirect names the device without signing it, and the
 * router's RADIUS request that redeems the one-time login does prove it (its
 * Calling-Station-Id). Carried in the login token until then.
 */
export interface PendingEnrollment {
  readonly platform: Platform;
  readonly osVersion?: string;
  /** The owner's device limit, from their groups when the portal checked them. */
  readonly limit: number;
  readonly randomisedMac?: boolean;
}
