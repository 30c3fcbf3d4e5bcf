import { constants as cryptoConstants, randomBytes, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { Duplex } from 'node:stream';
import { checkServerIdentity, connect, createSecureContext, type PeerCertificate, type SecureContext, type SecureVersion, type TLSSocket } from 'node:tls';
import { accessRequest, checkAnswer, Code, decryptMppeKey, type Answer, type NasFields } from './eap-radius.js';

/**
 * An EAP-TLS peer for benchmarks: it plays both the device (the TLS client, Node's own,
 * over the EAP-TLS transport of RFC 5216) and the access point (RADIUS over UDP to the
 * server, RFC 3579), for many conversations at once in one process. eapol_test runs one
 * handshake per process; a rate comparison needs a client that is not the bottleneck.
 *
 * Every answer is checked (Response Authenticator, Message-Authenticator), and at the
 * end of each conversation the MS-MPPE keys of the Access-Accept are decrypted and
 * compared with the MSK this side derives from the TLS exporter: a server that gets the
 * keys wrong fails, as a real access point would fail its 4-way handshake.
 *
 * TLS 1.2 resumes as wpa_supplicant does: the client offers no session ticket extension
 * (SSL_OP_NO_TICKET), so the server gives a session ID and the device resumes by it, against
 * every target alike (FreeRADIUS issues no TLS 1.2 tickets anyway). A ticket would hold the
 * device's certificate and make the resuming ClientHello longer than one fragment. TLS 1.3
 * resumes by ticket, the only way it has.
 */

export interface EapTlsPeerOptions {
  host: string;
  port: number;
  secret: string;
  /** The name the server's certificate must carry (checked as a TLS client checks a host name). */
  serverName: string;
  /** The CA the server's certificate must chain to, and nothing else (PEM). */
  ca: string | Buffer;
  /** The device's certificate and key (PEM). */
  cert: string | Buffer;
  key: string | Buffer;
  /** TLS version offered, exactly (both ends of the range). */
  tlsVersion: '1.2' | '1.3';
  /** Largest TLS payload this side puts in one EAP-TLS response (default 1,000). */
  fragmentSize?: number;
  /** Access points (UDP sockets, one source port each) the conversations are spread over (default 8). */
  accessPoints?: number;
  /** Framed-MTU sent to the server (default 1,400). */
  framedMtu?: number;
  /** Wait this long for an answer before sending the request again (default 2,000 ms). */
  retransmitMs?: number;
  /** Send a request at most this many times more (default 3). */
  retries?: number;
  /** A conversation that takes longer fails (default 20,000 ms). */
  conversationTimeoutMs?: number;
}

/** How one conversation ended. */
export interface HandshakeResult {
  ok: boolean;
  /** Why it failed (undefined when ok). */
  failure?: string;
  /** The MS-MPPE keys did not match the MSK derived here (a failure too). */
  keyMismatch: boolean;
  /** The TLS session was resumed (an abbreviated handshake). */
  resumed: boolean;
  /** The TLS version negotiated ('TLSv1.2', 'TLSv1.3'). */
  protocol: string | null;
  /** From the first Access-Request to the checked Access-Accept. */
  ms: number;
  /** RADIUS exchanges in the conversation. */
  roundTrips: number;
  retransmissions: number;
  /** The TLS session to resume with next time (from the 'session' event), if one came. */
  session?: Buffer;
}

/** Counts the peer keeps over all its conversations. */
export interface PeerStats {
  /** Answers that failed their checks and were dropped (RFC 2865 §3: silently discarded); the conversation then times out. */
  discarded: Record<string, number>;
  retransmissions: number;
}

const EAP = { Request: 1, Response: 2, Success: 3, Failure: 4 } as const;
const EAP_TYPE = { Identity: 1, Nak: 3, Tls: 13 } as const;
/** RFC 5216 §3.1 flags. */
const FLAG = { Length: 0x80, More: 0x40, Start: 0x20 } as const;
/** RFC 9190 §2.3: the Type-Code is the exporter context. */
const TLS13_CONTEXT = Buffer.from([EAP_TYPE.Tls]);
/** Bounds on one conversation, whatever the server does. */
const MAX_ROUND_TRIPS = 64;
const MAX_TLS_MESSAGE = 64 * 1024;

/** What the TLS client writes, kept until the conversation sends it; what the server sent, handed to the TLS client. */
class EapTlsStream extends Duplex {
  private pending: Buffer[] = [];
  /** Counts writes, so that the conversation can tell when the TLS client has stopped writing. */
  writes = 0;

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.pending.push(chunk);
    this.writes++;
    done();
  }

  /** Everything the TLS client wrote since the last call. */
  takeWritten(): Buffer {
    const out = Buffer.concat(this.pending);
    this.pending = [];
    return out;
  }
}

