import type { Mac } from '../devices/mac.js';
import { GenerationalMap } from '../generational-map.js';

/** A router that asked about a device, and when. */
export interface AccessRequestSighting {
  readonly nas: string;
  readonly at: Date;
}

/**
 * Which router most recently sent an authenticated Access-Request for each device:
 * where to send RFC 5176 packets when accounting has not told us. In one process's
 * memory on purpose (it is a hint; accounting is the durable source), bounded in
 * entries with the least recently seen device forgotten first.
 */
export class RecentAccessRequests {
  /** Milliseconds, not Dates: up to maxDevices entries live here. */
  private readonly byMac: GenerationalMap<Mac, { readonly nas: string; readonly atMs: number }>;

  constructor(maxDevices = 100_000) {
    this.byMac = new GenerationalMap(maxDevices);
  }

  /** Records that `nas` asked about `mac` at `at`. */
  note(mac: Mac, nas: string, at: Date): void {
    this.byMac.set(mac, { nas, atMs: at.getTime() });
  }

  /** The router that last asked about the device, if remembered. */
  latest(mac: Mac): AccessRequestSighting | undefined {
    const seen = this.byMac.get(mac);
    return seen ? { nas: seen.nas, at: new Date(seen.atMs) } : undefined;
  }

  /** How many devices are remembered. */
  get size(): number {
    return this.byMac.size;
  }
}
