import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type Keyv from 'keyv';
import { withStoreDeadline } from '../../deadline.js';
import type { Logger } from '../../logger.js';

/**
 * TLS 1.2 sessions a device may resume by their session ID (RFC 5246 §7.4.1.2):
 * what wpa_supplicant and Windows offer in TLS 1.2, where they send no ticket
 * extension. They are kept in the state store (namespace tls_sessions), so a device
 * resumes whichever RADIUS worker, and whichever gateway sharing the Redis store, its
 * next conversation reaches. TLS 1.3 resumes by tickets, which need no store.
 *
 * A session holds its master secret: it is stored encrypted and authenticated
 * (AES-256-GCM) under a key derived from the CA key, as the ticket keys are
 * (wiring.ts eapTicketKeys): the same in every worker and gateway, new each UTC day;
 * a session is read back under its day's key, today's or yesterday's
 * (eap.resumption_minutes is at most a day). Its store key is an HMAC of the session
 * ID: the ID travels in clear in the ClientHello, the key names nothing by itself.
 *
 * Bounded: an entry expires after eap.resumption_minutes, and each process deletes
 * the oldest of those it wrote once it has written more than `maxSessions` within
 * that time. Only sessions of conversations that ended in an Accept are stored
 * (the handler decides), so a stranger's handshakes do not fill the store.
 *
 * The device is still checked at every resumption: the session holds its certificate,
 * which the tunnel reads again (tls-tunnel.ts peerCertificateBytes).
 */
export class TlsSessionCache {
  private readonly idKey: Buffer;
  private readonly dayKeys = new Map<string, Buffer>();
  /** The store keys this process wrote, oldest first (insertion order), with when. */
  private readonly written = new Map<string, number>();

  constructor(
    private readonly o: {
      kv: Keyv;
      caKey: Buffer;
      lifetimeMs: number;
      /** Sessions this process keeps in the store at once, at most. */
      maxSessions: number;
      /** The longest a store call is waited for (radius.store_deadline_ms): a handshake never hangs on a store that does not answer. */
      deadlineMs?: number;
      log: Logger;
      now?: () => number;
    },
  ) {
    this.idKey = Buffer.from(hkdfSync('sha256', o.caKey, '', 'enrollgate eap tls 1.2 session ids', 32));
  }

  /** Stores a session made by a full handshake. Never throws: a session not stored only means a full handshake next time. */
  async save(id: Buffer, session: Buffer): Promise<void> {
    const key = this.storeKey(id);
    const day = utcDay(this.now());
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.dayKey(day), iv);
    cipher.setAAD(Buffer.from(`${key}.${day}`));
    const sealed = Buffer.concat([iv, cipher.update(session), cipher.final(), cipher.getAuthTag()]);
    try {
      await this.inTime(this.o.kv.set(key, `${day}.${sealed.toString('base64')}`, this.o.lifetimeMs));
    } catch (err) {
      this.o.log.warn({ event: 'eap.session_not_stored', err: (err as Error).message }, 'a TLS session could not be stored for resumption');
      return;
    }
    await this.remember(key);
  }

  /** The session stored under this ID, or undefined: unknown, expired, or unreadable (logged). Never throws. */
  async find(id: Buffer): Promise<Buffer | undefined> {
    const key = this.storeKey(id);
    let stored: unknown;
    try {
      stored = await this.inTime(this.o.kv.get(key));
    } catch (err) {
      this.o.log.warn({ event: 'eap.session_unreadable', err: (err as Error).message }, 'the state store did not give a TLS session to resume: a full handshake instead');
      return undefined;
    }
    if (stored === undefined || stored === null) return undefined;
    const session = this.open(key, stored);
    if (!session) this.o.log.warn({ event: 'eap.session_unreadable', reason: 'the stored session does not decrypt' }, 'a stored TLS session is not readable: a full handshake instead');
    return session;
  }

  private open(key: string, stored: unknown): Buffer | undefined {
    if (typeof stored !== 'string') return undefined;
    const dot = stored.indexOf('.');
    const day = stored.slice(0, dot);
    const now = this.now();
    if (dot < 0 || (day !== utcDay(now) && day !== utcDay(now - DAY_MS))) return undefined;
    const sealed = Buffer.from(stored.slice(dot + 1), 'base64');
    if (sealed.length < IV_LENGTH + TAG_LENGTH) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.dayKey(day), sealed.subarray(0, IV_LENGTH));
      decipher.setAAD(Buffer.from(`${key}.${day}`));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
      return Buffer.concat([decipher.update(sealed.subarray(IV_LENGTH, sealed.length - TAG_LENGTH)), decipher.final()]);
    } catch {
      return undefined;
    }
  }

  /** Notes a key this process wrote; past the bound, the oldest are deleted from the store. */
  private async remember(key: string): Promise<void> {
    const now = this.now();
    this.written.delete(key);
    this.written.set(key, now);
    const over: string[] = [];
    for (const [old, at] of this.written) {
      if (now - at < this.o.lifetimeMs && this.written.size <= this.o.maxSessions) break;
      this.written.delete(old);
      // Expired ones are gone from the store already (their TTL); only the bound needs a delete.
      if (now - at < this.o.lifetimeMs) over.push(old);
    }
    try {
      await this.inTime(Promise.all(over.map((old) => this.o.kv.delete(old))));
    } catch (err) {
      this.o.log.warn({ event: 'eap.session_not_deleted', err: (err as Error).message }, 'an old TLS session could not be deleted (it expires by itself)');
    }
  }

  private inTime<T>(call: Promise<T>): Promise<T> {
    return withStoreDeadline(call, this.o.deadlineMs);
  }

  private storeKey(id: Buffer): string {
    return createHmac('sha256', this.idKey).update(id).digest('base64url');
  }

  private dayKey(day: string): Buffer {
    let key = this.dayKeys.get(day);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.o.caKey, day, 'enrollgate eap tls 1.2 sessions', 32));
      // Only today's and yesterday's are ever asked for.
      if (this.dayKeys.size >= 2) this.dayKeys.delete(this.dayKeys.keys().next().value!);
      this.dayKeys.set(day, key);
    }
    return key;
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }
}

const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const DAY_MS = 86_400_000;

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
