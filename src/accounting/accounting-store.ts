import type Keyv from 'keyv';
import type { Mac } from '../devices/mac.js';
import { storeCall, type StateStore } from '../store/state-store.js';

/** What a router told us about one accounting session (RFC 2866). */
export interface AccountingRecord {
  readonly sessionId: string;
  readonly mac: Mac;
  readonly nas: string;
  readonly user?: string;
  readonly ip?: string;
  /** The router's NAS-IP-Address, as it reported it (RFC 5176 requests must repeat it exactly). */
  readonly nasIp?: string;
  readonly status: 'start' | 'interim' | 'stop';
  readonly inputOctets: number;
  readonly outputOctets: number;
  readonly sessionTimeSeconds?: number;
  readonly terminateCause?: string;
  /** ISO 8601: first and latest packet. */
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly stoppedAt?: string;
}

/** The router's word on which device holds an address, so the portal can tell which device a browser is. */
export interface Lease {
  readonly ip: string;
  readonly mac: Mac;
  readonly nas: string;
  readonly updatedAt: string;
}

/** Which router and accounting session a device is on, per the latest accounting (where RFC 5176 requests go). */
export interface Whereabouts {
  readonly mac: Mac;
  readonly nas: string;
  readonly sessionId: string;
  readonly nasIp?: string;
  readonly updatedAt: string;
}

/** Keep records for a week after their last packet; a lease lasts until Stop or a day without interim updates. */
const RECORD_TTL_MS = 7 * 24 * 3600 * 1000;
const LEASE_TTL_MS = 24 * 3600 * 1000;

/** Accounting records by NAS and Acct-Session-Id, and the IP→MAC mapping they maintain. */
export class AccountingStore {
  /**
   * @param readNow the store's synchronous read (SQLite), when it has one: accounting
   *   reads a record and the device's whereabouts for every packet, and keyv's own get
   *   cost more than the rest of the answer (bench:radius).
   */
  constructor(
    private readonly records: Keyv,
    private readonly leases: Keyv,
    private readonly readNow?: (namespace: 'accounting' | 'leases', key: string) => unknown,
  ) {}

  /** The accounting of a state store, read synchronously where the store can. */
  static on(store: StateStore): AccountingStore {
    return new AccountingStore(store.kv.accounting, store.kv.leases, store.readNow);
  }

  /** The record for a session on a NAS, if we have one. */
  async get(nas: string, sessionId: string): Promise<AccountingRecord | undefined> {
    if (this.readNow) return this.readNow('accounting', recordKey(nas, sessionId)) as AccountingRecord | undefined;
    return storeCall('read an accounting record', () => this.records.get<AccountingRecord>(recordKey(nas, sessionId)));
  }

  /** Saves a record and moves the IP→MAC mapping accordingly (Stop releases the address). */
  async save(record: AccountingRecord): Promise<void> {
    await storeCall('write an accounting record', () => this.records.set(recordKey(record.nas, record.sessionId), record, RECORD_TTL_MS));
    await this.moveWhereabouts(record);
    if (!record.ip) return;
    const ip = record.ip;
    if (record.status === 'stop') {
      // Only release the address if it still points at this device (it may have been reassigned since).
      const lease = await this.leaseFor(ip);
      if (lease?.mac === record.mac) await storeCall('delete a lease', () => this.leases.delete(ip));
      return;
    }
    const current = await this.leaseFor(ip);
    if (current?.mac === record.mac && current.nas === record.nas && isFresh(current.updatedAt, record.updatedAt)) return;
    const lease: Lease = { ip, mac: record.mac, nas: record.nas, updatedAt: record.updatedAt };
    await storeCall('write a lease', () => this.leases.set(ip, lease, LEASE_TTL_MS));
  }

  /** Which device holds this address, per the latest accounting. */
  async leaseFor(ip: string): Promise<Lease | undefined> {
    if (this.readNow) return this.readNow('leases', ip) as Lease | undefined;
    return storeCall('read a lease', () => this.leases.get<Lease>(ip));
  }

  /** Which router and session the device is on, per the latest accounting. */
  async whereabouts(mac: Mac): Promise<Whereabouts | undefined> {
    if (this.readNow) return this.readNow('leases', whereaboutsKey(mac)) as Whereabouts | undefined;
    return storeCall('read whereabouts', () => this.leases.get<Whereabouts>(whereaboutsKey(mac)));
  }

  /** Start and Interim point the device at this session; Stop forgets it only if it is still this session (the device may have moved on). */
  private async moveWhereabouts(record: AccountingRecord): Promise<void> {
    const key = whereaboutsKey(record.mac);
    if (record.status === 'stop') {
      const current = await this.whereabouts(record.mac);
      if (current?.nas === record.nas && current.sessionId === record.sessionId) await storeCall('delete whereabouts', () => this.leases.delete(key));
      return;
    }
    const current = await this.whereabouts(record.mac);
    if (current?.nas === record.nas && current.sessionId === record.sessionId && current.nasIp === record.nasIp && isFresh(current.updatedAt, record.updatedAt)) return;
    const w: Whereabouts = { mac: record.mac, nas: record.nas, sessionId: record.sessionId, ...(record.nasIp ? { nasIp: record.nasIp } : {}), updatedAt: record.updatedAt };
    await storeCall('write whereabouts', () => this.leases.set(key, w, LEASE_TTL_MS));
  }
}

/**
 * Interim-Updates repeat what Start said; rewriting the same lease every few minutes
 * per device only costs writes. An unchanged entry is refreshed once an hour, well
 * inside its 24-hour TTL.
 */
const REFRESH_MS = 3600_000;

function isFresh(written: string, now: string): boolean {
  return Date.parse(now) - Date.parse(written) < REFRESH_MS;
}

/** In the leases namespace beside the IP keys (which never contain "/"). */
function whereaboutsKey(mac: Mac): string {
  return `whereabouts/${mac}`;
}

function recordKey(nas: string, sessionId: string): string {
  return `${nas}/${sessionId}`;
}