interface Outstanding {
  bytes: Buffer;
  authenticator: Buffer;
  sentAt: number;
  tries: number;
  timer: NodeJS.Timeout;
  resolve: (exchanged: { answer: Answer; authenticator: Buffer }) => void;
  reject: (error: Error) => void;
}

/** One UDP socket: one access point, as the server sees it (its own source port). */
interface NasSocket {
  socket: Socket;
  outstanding: Map<number, Outstanding>;
  nextId: number;
}

/** RADIUS over UDP for many conversations: identifiers, retransmission, and the checks of every answer. */
class RadiusTransport {
  private readonly sockets = new Map<number, Promise<NasSocket>>();
  readonly stats: PeerStats = { discarded: {}, retransmissions: 0 };
  private closed = false;

  constructor(private readonly o: Required<Pick<EapTlsPeerOptions, 'host' | 'port' | 'secret' | 'retransmitMs' | 'retries'>>) {}

  /**
   * Sends the request `build` makes for the identifier it is given, from access point
   * `nas` (every request of a conversation comes from the same one, as from a real NAS:
   * a server with several processes may route by source port), until a checked answer
   * comes or the retries run out.
   */
  async exchange(
    nas: number,
    build: (identifier: number) => { bytes: Buffer; authenticator: Buffer },
    onRetransmit: () => void,
  ): Promise<{ answer: Answer; authenticator: Buffer }> {
    const slot = await this.socket(nas);
    if (slot.outstanding.size >= 256) throw new Error('no free RADIUS identifier on this socket');
    // Identifiers go round all 256, so a late answer to an old request rarely meets a new one.
    let id = slot.nextId;
    while (slot.outstanding.has(id)) id = (id + 1) & 0xff;
    slot.nextId = (id + 1) & 0xff;
    const { bytes, authenticator } = build(id);
    return new Promise((resolve, reject) => {
      const entry: Outstanding = { bytes, authenticator, sentAt: performance.now(), tries: 0, timer: undefined as unknown as NodeJS.Timeout, resolve, reject };
      const fire = () => {
        if (entry.tries > this.o.retries) {
          slot.outstanding.delete(id);
          reject(new Error(`no answer after ${entry.tries} sends`));
          return;
        }
        if (entry.tries > 0) {
          this.stats.retransmissions++;
          onRetransmit();
        }
        entry.tries++;
        // RFC 5080 §2.2.1: a retransmission is the same packet, identifier and authenticator included.
        slot.socket.send(bytes, this.o.port, this.o.host);
        entry.timer = setTimeout(fire, this.o.retransmitMs);
      };
      slot.outstanding.set(id, entry);
      fire();
    });
  }

  private socket(nas: number): Promise<NasSocket> {
    if (this.closed) return Promise.reject(new Error('peer closed'));
    let slot = this.sockets.get(nas);
    if (!slot) {
      slot = new Promise<NasSocket>((resolve, reject) => {
        const socket = createSocket('udp4');
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          const s: NasSocket = { socket, outstanding: new Map(), nextId: randomBytes(1)[0]! };
          socket.on('message', (message) => this.receive(s.outstanding, message));
          resolve(s);
        });
      });
      this.sockets.set(nas, slot);
    }
    return slot;
  }

  private receive(outstanding: Map<number, Outstanding>, message: Buffer): void {
    if (message.length < 20) return this.discard('shorter than a header');
    const entry = outstanding.get(message[1]!);
    if (!entry) return this.discard('no request with its identifier (a late duplicate)');
    const answer = checkAnswer(message, entry.authenticator, this.o.secret);
    if (typeof answer === 'string') return this.discard(answer);
    clearTimeout(entry.timer);
    outstanding.delete(message[1]!);
    entry.resolve({ answer, authenticator: entry.authenticator });
  }

  private discard(why: string): void {
    this.stats.discarded[why] = (this.stats.discarded[why] ?? 0) + 1;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.sockets.values()) {
      const { socket, outstanding } = await pending;
      for (const entry of outstanding.values()) {
        clearTimeout(entry.timer);
        entry.reject(new Error('peer closed'));
      }
      outstanding.clear();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    this.sockets.clear();
  }
}

class ConversationFailed extends Error {}

