import type Keyv from 'keyv';
import { DeviceLimitReachedError, DeviceOwnedByOtherError } from '../errors.js';
import { CRL_REASON, type CrlReasonCode, type RevokedCertificateEntry } from '../pki/revocation-reasons.js';
import { RevocationList } from '../pki/revocation-list.js';
import { normaliseSerial } from '../pki/serial.js';
import { KeyedLock, type LockRunner } from '../store/keyed-lock.js';
import { storeCall } from '../store/state-store.js';
import { MAX_CERTIFICATES_PER_DEVICE, type Device } from './device.js';
import type { Mac } from '../mac.js';

/** An entry of the block list: a lost or stolen device's MAC, who blocked it, why and when. */
export interface BlockEntry {
  readonly mac: Mac;
  /** Who blocked it: a username, or "cli:<os user>" for the command line. */
  readonly by: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
}

/** The state-store namespaces the registry keeps (state-store.ts: all durable). */
export interface DeviceNamespaces {
  /** MAC → Device. */
  readonly devices: Keyv;
  /** Lower-cased owner → the MACs enrolled to them. */
  readonly owners: Keyv;
  /** MAC → BlockEntry. */
  readonly blocked: Keyv;
  /** Serial → the device certificate issued (pki/revocation-list.ts). */
  readonly certificates: Keyv;
  /** Serial → its revocation (pki/revocation-list.ts). */
  readonly revoked: Keyv;
}

/** What unenrolling or blocking did to the device's certificates. */
export interface Retired {
  readonly device: Device;
  /** The revocations written now (a serial revoked before is not repeated). */
  readonly revoked: readonly RevokedCertificateEntry[];
}

/**
 * Enrolled devices by MAC, with an index by owner (for device limits and "My devices")
 * and the block list.
 *
 * Limits are enforced under a lock per owner and per MAC: two enrollments for the
 * same person cannot both read "one slot left". The lock is the state store's
 * (StateStore.withLock): in this process for SQLite, in Redis for gateways sharing it.
 *
 * The index is written before the device and cleaned after it, so a crash in between
 * leaves at most a stale MAC in an owner's list, which listByOwner skips (it checks
 * each device's owner), never a device missing from its owner's list.
 *
 * A device's EAP-TLS certificates are bound to its record (Device.certificateSerials)
 * and revoked when it stops being enrolled (unenrolled, blocked): the revocation is
 * written before the device is changed, under the device's lock, so a crash in between
 * leaves a revoked certificate on a device still enrolled (its owner tries again),
 * never a certificate that outlives its enrollment.
 */
export class DeviceRegistry {
  private readonly devices: Section;
  private readonly owners: Section;
  private readonly blockList: Section;
  private readonly lock: LockRunner;
  /** The CA's revoked certificates (CRL and OCSP read the same list). */
  readonly revocations: RevocationList;

  /**
   * Takes the state store's namespaces. A single Keyv (the form before device limits,
   * still used by benches and store tests) keeps the index and the block list in that
   * Keyv under the key prefixes "owner:" and "blocked:", which no MAC key can have.
   */
  constructor(kv: Keyv | DeviceNamespaces, lock?: LockRunner) {
    if (lock) this.lock = lock;
    else {
      const local = new KeyedLock();
      this.lock = (keys, fn) => local.run(keys, fn);
    }
    if (isNamespaces(kv)) {
      this.devices = new Section(kv.devices);
      this.owners = new Section(kv.owners);
      this.blockList = new Section(kv.blocked);
      this.revocations = new RevocationList(kv);
    } else {
      this.devices = new Section(kv, '', ['owner:', 'blocked:', 'certificate:', 'revoked:']);
      this.owners = new Section(kv, 'owner:');
      this.blockList = new Section(kv, 'blocked:');
      this.revocations = new RevocationList({ certificates: kv, revoked: kv }, { certificates: 'certificate:', revoked: 'revoked:' });
    }
  }

  /** The enrolled device with this MAC, if any. */
  async get(mac: Mac): Promise<Device | undefined> {
    return storeCall('read a device', () => this.devices.get<Device>(mac));
  }

