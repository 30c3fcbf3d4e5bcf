/**
 * The gateway CA's revoked certificates, kept in the state store, and what it needs to
 * know of the certificates it issued to devices (when each expires) to keep each
 * revocation exactly as long as it matters.
 *
 * RFC 5280 §5: an entry may leave the CRL once it has appeared on one regularly
 * scheduled CRL issued after the certificate's notAfter. Entries therefore expire
 * (store TTL, purged like everything else) RETAIN_AFTER_EXPIRY_MS past the
 * certificate's notAfter, which is far longer than a CRL's validity (crl-publisher.ts).
 */
import type Keyv from 'keyv';
import { storeCall } from '../store/state-store.js';
import type { CrlReasonCode, RevokedCertificateEntry } from './revocation-reasons.js';
import { normaliseSerial } from './serial.js';

/** How long a revocation stays listed after the certificate's notAfter. */
export const RETAIN_AFTER_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000;
// When a serial's notAfter was never recorded (a certificate issued before the gateway
// recorded them): no leaf the CA issues lives longer than a server certificate (825 days).
const LONGEST_LEAF_MS = 825 * 24 * 60 * 60 * 1000;

/** A certificate the CA issued to a device, as recorded when it was issued. */
export interface IssuedCertificateRecord {
  readonly serial: string;
  readonly mac: string;
  /** ISO 8601. */
  readonly issuedAt: string;
  /** ISO 8601. */
  readonly notAfter: string;
}

/** The namespaces the list keeps (state-store.ts): serial → RevokedCertificateEntry, serial → IssuedCertificateRecord. */
export interface RevocationNamespaces {
  readonly revoked: Keyv;
  readonly certificates: Keyv;
}

export class RevocationList {
  /**
   * `prefixes` when both live in one Keyv beside other records (DeviceRegistry's
   * single-Keyv form): keys are then prefixed and listing skips everything else.
   */
  constructor(
    private readonly kv: RevocationNamespaces,
    private readonly prefixes: { readonly revoked: string; readonly certificates: string } = { revoked: '', certificates: '' },
  ) {}

  /** Records a certificate issued to a device (kept until its notAfter). */
  async recordIssued(record: IssuedCertificateRecord, now: Date): Promise<void> {
    const serial = normaliseSerial(record.serial);
    const ttl = Date.parse(record.notAfter) - now.getTime();
    if (!(ttl > 0)) return;
    await storeCall('record an issued certificate', () => this.kv.certificates.set(this.prefixes.certificates + serial, { ...record, serial }, ttl));
  }

  /**
   * Lists the serials as revoked at `at` for `reason`. A serial revoked before keeps its
   * first entry (its revocation date and reason do not change). Returns the entries
   * written now.
   */
  async revoke(serials: readonly string[], reason: CrlReasonCode, at: Date): Promise<RevokedCertificateEntry[]> {
    const written: RevokedCertificateEntry[] = [];
    for (const given of new Set(serials.map(normaliseSerial))) {
      if (await this.status(given)) continue;
      const issued = await storeCall('read an issued certificate', () => this.kv.certificates.get<IssuedCertificateRecord>(this.prefixes.certificates + given));
      const notAfter = issued?.notAfter ?? new Date(at.getTime() + LONGEST_LEAF_MS).toISOString();
      const entry: RevokedCertificateEntry = { serial: given, revokedAt: at.toISOString(), reason, notAfter };
      const ttl = Math.max(Date.parse(notAfter) + RETAIN_AFTER_EXPIRY_MS - at.getTime(), RETAIN_AFTER_EXPIRY_MS);
      await storeCall('write a revoked certificate', () => this.kv.revoked.set(this.prefixes.revoked + given, entry, ttl));
      written.push(entry);
    }
    return written;
  }

  /** The revocation of this serial (any spelling normaliseSerial accepts), if it is revoked. */
  async status(serial: string): Promise<RevokedCertificateEntry | undefined> {
    const key = normaliseSerial(serial);
    return storeCall('read a revoked certificate', () => this.kv.revoked.get<RevokedCertificateEntry>(this.prefixes.revoked + key));
  }

  /** Every listed revocation (reads the whole namespace: the CRL). */
  async list(): Promise<RevokedCertificateEntry[]> {
    const keyv = this.kv.revoked;
    const prefix = this.prefixes.revoked;
    return storeCall('list revoked certificates', async () => {
      if (!keyv.iterator) throw new Error('the store cannot list its entries');
      const out: RevokedCertificateEntry[] = [];
      for await (const [key, value] of keyv.iterator(undefined) as AsyncGenerator<[string, RevokedCertificateEntry]>) {
        if (key.startsWith(prefix) && value && typeof value === 'object' && 'serial' in value && 'revokedAt' in value) out.push(value);
      }
      return out;
    });
  }
}