/** One EAP-TLS conversation, from EAP-Response/Identity to Access-Accept (RFC 3748, 5216, 9190). */
class Conversation {
  private state: Buffer | undefined;
  private tls: TLSSocket | undefined;
  private readonly stream = new EapTlsStream();
  private tlsError: Error | undefined;
  private session: Buffer | undefined;
  /** RFC 9190 §2.5: the one octet 0x00 the server sends as application data once the TLS 1.3 handshake is done. */
  private successIndication = false;
  private handshakeDone = false;
  private inbound: Buffer[] = [];
  private inboundLength = 0;
  private expectedLength: number | undefined;
  /** What is left to send of a TLS message split into fragments (RFC 5216 §3.1). */
  private outbound: Buffer | undefined;
  private outboundTotal = 0;
  private roundTrips = 0;
  private retransmissions = 0;
  private readonly nas: NasFields;
  private lastAuthenticator: Buffer = Buffer.alloc(16);
  /** Set when the conversation timed out: an answer still on its way must not start another exchange. */
  private abandoned = false;

  constructor(
    private readonly transport: RadiusTransport,
    private readonly o: Required<EapTlsPeerOptions>,
    private readonly secureContext: SecureContext,
    private readonly resumeWith: Buffer | undefined,
    private readonly nasIndex: number,
    identity: string,
    mac: string,
  ) {
    this.nas = { userName: identity, callingStationId: mac, nasIdentifier: 'enrollgate-bench', framedMtu: o.framedMtu };
  }

