import { createSocket, type Socket } from 'node:dgram';
import { AccountingStore } from '../../src/accounting/accounting-store.js';
import { DeviceRegistry } from '../../src/devices/device-registry.js';
import { parseMac, type Mac } from '../../src/mac.js';
import { SessionStore } from '../../src/sessions/session-store.js';
import { openSqliteStore } from '../../src/store/sqlite-state-store.js';
import { type StateStore } from '../../src/store/state-store.js';
import { expectedResponseAuthenticator } from '../unit/radius/radius-bytes.js';
import { TEST_NAS_SECRET, type TestGateway } from './gateway.js';

/** A second connection to the gateway's SQLite file (WAL): the tests write sessions and read accounting through it. */
export class Backdoor {
  private constructor(
    private readonly store: StateStore,
    readonly sessions: SessionStore,
    readonly accounting: AccountingStore,
    readonly devices: DeviceRegistry,
  ) {}

  static async open(t: TestGateway): Promise<Backdoor> {
    const store = await openSqliteStore(t.config.store.sqlite_file);
    return new Backdoor(store, new SessionStore(store.kv.sessions), new AccountingStore(store.kv.accounting, store.kv.leases), new DeviceRegistry(store.kv, store.withLock));
  }

  /** Runs `use` on a backdoor opened for it, and closes it. */
  static async with<T>(t: TestGateway, use: (b: Backdoor) => Promise<T>): Promise<T> {
    const b = await Backdoor.open(t);
    try {
      return await use(b);
    } finally {
      await b.close();
    }
  }

  /** Records the device as `owner`'s, as the Android agent's enrollment does (no session). */
  async enrollByAgent(mac: string, owner = 'employee'): Promise<void> {
    await this.devices.enroll({ mac: parseMac(mac)!, owner, platform: 'android', enrolledAt: new Date().toISOString(), via: 'agent' });
  }

  /** Who the device is enrolled to, if anyone. */
  async ownerOf(mac: string): Promise<string | undefined> {
    return (await this.devices.get(parseMac(mac)!))?.owner;
  }

  /** A session for the device ending `ms` from now; returns its end. */
  async giveSession(mac: string, ms: number, user = 'alice'): Promise<Date> {
    const now = new Date();
    const endsAt = new Date(now.getTime() + ms);
    await this.sessions.put({ mac: mac as Mac, user, origin: 'enrollment', startedAt: now.toISOString(), endsAt: endsAt.toISOString() }, now);
    return endsAt;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** A UDP socket acting as a router: send raw bytes, collect every datagram that comes back. */
export class RawNas {
  readonly replies: Buffer[] = [];
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('message', (msg) => {
      this.replies.push(msg);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Bound to `address` (any of 127.0.0.0/8 on Linux: a second router on this machine), sending to 127.0.0.1. */
  static open(address = '127.0.0.1'): Promise<RawNas> {
    const socket = createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve(new RawNas(socket)));
    });
  }

  send(port: number, bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Sends `bytes` and waits for a reply that `matches`, retransmitting like a router
   * (every `everyMs`, at most `tries` times) in case the kernel dropped a datagram.
   */
  async ask(port: number, bytes: Buffer, matches: (reply: Buffer) => boolean, tries = 10, everyMs = 500): Promise<Buffer> {
    for (let i = 0; i < tries; i++) {
      const seen = this.replies.length;
      await this.send(port, bytes);
      const found = await new Promise<Buffer | undefined>((resolve) => {
        const check = () => {
          const hit = this.replies.slice(seen).find(matches);
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(undefined);
        }, everyMs);
        const waiter = () => {
          if (!check()) this.waiters.push(waiter);
        };
        if (!check()) this.waiters.push(waiter);
      });
      if (found) return found;
    }
    throw new Error(`no reply after ${tries} tries`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A reply to `request` (same identifier, Response Authenticator right for its authenticator and the secret). */
export function answers(request: Buffer, secret = TEST_NAS_SECRET): (reply: Buffer) => boolean {
  return (reply) =>
    reply.length >= 20 &&
    reply[1] === request[1] &&
    reply.readUInt16BE(2) <= reply.length &&
    reply.subarray(4, 20).equals(expectedResponseAuthenticator(reply, request.subarray(4, 20), secret));
}

