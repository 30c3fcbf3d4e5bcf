import { EventEmitter } from 'node:events';

/**
 * TLS 1.2 sessions a device may resume by their session ID (RFC 5246 §7.4.1.2):
 * what wpa_supplicant and Windows offer in TLS 1.2, where they send no ticket
 * extension. Node keeps no server-side session cache of its own; a TLSSocket given a
 * `server` with 'newSession' and 'resumeSession' listeners asks it, which is what this
 * emitter is for. Bounded in number and age; one per process (a resumption that lands
 * on another RADIUS worker, or another gateway, is a full handshake). TLS 1.3 resumes
 * by tickets, which need no cache.
 *
 * The device is still checked at every resumption: the session holds its certificate,
 * which the tunnel reads again (tls-tunnel.ts peerCertificate).
 */
export class TlsSessionCache {
  /** What TLSSocket's `server` option takes. */
  readonly server = new EventEmitter();
  /** Insertion order is age order: the oldest go first. */
  private readonly sessions = new Map<string, { data: Buffer; at: number }>();

  constructor(
    private readonly o: { maxSessions: number; lifetimeMs: number; now?: () => number },
  ) {
    this.server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      this.put(id.toString('hex'), data);
      done();
    });
    this.server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, this.get(id.toString('hex')) ?? null);
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  private put(key: string, data: Buffer): void {
    const now = this.now();
    this.sessions.delete(key);
    this.sessions.set(key, { data, at: now });
    this.expire(now);
    while (this.sessions.size > this.o.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
  }

  private get(key: string): Buffer | undefined {
    this.expire(this.now());
    return this.sessions.get(key)?.data;
  }

  private expire(now: number): void {
    for (const [key, entry] of this.sessions) {
      if (now - entry.at < this.o.lifetimeMs) break;
      this.sessions.delete(key);
    }
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }
}
