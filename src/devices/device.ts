import type { Mac } from './mac.js';

/** The platforms the portal tells apart. */
export type Platform = 'ios' | 'android' | 'other';

/** A device enrolled by its owner. */
export interface Device {
  readonly mac: Mac;
  readonly owner: string;
  readonly platform: Platform;
  /** OS version as reported (User-Agent or agent), when known. */
  readonly osVersion?: string;
  /** ISO 8601. */
  readonly enrolledAt: string;
}