  /**
   * Records the device as enrolled by its owner. Enrolling again by the same owner
   * refreshes the record (keeping the first enrolment time) and never counts against
   * the limit; a device enrolled to somebody else is refused, never silently taken
   * over. A new device beyond `limit` (0: unlimited) is refused with
   * DeviceLimitReachedError. Atomic against concurrent enrollments in this process.
   */
  async enroll(device: Device, limit = 0): Promise<Device> {
    return this.lock([ownerKey(device.owner), macKey(device.mac)], async () => {
      const existing = await this.get(device.mac);
      if (existing && !sameUser(existing.owner, device.owner)) throw new DeviceOwnedByOtherError();
      if (!existing && limit > 0) {
        const owned = await this.listByOwner(device.owner);
        if (owned.length >= limit) {
          const err = new DeviceLimitReachedError(limit);
          err.user = device.owner;
          throw err;
        }
      }
      // The same enrollment refreshed keeps its certificates and its owner's name for it; a new
      // one starts without any (whatever the caller passed: only recordCertificate binds a
      // certificate, only rename names it).
      const { certificateSerials: _ignored, name: _unnamed, ...fresh } = device;
      const record: Device = existing
        ? {
            ...fresh,
            owner: existing.owner,
            enrolledAt: existing.enrolledAt,
            ...(existing.certificateSerials?.length ? { certificateSerials: existing.certificateSerials } : {}),
            ...(existing.name ? { name: existing.name } : {}),
          }
        : fresh;
      await this.addToIndex(record.owner, record.mac);
      await storeCall('write a device', () => this.devices.set(record.mac, record));
      return record;
    });
  }

  /**
   * Gives the device the name its owner chose (parsed by device-name.ts), or takes it away
   * (undefined). Only when `owner` owns it: the device as renamed, else undefined.
   */
  async rename(mac: Mac, owner: string, name: string | undefined): Promise<Device | undefined> {
    return this.lock([ownerKey(owner), macKey(mac)], async () => {
      const device = await this.get(mac);
      if (!device || !sameUser(device.owner, owner)) return undefined;
      const { name: _old, ...unnamed } = device;
      const record: Device = name === undefined ? unnamed : { ...unnamed, name };
      await storeCall('write a device', () => this.devices.set(mac, record));
      return record;
    });
  }

  /** Removes the device (only when `owner` owns it, if given), revoking its certificates; true when it was removed. */
  async unenroll(mac: Mac, owner?: string, reason: CrlReasonCode = CRL_REASON.cessationOfOperation, at: Date = new Date()): Promise<boolean> {
    return (await this.remove(mac, { ...(owner !== undefined ? { owner } : {}), reason, at })) !== undefined;
  }

  /**
   * unenroll() telling what it did: the device as it was and the revocations of its
   * certificates (for the audit trail); undefined when nothing was removed.
   */
  async remove(mac: Mac, o: { owner?: string; reason: CrlReasonCode; at: Date }): Promise<Retired | undefined> {
    const current = await this.get(mac);
    if (!current || (o.owner !== undefined && !sameUser(current.owner, o.owner))) return undefined;
    return this.lock([ownerKey(current.owner), macKey(mac)], async () => {
      const device = await this.get(mac);
      // Changed hands while waiting for the lock (unenrolled and enrolled again).
      if (!device || !sameUser(device.owner, current.owner)) return undefined;
      const revoked = await this.revocations.revoke(device.certificateSerials ?? [], o.reason, o.at);
      const removed = await storeCall('delete a device', () => this.devices.delete(mac));
      await this.removeFromIndex(device.owner, mac);
      return removed ? { device, revoked } : undefined;
    });
  }

