import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Server } from 'node:net';

/**
 * Node's own TLS, server side, over the EAP transport instead of TCP: a TLSSocket
 * over a Duplex whose reads are what the peer sent in EAP (put back together from
 * its fragments) and whose writes are collected to go back in EAP requests. No TLS
 * is written here: OpenSSL does the handshake, the certificate checks' raw material
 * and the key export.
 *
 * OpenSSL answers a flight in the same turn as it is pushed (measured on Node 20:
 * the answer's first write arrives before push() returns). Node passes TLS's next
 * write on only once the previous one is finished, and it finishes each in a
 * setImmediate queued when the write happened: so a setImmediate queued after a write
 * runs after that write's finish, and after any write the finish let through (which
 * queues its own finish before our next check). `exchange` waits turn by turn until
 * one goes by with nothing written: one turn for most flights. Each turn waited is
 * latency on every round trip (bench:eap: 8 to 9 round trips per handshake at 32 in
 * flight), so it waits no more than that.
 */
export interface TunnelStep {
  /** The TLS bytes to send to the peer (its next flight), possibly empty. */
  readonly output: Buffer;
  /** The handshake has finished (now or before). */
  readonly secure: boolean;
  /** TLS failed (an alert, a protocol error): the conversation is over. */
  readonly error?: Error;
}

const IDLE_TURNS = 1;
/** After an input that made TLS write nothing: the turns to wait for its error (a refused flight). */
const QUIET_TURNS = 3;
/** A bound on the turns one exchange may take, in case output never stops (it does not happen; a guard). */
const MAX_TURNS = 64;

/** Where TLS 1.2 sessions are looked up by their ID (session-cache.ts); never rejects. */
export interface SessionLookup {
  find(id: Buffer): Promise<Buffer | undefined>;
}

/** A session a full TLS 1.2 handshake made, for the caller to store once the peer is accepted. */
export interface NewSession {
  readonly id: Buffer;
  readonly data: Buffer;
}

export class TlsTunnel {
  private readonly transport: Duplex;
  private readonly socket: TLSSocket;
  private written: Buffer[] = [];
  private writes = 0;
  private failure: Error | undefined;
  private finished = false;
  /** Application data the peer sent inside the tunnel (TTLS AVPs, PEAP's inner EAP). */
  private readonly received: Buffer[] = [];
  /** The store lookup of a session ID the peer offered, while it is under way: TLS waits for it. */
  private lookup: Promise<void> | undefined;
  private made: NewSession | undefined;

