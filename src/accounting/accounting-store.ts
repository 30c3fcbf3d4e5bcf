import type Keyv from 'keyv';
import type { Maybe } from '../maybe.js';
import type { Mac } from '../mac.js';
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

/** The namespaces accounting keeps its entries in. */
type AccountingNamespace = 'accounting' | 'leases';

/** One write that saving a record makes: an entry to put (with its TTL) or to remove. */
type Change = { namespace: AccountingNamespace; key: string } & ({ value: AccountingRecord | Lease | Whereabouts; ttlMs: number } | { remove: true });

/** A store that reads and writes without waiting (the embedded SQLite store: StateStore.readNow and writeNow). */
type Synchronous = Required<Pick<StateStore, 'readNow' | 'writeNow' | 'deleteNow'>>;

/** Accounting records by NAS and Acct-Session-Id, and the IP→MAC mapping they maintain. */
export class AccountingStore {
  /**
   * @param now the store's synchronous reads and writes, when it has them (SQLite):
   *   accounting reads its record and the device's whereabouts and writes the record for
   *   every packet, and keyv's promises cost more than the rest of the answer (bench:radius).
   */
  constructor(
    private readonly records: Keyv,
    private readonly leases: Keyv,
    private readonly now?: Synchronous,
  ) {}

  /** The accounting of a state store, read and written synchronously where the store can. */
  static on(store: StateStore): AccountingStore {
    const { readNow, writeNow, deleteNow } = store;
    return new AccountingStore(store.kv.accounting, store.kv.leases, readNow && writeNow && deleteNow ? { readNow, writeNow, deleteNow } : undefined);
  }

  /** The record for a session on a NAS, if we have one: at once on a synchronous store (SQLite), else a promise. */
  get(nas: string, sessionId: string): Maybe<AccountingRecord | undefined> {
    if (this.now) return this.now.readNow('accounting', recordKey(nas, sessionId)) as AccountingRecord | undefined;
    return storeCall('read an accounting record', () => this.records.get<AccountingRecord>(recordKey(nas, sessionId)));
  }

  /**
   * Saves a record and moves the IP→MAC mapping accordingly (Stop releases the address).
   * On a synchronous store (SQLite) every read and write happens before this returns, in
   * the store's open group commit, and the promise settles with that commit (one promise
   * for all the writes, instead of a chain of keyv calls): it throws when the store cannot
   * be read, and rejects when a write or the commit fails. A write that fails leaves the
   * others in the batch: each is the record's own state, and the router, left without an
   * answer, sends the record again.
   */
  save(record: AccountingRecord): Promise<void> {
    if (this.now) return this.saveSynchronously(this.now, record);
    return this.saveLater(record);
  }

  private async saveLater(record: AccountingRecord): Promise<void> {
    const [whereabouts, lease] = await Promise.all([this.whereabouts(record.mac), record.ip ? this.leaseFor(record.ip) : undefined]);
    for (const change of changesOf(record, whereabouts, lease)) {
      const kv = change.namespace === 'accounting' ? this.records : this.leases;
      if ('remove' in change) await storeCall(`delete from ${change.namespace}`, () => kv.delete(change.key));
      else await storeCall(`write to ${change.namespace}`, () => kv.set(change.key, change.value, change.ttlMs));
    }
  }

  private saveSynchronously(now: Synchronous, record: AccountingRecord): Promise<void> {
    const lease = record.ip ? (now.readNow('leases', record.ip) as Lease | undefined) : undefined;
    const whereabouts = now.readNow('leases', whereaboutsKey(record.mac)) as Whereabouts | undefined;
    const writes = changesOf(record, whereabouts, lease).map((c) => ('remove' in c ? now.deleteNow(c.namespace, c.key) : now.writeNow(c.namespace, c.key, c.value, c.ttlMs)));
    return writes.length === 1 ? (writes[0] as Promise<void>) : Promise.all(writes).then(() => undefined);
  }

  /** Which device holds this address, per the latest accounting (at once on SQLite, else a promise). */
  leaseFor(ip: string): Maybe<Lease | undefined> {
    if (this.now) return this.now.readNow('leases', ip) as Lease | undefined;
    return storeCall('read a lease', () => this.leases.get<Lease>(ip));
  }

  /** Which router and session the device is on, per the latest accounting (at once on SQLite, else a promise). */
  whereabouts(mac: Mac): Maybe<Whereabouts | undefined> {
    if (this.now) return this.now.readNow('leases', whereaboutsKey(mac)) as Whereabouts | undefined;
    return storeCall('read whereabouts', () => this.leases.get<Whereabouts>(whereaboutsKey(mac)));
  }
}

/**
 * What saving a record writes (pure), given the device's whereabouts and the lease of
 * the record's address as they are now:
 * - the record itself;
 * - Start and Interim point the device at this session; Stop forgets its whereabouts
 *   only if they are still this session (the device may have moved on);
 * - Start and Interim give the address to the device; Stop releases it only if it
 *   still points at this device (it may have been reassigned since).
 * An unchanged whereabouts or lease is rewritten only once it is an hour old (isFresh).
 */
function changesOf(record: AccountingRecord, whereabouts: Whereabouts | undefined, lease: Lease | undefined): Change[] {
  const changes: Change[] = [{ namespace: 'accounting', key: recordKey(record.nas, record.sessionId), value: record, ttlMs: RECORD_TTL_MS }];
  const sameSession = whereabouts?.nas === record.nas && whereabouts.sessionId === record.sessionId;
  const wKey = whereaboutsKey(record.mac);
  if (record.status === 'stop') {
    if (sameSession) changes.push({ namespace: 'leases', key: wKey, remove: true });
  } else if (!(sameSession && whereabouts.nasIp === record.nasIp && isFresh(whereabouts.updatedAt, record.updatedAt))) {
    const w: Whereabouts = { mac: record.mac, nas: record.nas, sessionId: record.sessionId, ...(record.nasIp ? { nasIp: record.nasIp } : {}), updatedAt: record.updatedAt };
    changes.push({ namespace: 'leases', key: wKey, value: w, ttlMs: LEASE_TTL_MS });
  }
  if (!record.ip) return changes;
  const ip = record.ip;
  if (record.status === 'stop') {
    if (lease?.mac === record.mac) changes.push({ namespace: 'leases', key: ip, remove: true });
  } else if (!(lease?.mac === record.mac && lease.nas === record.nas && isFresh(lease.updatedAt, record.updatedAt))) {
    changes.push({ namespace: 'leases', key: ip, value: { ip, mac: record.mac, nas: record.nas, updatedAt: record.updatedAt } satisfies Lease, ttlMs: LEASE_TTL_MS });
  }
  return changes;
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