  /**
   * Binds a newly issued EAP-TLS certificate to the enrolled device, keeping the
   * MAX_CERTIFICATES_PER_DEVICE newest; older ones are revoked (superseded). When the
   * device is no longer enrolled (unenrolled while the certificate was being made), or
   * no longer to `owner` when given, the certificate is revoked at once and undefined
   * returned: it must not be handed out.
   */
  async recordCertificate(
    mac: Mac,
    certificate: { serial: string; notAfter: Date; owner?: string },
    at: Date,
  ): Promise<{ device: Device; superseded: readonly RevokedCertificateEntry[] } | undefined> {
    const serial = normaliseSerial(certificate.serial);
    await this.revocations.recordIssued({ serial, mac, issuedAt: at.toISOString(), notAfter: certificate.notAfter.toISOString() }, at);
    return this.lock([macKey(mac)], async () => {
      const device = await this.get(mac);
      // Gone, or enrolled again by somebody else (the certificate names its owner): not theirs to keep.
      if (!device || (certificate.owner !== undefined && !sameUser(device.owner, certificate.owner))) {
        await this.revocations.revoke([serial], CRL_REASON.cessationOfOperation, at);
        return undefined;
      }
      const all = [...(device.certificateSerials ?? []).filter((s) => s !== serial), serial];
      const kept = all.slice(-MAX_CERTIFICATES_PER_DEVICE);
      // Revoked before the device record drops them, as in remove().
      const superseded = await this.revocations.revoke(all.slice(0, all.length - kept.length), CRL_REASON.superseded, at);
      const record: Device = { ...device, certificateSerials: kept };
      await storeCall('write a device', () => this.devices.set(mac, record));
      return { device: record, superseded };
    });
  }

  /** The serials of the certificates bound to the enrolled device (none when it is not enrolled). For the EAP-TLS server. */
  async certificateSerials(mac: Mac): Promise<readonly string[]> {
    return (await this.get(mac))?.certificateSerials ?? [];
  }

  /**
   * Revokes one certificate bound to the device and unbinds it. Undefined when the
   * device is not enrolled or the serial is not one of its certificates.
   */
  async revokeCertificate(mac: Mac, serial: string, reason: CrlReasonCode, at: Date): Promise<RevokedCertificateEntry | undefined> {
    const wanted = normaliseSerial(serial);
    return this.lock([macKey(mac)], async () => {
      const device = await this.get(mac);
      if (!device?.certificateSerials?.includes(wanted)) return undefined;
      const [entry] = await this.revocations.revoke([wanted], reason, at);
      const rest = device.certificateSerials.filter((s) => s !== wanted);
      const { certificateSerials: _bound, ...others } = device;
      await storeCall('write a device', () => this.devices.set(mac, rest.length > 0 ? { ...others, certificateSerials: rest } : others));
      return entry ?? (await this.revocations.status(wanted));
    });
  }

  /** The devices enrolled to this person (compared case-insensitively), oldest first. */
  async listByOwner(owner: string): Promise<Device[]> {
    const macs = await this.indexOf(owner);
    const devices = await Promise.all(macs.map((m) => this.get(m)));
    return devices
      .filter((d): d is Device => d !== undefined && sameUser(d.owner, owner))
      .sort((a, b) => a.enrolledAt.localeCompare(b.enrolledAt));
  }

  /** Every enrolled device (for the command line; reads the whole namespace). */
  async list(): Promise<Device[]> {
    const all = await storeCall('list devices', () => this.devices.values<Device>());
    return all.sort((a, b) => a.owner.localeCompare(b.owner) || a.enrolledAt.localeCompare(b.enrolledAt));
  }

  /**
   * Puts the MAC on the block list (replacing an earlier entry for it). A blocked device is
   * lost or stolen: its certificates are revoked (keyCompromise) and unbound, and stay
   * revoked when it is unblocked (its owner fetches a new profile).
   */
  async block(mac: Mac, entry: { by: string; reason: string; at: string }): Promise<BlockEntry & { readonly revoked: readonly RevokedCertificateEntry[] }> {
    const record: BlockEntry = { mac, by: entry.by, reason: entry.reason, at: entry.at };
    await storeCall('write a block', () => this.blockList.set(mac, record));
    const revoked = await this.lock([macKey(mac)], async () => {
      const device = await this.get(mac);
      if (!device?.certificateSerials?.length) return [];
      const written = await this.revocations.revoke(device.certificateSerials, CRL_REASON.keyCompromise, new Date(entry.at));
      const { certificateSerials: _bound, ...unbound } = device;
      await storeCall('write a device', () => this.devices.set(mac, unbound));
      return written;
    });
    return { ...record, revoked };
  }