  async run(): Promise<HandshakeResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.abandoned = true;
        reject(new ConversationFailed('conversation timed out'));
      }, this.o.conversationTimeoutMs);
    });
    const result = (fields: Partial<HandshakeResult>): HandshakeResult => ({
      ok: false,
      keyMismatch: false,
      resumed: this.tls?.isSessionReused() ?? false,
      protocol: this.tls?.getProtocol() ?? null,
      ms: performance.now() - started,
      roundTrips: this.roundTrips,
      retransmissions: this.retransmissions,
      ...(this.session ? { session: this.session } : {}),
      ...fields,
    });
    try {
      const mismatch = await Promise.race([this.converse(), deadline]);
      return result(mismatch ? { failure: mismatch, keyMismatch: true } : { ok: true });
    } catch (error) {
      return result({ failure: error instanceof Error ? error.message : String(error) });
    } finally {
      clearTimeout(timer);
      this.tls?.destroy();
      this.stream.destroy();
    }
  }

  /** Runs the conversation; returns undefined when the keys matched, or how they did not. */
  private async converse(): Promise<string | undefined> {
    // The access point asked with EAP-Request/Identity; the device's answer starts the RADIUS side.
    let eapId = randomBytes(1)[0]!;
    let answer = await this.send(eapPacket(EAP.Response, eapId, EAP_TYPE.Identity, Buffer.from(this.nas.userName)));
    for (;;) {
      if (answer.code === Code.AccessAccept) return this.finish(answer);
      if (answer.code === Code.AccessReject) {
        throw new ConversationFailed(`Access-Reject${this.tlsError ? ` (TLS: ${this.tlsError.message})` : ''}${answer.eap[0] === EAP.Failure ? ' with EAP-Failure' : ''}`);
      }
      if (answer.code !== Code.AccessChallenge) throw new ConversationFailed(`unexpected RADIUS code ${answer.code}`);
      const eap = parseEap(answer.eap);
      if (eap.code !== EAP.Request) throw new ConversationFailed(`Access-Challenge carrying EAP code ${eap.code}`);
      eapId = eap.identifier;
      this.state = answer.state;
      if (eap.type === EAP_TYPE.Identity) {
        answer = await this.send(eapPacket(EAP.Response, eapId, EAP_TYPE.Identity, Buffer.from(this.nas.userName)));
      } else if (eap.type !== EAP_TYPE.Tls) {
        // RFC 3748 §5.3.1: a legacy Nak naming the method this device wants.
        answer = await this.send(eapPacket(EAP.Response, eapId, EAP_TYPE.Nak, Buffer.from([EAP_TYPE.Tls])));
      } else {
        answer = await this.send(eapPacket(EAP.Response, eapId, EAP_TYPE.Tls, await this.onTlsRequest(eap.data)));
      }
    }
  }

  /** The EAP-TLS data (flags first) of the response to one EAP-TLS request. */
  private async onTlsRequest(data: Buffer): Promise<Buffer> {
    if (data.length < 1) throw new ConversationFailed('EAP-TLS request without flags');
    const flags = data[0]!;
    let payload = data.subarray(1);
    if (flags & FLAG.Length) {
      if (payload.length < 4) throw new ConversationFailed('EAP-TLS L flag without a length');
      const total = payload.readUInt32BE(0);
      if (total > MAX_TLS_MESSAGE) throw new ConversationFailed(`EAP-TLS message of ${total} octets announced`);
      if (this.expectedLength === undefined) this.expectedLength = total;
      payload = payload.subarray(4);
    }
    if (flags & FLAG.Start) {
      if (this.tls) throw new ConversationFailed('EAP-TLS Start in the middle of a handshake');
      this.startTls();
      await this.settle();
      return this.nextFragment(this.takeTlsOutput());
    }
    if (!this.tls) throw new ConversationFailed('EAP-TLS data before Start');
    if (this.outbound) {
      // The server's acknowledgement of our previous fragment: an empty request.
      if (payload.length > 0 || flags & FLAG.More) throw new ConversationFailed('data instead of a fragment acknowledgement');
      return this.nextFragment(this.outbound);
    }
    this.inbound.push(payload);
    this.inboundLength += payload.length;
    if (this.inboundLength > MAX_TLS_MESSAGE) throw new ConversationFailed('EAP-TLS message too long');
    // More fragments to come: acknowledge this one with an empty response (RFC 5216 §2.1.5).
    if (flags & FLAG.More) return Buffer.from([0]);
    const message = Buffer.concat(this.inbound);
    if (this.expectedLength !== undefined && this.expectedLength !== message.length) {
      throw new ConversationFailed(`EAP-TLS message of ${message.length} octets, ${this.expectedLength} announced`);
    }
    this.inbound = [];
    this.inboundLength = 0;
    this.expectedLength = undefined;
    if (message.length > 0) this.stream.push(message);
    await this.settle();
    // Nothing to say (the server's last flight): an empty response acknowledges it.
    return this.nextFragment(this.takeTlsOutput());
  }

  private startTls(): void {
    const serverName = this.o.serverName;
    this.tls = connect({
      socket: this.stream,
      secureContext: this.secureContext,
      servername: serverName,
      rejectUnauthorized: true,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert),
      ...(this.resumeWith ? { session: this.resumeWith } : {}),
    });
    this.tls.on('error', (error: Error) => (this.tlsError ??= error));
    this.tls.on('secureConnect', () => (this.handshakeDone = true));
    this.tls.on('session', (session: Buffer) => (this.session = session));
    this.tls.on('data', (data: Buffer) => {
      if (data.length === 1 && data[0] === 0) this.successIndication = true;
      else this.tlsError ??= new Error(`unexpected application data (${data.length} octets)`);
    });
  }

  /**
   * Waits until the TLS client has written everything it will write for what it was
   * given: Node's TLS runs over the stream in a few turns of the event loop, so this
   * waits for three turns in a row without a write.
   */
  private settle(): Promise<void> {
    return new Promise((resolve) => {
      let seen = this.stream.writes;
      let quiet = 0;
      const tick = () => {
        if (this.stream.writes !== seen) {
          seen = this.stream.writes;
          quiet = 0;
        } else if (++quiet >= 3) return resolve();
        setImmediate(tick);
      };
      setImmediate(tick);
    });
  }

  private takeTlsOutput(): Buffer {
    if (this.tlsError) throw new ConversationFailed(`TLS: ${this.tlsError.message}`);
    const out = this.stream.takeWritten();
    if (out.length > 0) this.outboundTotal = out.length;
    return out;
  }

  /** The EAP-TLS data of the next response: `message` whole, or its next fragment (L on the first, M on all but the last). */
  private nextFragment(message: Buffer): Buffer {
    if (message.length === 0) return Buffer.from([0]);
    const first = this.outbound === undefined;
    const size = this.o.fragmentSize;
    const more = message.length > size;
    this.outbound = more ? message.subarray(size) : undefined;
    const chunk = message.subarray(0, size);
    if (first && more) {
      const header = Buffer.alloc(5);
      header[0] = FLAG.Length | FLAG.More;
      header.writeUInt32BE(this.outboundTotal, 1);
      return Buffer.concat([header, chunk]);
    }
    return Buffer.concat([Buffer.from([more ? FLAG.More : 0]), chunk]);
  }

  private async send(eap: Buffer): Promise<Answer> {
    if (this.abandoned) throw new ConversationFailed('conversation timed out');
    if (++this.roundTrips > MAX_ROUND_TRIPS) throw new ConversationFailed(`more than ${MAX_ROUND_TRIPS} round trips`);
    const state = this.state;
    const { answer, authenticator } = await this.transport.exchange(
      this.nasIndex,
      (identifier) => accessRequest(identifier, this.o.secret, this.nas, eap, state),
      () => this.retransmissions++,
    );
    // RFC 2548 §2.4.2: the MPPE keys are encrypted with the authenticator of the request they answer.
    this.lastAuthenticator = authenticator;
    return answer;
  }

  /** Checks the Access-Accept: EAP-Success, a finished handshake, and MS-MPPE keys equal to the MSK derived here. */
  private finish(answer: Answer): string | undefined {
    if (answer.eap.length < 4 || answer.eap[0] !== EAP.Success) throw new ConversationFailed('Access-Accept without EAP-Success');
    if (this.tlsError) throw new ConversationFailed(`Access-Accept, but TLS: ${this.tlsError.message}`);
    const tls = this.tls;
    if (!tls || !this.handshakeDone) throw new ConversationFailed('Access-Accept before the TLS handshake finished');
    const protocol = tls.getProtocol();
    if (protocol === 'TLSv1.3' && !this.successIndication) throw new ConversationFailed('EAP-Success without the TLS 1.3 protected success indication');
    // RFC 5216 §2.3 (TLS 1.2): the exporter with no context; RFC 9190 §2.3 (TLS 1.3): context = Type-Code.
    const keyMaterial =
      protocol === 'TLSv1.3'
        ? tls.exportKeyingMaterial(128, 'EXPORTER_EAP_TLS_Key_Material', TLS13_CONTEXT)
        : // No context at all, which is not the same as an empty one (RFC 5705 §4); Node's types want a Buffer.
          tls.exportKeyingMaterial(128, 'client EAP encryption', undefined as unknown as Buffer);
    const msk = keyMaterial.subarray(0, 64);
    if (!answer.mppeRecv || !answer.mppeSend) return 'no MS-MPPE keys in the Access-Accept';
    const recv = decryptMppeKey(answer.mppeRecv, this.o.secret, this.lastAuthenticator);
    const send = decryptMppeKey(answer.mppeSend, this.o.secret, this.lastAuthenticator);
    if (typeof recv === 'string') return recv;
    if (typeof send === 'string') return send;
    const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
    if (!same(recv, msk.subarray(0, 32))) return 'MS-MPPE-Recv-Key is not MSK[0..32]';
    if (!same(send, msk.subarray(32, 64))) return 'MS-MPPE-Send-Key is not MSK[32..64]';
    return undefined;
  }
}

