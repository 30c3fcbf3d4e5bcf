import { isLocallyAdministered, type Mac } from '../mac.js';
import type { Device, Platform } from './device.js';

/** The device at hand: enrolled already (with its enrollment time) or about to be. */
export interface CurrentDevice {
  readonly mac: Mac;
  readonly platform: Platform;
  readonly model?: string | undefined;
  /** ISO 8601, when it is enrolled: only earlier enrollments can be its old address. */
  readonly enrolledAt?: string | undefined;
}

/**
 * The owner's enrollment this device seems to repeat under a new private address, if any:
 * both addresses are locally administered, and an earlier device of the owner has the same
 * platform and the same known model. A guess, never proof: the model from a User-Agent is
 * coarse ("iPhone") and a person may own two of them, so pages say "seems" and nothing is
 * unenrolled for them. Without a known model (Chrome on Android names none) there is no guess.
 * The most recently enrolled match is returned.
 */
export function earlierAddressOf(current: CurrentDevice, owned: readonly Device[]): Device | undefined {
  if (!isLocallyAdministered(current.mac) || current.model === undefined) return undefined;
  const matches = owned.filter(
    (d) =>
      d.mac !== current.mac &&
      isLocallyAdministered(d.mac) &&
      d.platform === current.platform &&
      d.model === current.model &&
      (current.enrolledAt === undefined || d.enrolledAt < current.enrolledAt),
  );
  return [...matches].sort((a, b) => a.enrolledAt.localeCompare(b.enrolledAt)).at(-1);
}