  /** Takes the MAC off the block list; true when it was on it. */
  async unblock(mac: Mac): Promise<boolean> {
    return storeCall('delete a block', () => this.blockList.delete(mac));
  }

  /** The block-list entry for this MAC, if it is blocked. */
  async blocked(mac: Mac): Promise<BlockEntry | undefined> {
    return storeCall('read a block', () => this.blockList.get<BlockEntry>(mac));
  }

  /** The whole block list, most recent first. */
  async listBlocked(): Promise<BlockEntry[]> {
    const all = await storeCall('list blocks', () => this.blockList.values<BlockEntry>());
    return all.sort((a, b) => b.at.localeCompare(a.at));
  }

  private async indexOf(owner: string): Promise<Mac[]> {
    return (await storeCall('read an owner index', () => this.owners.get<Mac[]>(ownerKey(owner)))) ?? [];
  }

  // Callers hold the owner's lock: read-modify-write of the owner's list is safe.
  private async addToIndex(owner: string, mac: Mac): Promise<void> {
    const macs = await this.indexOf(owner);
    if (macs.includes(mac)) return;
    await storeCall('write an owner index', () => this.owners.set(ownerKey(owner), [...macs, mac]));
  }

  private async removeFromIndex(owner: string, mac: Mac): Promise<void> {
    const macs = await this.indexOf(owner);
    const rest = macs.filter((m) => m !== mac);
    if (rest.length === macs.length) return;
    await storeCall('write an owner index', () => (rest.length > 0 ? this.owners.set(ownerKey(owner), rest) : this.owners.delete(ownerKey(owner))));
  }
}

/**
 * Directory usernames compare case-insensitively (LDAP uid and sAMAccountName do), after
 * Unicode normalisation (NFC, so a name typed with a combining accent is the same name):
 * the fold of the owner index's key and of the users file, so whoever sameUser takes for
 * a device's owner is the one the index lists it under. An Intl.Collator compared before;
 * it also took for equal what it ignores (a zero-width space, a soft hyphen, a NUL), which
 * the index did not: "alice\u200b" passed for the owner of alice's devices.
 */
export function sameUser(a: string, b: string): boolean {
  return a === b || ownerKey(a) === ownerKey(b);
}

/** The owner index key: the username folded as sameUser compares. */
function ownerKey(owner: string): string {
  return owner.normalize('NFC').toLowerCase();
}

function macKey(mac: Mac): string {
  return `mac:${mac}`;
}

function isNamespaces(kv: Keyv | DeviceNamespaces): kv is DeviceNamespaces {
  return 'devices' in kv && 'owners' in kv && 'blocked' in kv && 'certificates' in kv && 'revoked' in kv;
}

/** One kind of record in a Keyv: the whole namespace, or the keys under a prefix. */
class Section {
  constructor(
    private readonly kv: Keyv,
    private readonly prefix = '',
    /** Prefixes of other sections sharing the Keyv (skipped when listing). */
    private readonly others: readonly string[] = [],
  ) {}

  get<T>(key: string): Promise<T | undefined> {
    return this.kv.get<T>(this.prefix + key);
  }

  async set(key: string, value: unknown): Promise<boolean> {
    return this.kv.set(this.prefix + key, value);
  }

  delete(key: string): Promise<boolean> {
    return this.kv.delete(this.prefix + key);
  }

  async values<T>(): Promise<T[]> {
    if (!this.kv.iterator) throw new Error('the store cannot list its entries');
    const out: T[] = [];
    for await (const [key, value] of this.kv.iterator(undefined) as AsyncGenerator<[string, T]>) {
      if (!key.startsWith(this.prefix) || this.others.some((p) => key.startsWith(p))) continue;
      out.push(value);
    }
    return out;
  }
}