  constructor(context: SecureContext, options: { requestCert: boolean; sessions?: SessionLookup }) {
    this.transport = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, done) => {
        this.written.push(chunk);
        this.writes++;
        done();
      },
      final: (done) => done(),
    });
    this.socket = new TLSSocket(this.transport, {
      isServer: true,
      secureContext: context,
      requestCert: options.requestCert,
      // The certificate is checked by the caller (device-certificate.ts), which can say why it is refused.
      rejectUnauthorized: false,
      // TLS 1.2 resumption by session ID: Node asks this "server" for the sessions (below).
      ...(options.sessions ? { server: this.sessionEvents(options.sessions) as unknown as Server } : {}),
    });
    this.socket.on('secure', () => {
      this.finished = true;
    });
    this.socket.on('error', (err: Error) => {
      this.failure ??= err;
    });
    this.socket.on('data', (data: Buffer) => this.received.push(data));
  }

  /** Gives TLS what the peer sent and waits for its answer. */
  async exchange(input: Buffer): Promise<TunnelStep> {
    if (input.length > 0) this.transport.push(input);
    await this.settle(IDLE_TURNS);
    // A ClientHello with a session ID: TLS goes on once the store has answered.
    while (this.lookup) {
      await this.lookup;
      await this.settle(IDLE_TURNS);
    }
    // Nothing written and no error yet: a refused flight's error is emitted a turn or two
    // later (the socket is destroyed first). Wait for it rather than answer with nothing.
    if (this.written.length === 0 && !this.failure && !this.finished) await this.settle(QUIET_TURNS);
    return this.step();
  }

  /** Writes application data into the tunnel (TLS 1.3's success indication, TTLS answers) and collects the records. */
  async send(data: Buffer): Promise<TunnelStep> {
    this.socket.write(data);
    await this.settle(IDLE_TURNS);
    return this.step();
  }

  /** Application data the peer sent since the last call. */
  takeReceived(): Buffer[] {
    return this.received.splice(0);
  }

  get secure(): boolean {
    return this.finished;
  }

  /** "TLSv1.2" or "TLSv1.3" once negotiated. */
  get protocol(): string | undefined {
    return this.socket.getProtocol() ?? undefined;
  }

  /** The session a full TLS 1.2 handshake made (absent when resumed, in TLS 1.3, or without a store). */
  get newSession(): NewSession | undefined {
    return this.made;
  }

  get resumed(): boolean {
    return this.socket.isSessionReused();
  }

  /**
   * The peer's certificate as it sent it (DER), also on a resumed session (OpenSSL keeps it
   * in the session), without the certificates it sent after it. Read from the session's
   * encoding (getSession: i2d_SSL_SESSION, which copies the certificate's DER as OpenSSL
   * kept it): getPeerCertificate first converts the certificate's key to describe it
   * (evp_pkey_get_legacy), 42-55 µs on a new connection against 17-21 µs (Node 20, OpenSSL
   * 3.0, a P-256 device key); getPeerX509Certificate also copies the next certificate
   * (X509_dup, which decodes its key again: 0.14 ms for an RSA-3072 CA). When the session
   * does not read as expected, getPeerCertificate answers.
   */
  peerCertificateBytes(): Buffer | undefined {
    const session = this.socket.getSession();
    const fromSession = session && peerOfSession(session);
    if (fromSession !== undefined) return fromSession ?? undefined;
    const raw = this.socket.getPeerCertificate(false)?.raw;
    return raw && raw.length > 0 ? raw : undefined;
  }

  /** RFC 5705 / RFC 8446 §7.5 exporter. */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    // @types/node wants a context; Node takes none, which RFC 5705 distinguishes from an empty one.
    return context ? this.socket.exportKeyingMaterial(length, label, context) : (this.socket.exportKeyingMaterial as (length: number, label: string) => Buffer).call(this.socket, length, label);
  }

  destroy(): void {
    this.socket.destroy();
    this.transport.destroy();
  }

  /**
   * What TLSSocket's `server` option takes for sessions by ID: Node emits 'resumeSession'
   * for a ClientHello with a session ID and no ticket, and holds the handshake until it
   * is answered; 'newSession' after a full handshake, holding 'secure' until done() (so
   * done() at once: the session is stored later, only if the peer is accepted).
   */
  private sessionEvents(sessions: SessionLookup): EventEmitter {
    const events = new EventEmitter();
    events.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      this.made = { id, data };
      done();
    });
    events.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      this.lookup = sessions.find(id).then((data) => {
        this.lookup = undefined;
        // A tunnel destroyed meanwhile (the conversation abandoned) takes no session.
        if (!this.socket.destroyed) done(null, data ?? null);
      });
    });
    return events;
  }

  private step(): TunnelStep {
    const output = this.written.length === 1 ? this.written[0]! : Buffer.concat(this.written);
    this.written = [];
    return { output, secure: this.finished, ...(this.failure ? { error: this.failure } : {}) };
  }

  private async settle(idleTurns: number): Promise<void> {
    let idle = 0;
    let seen = this.writes;
    for (let turn = 0; idle < idleTurns && turn < MAX_TURNS; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.writes === seen) idle++;
      else {
        idle = 0;
        seen = this.writes;
      }
    }
  }
}

/**
 * The peer's certificate in an encoded SSL_SESSION (OpenSSL's ssl/ssl_asn1.c: a SEQUENCE whose
 * members before it are INTEGERs, OCTET STRINGs and [0]..[2], then `peer [3] EXPLICIT
 * Certificate OPTIONAL`): its DER, null when the session holds none (the peer sent none),
 * undefined when the encoding is not read as expected. Nothing is decoded but the tags and
 * lengths on the way.
 */
export function peerOfSession(session: Buffer): Buffer | null | undefined {
  const outer = readTlv(session, 0);
  if (!outer || outer.tag !== 0x30 || outer.end !== session.length) return undefined;
  for (let at = outer.start; at < outer.end; ) {
    const member = readTlv(session, at);
    if (!member || member.end > outer.end) return undefined;
    // [3] constructed: the certificate, itself one whole SEQUENCE.
    if (member.tag === 0xa3) {
      const certificate = readTlv(session, member.start);
      if (!certificate || certificate.tag !== 0x30 || certificate.end !== member.end) return undefined;
      return session.subarray(member.start, member.end);
    }
    // Past [3] (0xa4 and up: session ID context, verify result, …) the certificate is absent.
    if (member.tag > 0xa3 && member.tag <= 0xbf) return null;
    at = member.end;
  }
  return null;
}

/** One DER element at `at` with a one-octet tag: its tag, where its content starts and where it ends; undefined past the buffer or in an unusual form. */
function readTlv(buf: Buffer, at: number): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > buf.length) return undefined;
  const tag = buf[at]!;
  // A tag number of 31 or more takes more octets: not one SSL_SESSION uses.
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = buf[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3 || start + octets > buf.length) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buf[start + i]!;
    start += octets;
  }
  const end = start + length;
  return end <= buf.length ? { tag, start, end } : undefined;
}
