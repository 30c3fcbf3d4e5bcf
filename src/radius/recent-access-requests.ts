import type { Mac } from '../mac.js';
import { GenerationalMap } from '../generational-map.js';

/** A router that asked about a device, and when. */
export interface AccessRequestSighting {
  readonly nas: string;
  readonly at: Date;
  /** The MAC the router knows the device by, when not its own (802.1X: a private MAC on that SSID). */
  readonly station?: Mac;
}

/**
 * Which router most recently sent an authenticated Access-Request for each device:
 * where to send RFC 5176 packets when accounting has not told us. In one process's
 * memory on purpose (it is a hint; accounting is the durable source), bounded in
 * entries with the least recently seen device forgotten first.
 */
export class RecentAccessRequests {
  /** Milliseconds, not Dates: up to maxDevices entries live here. */
  private readonly byMac: GenerationalMap<Mac, { readonly nas: string; atMs: number; readonly station?: Mac }>;

  constructor(maxDevices = 100_000) {
    this.byMac = new GenerationalMap(maxDevices);
  }

  /**
   * Records that `nas` asked about `mac` at `at`. Returns when the same router asked
   * before (ms), or undefined when it did not (a device not seen, or seen on another
   * router). A device asking again through the same router has its entry updated in
   * place: every Access-Request comes here, and a new entry per request was garbage
   * that lived long enough to be copied by every young-generation GC (bench:radius).
   */
  note(mac: Mac, nas: string, at: Date, station?: Mac): number | undefined {
    const atMs = at.getTime();
    const newer = this.byMac.newer(mac);
    if (newer?.nas === nas && newer.station === station) {
      const before = newer.atMs;
      newer.atMs = atMs;
      return before;
    }
    const seen = newer ?? this.byMac.get(mac);
    this.byMac.set(mac, station ? { nas, atMs, station } : { nas, atMs });
    return seen?.nas === nas && seen.station === station ? seen.atMs : undefined;
  }

  /** The router that last asked about the device, if remembered. */
  latest(mac: Mac): AccessRequestSighting | undefined {
    const seen = this.byMac.get(mac);
    return seen ? { nas: seen.nas, at: new Date(seen.atMs), ...(seen.station ? { station: seen.station } : {}) } : undefined;
  }

  /** How many devices are remembered. */
  get size(): number {
    return this.byMac.size;
  }
}