function eapPacket(code: number, identifier: number, type: number, data: Buffer): Buffer {
  const packet = Buffer.alloc(5 + data.length);
  packet[0] = code;
  packet[1] = identifier;
  packet.writeUInt16BE(packet.length, 2);
  packet[4] = type;
  data.copy(packet, 5);
  return packet;
}

function parseEap(bytes: Buffer): { code: number; identifier: number; type: number; data: Buffer } {
  if (bytes.length < 4) throw new ConversationFailed('Access-Challenge without an EAP packet');
  const length = bytes.readUInt16BE(2);
  if (length !== bytes.length || length < 5) throw new ConversationFailed(`EAP length ${length} in ${bytes.length} octets`);
  return { code: bytes[0]!, identifier: bytes[1]!, type: bytes[4]!, data: bytes.subarray(5) };
}

/** Runs EAP-TLS conversations against one RADIUS server, as many at once as the caller starts. */
export class EapTlsPeer {
  private readonly o: Required<EapTlsPeerOptions>;
  private readonly transport: RadiusTransport;
  /** The CA, certificate and key parsed once: a context per connection took 40 % of the client's CPU per handshake (4.2 → 2.4 ms). */
  private readonly secureContext: SecureContext;
  private count = 0;

  constructor(options: EapTlsPeerOptions) {
    this.o = { fragmentSize: 1000, accessPoints: 8, framedMtu: 1400, retransmitMs: 2000, retries: 3, conversationTimeoutMs: 20_000, ...options };
    this.transport = new RadiusTransport(this.o);
    const version: SecureVersion = this.o.tlsVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2';
    this.secureContext = createSecureContext({
      ca: this.o.ca,
      cert: this.o.cert,
      key: this.o.key,
      minVersion: version,
      maxVersion: version,
      // TLS 1.2: no ticket extension in the ClientHello, so resumption is by session ID (the header says why).
      ...(version === 'TLSv1.2' ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
    });
  }

  get stats(): PeerStats {
    return this.transport.stats;
  }

  /** One whole conversation: a full handshake, or a resumption when `session` (from an earlier result) is given. */
  handshake(session?: Buffer): Promise<HandshakeResult> {
    const n = this.count++;
    // A locally administered MAC per conversation, as a device with a private address shows.
    const mac = ['02', ...randomBytes(5).toString('hex').match(/../g)!].join('-');
    return new Conversation(this.transport, this.o, this.secureContext, session, n % this.o.accessPoints, `bench-${n}@enrollgate.test`, mac).run();
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
