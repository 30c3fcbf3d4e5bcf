import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { EapType } from '../../../../src/radius/eap/eap-packet.js';
import { Flag, flagsOnly, parseTlsData } from '../../../../src/radius/eap/tls-fragments.js';
import { TlsMethod, type InnerStep, type MethodStep, type TlsMethodOptions, type Verdict } from '../../../../src/radius/eap/tls-method.js';
import { peerOfSession } from '../../../../src/radius/eap/tls-tunnel.js';

/**
 * TlsMethod against Node's own TLS client in the same process: the peer's flights go
 * to the method as EAP type-data and the method's fragments back, with no RADIUS and
 * no network. The keys are checked against what the peer exports with the labels of
 * RFC 5216 §2.3, RFC 5281 §8 and RFC 9190 §2.3, computed on the peer's side.
 */
let context: SecureContext;
/** The same key and self-signed certificate, for a peer that presents a certificate of its own. */
let identity: { key: Buffer; cert: Buffer };
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'enrollgate-tls-method-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=eap.example.test', '-days', '2', '-keyout', key, '-out', cert], {
      stdio: 'ignore',
    });
    identity = { key: readFileSync(key), cert: readFileSync(cert) };
    context = createSecureContext(identity);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The encoded session of a method's tunnel (private there: the tests read it to see where the certificate came from). */
const sessionOf = (m: TlsMethod): Buffer => (m.tls as unknown as { socket: TLSSocket }).socket.getSession()!;

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** The peer: a TLS client whose transport is our hands. */
class Peer {
  readonly socket: TLSSocket;
  private readonly transport: Duplex;
  private written: Buffer[] = [];
  readonly received: Buffer[] = [];

  constructor(maxVersion: 'TLSv1.2' | 'TLSv1.3', onSecure?: (socket: TLSSocket) => void, certificate?: { key: Buffer; cert: Buffer }) {
    this.transport = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, done) => {
        this.written.push(chunk);
        done();
      },
    });
    this.socket = connect({ socket: this.transport, rejectUnauthorized: false, maxVersion, servername: 'eap.example.test', ...certificate });
    this.socket.on('error', () => {});
    this.socket.on('data', (d: Buffer) => this.received.push(d));
    if (onSecure) this.socket.once('secureConnect', () => onSecure(this.socket));
  }

  /** What the peer wrote since the last call. */
  async take(): Promise<Buffer> {
    await turns(8);
    const out = Buffer.concat(this.written);
    this.written = [];
    return out;
  }

  give(bytes: Buffer): void {
    this.transport.push(bytes);
  }
}

/** A peer's whole message as one fragment with L (RFC 5216 §3.1), or a bare acknowledgement. */
function typeData(message: Buffer, version = 0): Buffer {
  if (message.length === 0) return flagsOnly(0, version);
  const header = Buffer.alloc(5);
  header[0] = Flag.Length | version;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Runs a conversation to its end; `fragments` counts the method's requests that carried M. */
async function converse(method: TlsMethod, peer: Peer, version = 0): Promise<{ step: MethodStep; fragments: number; rounds: number }> {
  let fragments = 0;
  let out = await peer.take();
  for (let rounds = 1; rounds < 40; rounds++) {
    let step = await method.respond(typeData(out, version));
    const parts: Buffer[] = [];
    while (step.kind === 'request') {
      const parsed = parseTlsData(step.data);
      if (!parsed.ok) throw new Error(parsed.problem);
      parts.push(parsed.value.payload);
      if (!(parsed.value.flags & Flag.More)) break;
      fragments++;
      step = await method.respond(flagsOnly(0, version));
    }
    if (step.kind !== 'request') return { step, fragments, rounds };
    const message = Buffer.concat(parts);
    if (message.length > 0) peer.give(message);
    out = await peer.take();
  }
  throw new Error('the conversation did not end');
}

/** The TLS bytes of a request that fits one fragment (L set, no M). */
function payloadOf(step: MethodStep): Buffer {
  if (step.kind !== 'request') throw new Error(`a ${step.kind}, not a request`);
  expect(step.data[0]! & Flag.More).toBe(0);
  const parsed = parseTlsData(step.data);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value.payload;
}

const tls = (authorize: (m: TlsMethod) => Promise<Verdict>, fragmentSize = 1000): TlsMethod => {
  const method: TlsMethod = new TlsMethod({ type: EapType.Tls, context, fragmentSize, authorize: () => authorize(method) });
  return method;
};

function tunnelled(type: typeof EapType.Ttls | typeof EapType.Peap, inner: (data: Buffer) => Promise<InnerStep>, begin?: () => Buffer): TlsMethod {
  const options: TlsMethodOptions = { type, context, fragmentSize: 1000, inner, ...(begin ? { begin } : {}) };
  return new TlsMethod(options);
}

describe('TlsMethod: EAP-TLS (RFC 5216, RFC 9190)', () => {
  it('starts with the S flag alone', () => {
    const method = tls(async () => ({ ok: true }));
    expect(method.start()).toEqual(Buffer.from([0x20]));
    expect(method.type).toBe(EapType.Tls);
    method.destroy();
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: succeeds once authorize says yes, with the MSK the peer exports', async (version) => {
    const peer = new Peer(version);
    let seenProtocol: string | undefined;
    const method = tls(async (m) => {
      seenProtocol = m.tls.protocol;
      return { ok: true };
    });
    const { step, rounds } = await converse(method, peer);
    expect(step.kind).toBe('success');
    // Hello; the peer's Finished (answered with ours, or the 1.3 success indication); its acknowledgement.
    expect(rounds).toBe(3);
    expect(seenProtocol).toBe(version);
    expect(method.negotiated).toEqual({ protocol: version, resumed: false });
    const expected =
      version === 'TLSv1.3'
        ? peer.socket.exportKeyingMaterial(128, 'EXPORTER_EAP_TLS_Key_Material', Buffer.from([EapType.Tls]))
        : (peer.socket.exportKeyingMaterial as (length: number, label: string) => Buffer).call(peer.socket, 128, 'client EAP encryption');
    expect(step.kind === 'success' && step.msk).toEqual(expected.subarray(0, 64));
    expect(method.msk()).toEqual(expected.subarray(0, 64));
    // TLS 1.3: the protected success indication, one octet 0x00 of application data (RFC 9190 §2.5).
    if (version === 'TLSv1.3') expect(Buffer.concat(peer.received)).toEqual(Buffer.from([0]));
    else expect(peer.received).toEqual([]);
    expect(await method.respond(flagsOnly(0))).toEqual({ kind: 'failure', reason: 'a response after the conversation ended' });
  });

  it('fails with the reason authorize gives, and answers nothing after that', async () => {
    const method = tls(async () => ({ ok: false, reason: 'no certificate of ours' }));
    const { step } = await converse(method, new Peer('TLSv1.3'));
    expect(step).toEqual({ kind: 'failure', reason: 'no certificate of ours' });
    expect(await method.respond(flagsOnly(0))).toEqual({ kind: 'failure', reason: 'a response after the conversation ended' });
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: asks the peer for its certificate, which authorize then sees', async (version) => {
    let subject: string | undefined;
    let bytes: Buffer | undefined;
    let inSession: Buffer | null | undefined;
    const method = tls(async (m) => {
      bytes = m.tls.peerCertificateBytes();
      subject = bytes && new X509Certificate(bytes).subject;
      inSession = peerOfSession(sessionOf(m));
      return { ok: true };
    });
    const { step } = await converse(method, new Peer(version, undefined, identity));
    expect(step.kind).toBe('success');
    expect(subject).toBe('CN=eap.example.test');
    // The certificate as the peer sent it, byte for byte (what device-certificate.ts checks), read from the session.
    expect(bytes).toEqual(new X509Certificate(identity.cert).raw);
    expect(inSession).toEqual(bytes);
  });

  it('sends a long flight in fragments of fragmentSize, L and M on the first, M on all but the last', async () => {
    const method = tls(async () => ({ ok: true }), 100);
    const peer = new Peer('TLSv1.2');
    const hello = await peer.take();
    const first = await method.respond(typeData(hello));
    expect(first.kind).toBe('request');
    const data = first.kind === 'request' ? first.data : Buffer.alloc(0);
    expect(data[0]).toBe(Flag.Length | Flag.More);
    expect(data.length).toBe(105);
    const total = data.readUInt32BE(1);
    const parts = [data.subarray(5)];
    for (;;) {
      const next = await method.respond(flagsOnly(0));
      if (next.kind !== 'request') throw new Error(next.kind);
      parts.push(next.data.subarray(1));
      const last = !(next.data[0]! & Flag.More);
      expect(next.data[0]).toBe(last ? 0 : Flag.More);
      if (last) break;
      expect(next.data.length).toBe(101);
    }
    expect(Buffer.concat(parts).length).toBe(total);
    method.destroy();
  });

  it('refuses data from the peer while it should acknowledge a fragment', async () => {
    const method = tls(async () => ({ ok: true }), 100);
    const peer = new Peer('TLSv1.2');
    await method.respond(typeData(await peer.take()));
    expect(await method.respond(typeData(Buffer.from('unasked')))).toEqual({ kind: 'failure', reason: 'the peer sent data while it should acknowledge a fragment' });
  });

  it('refuses an acknowledgement with M set while it sends fragments', async () => {
    const method = tls(async () => ({ ok: true }), 100);
    await method.respond(typeData(await new Peer('TLSv1.2').take()));
    expect(await method.respond(flagsOnly(Flag.More))).toEqual({ kind: 'failure', reason: 'the peer sent data while it should acknowledge a fragment' });
  });

  it('asks for the next fragment of a message the peer sends in pieces', async () => {
    const method = tls(async () => ({ ok: true }));
    const hello = await new Peer('TLSv1.2').take();
    const head = Buffer.alloc(5);
    head[0] = Flag.Length | Flag.More;
    head.writeUInt32BE(hello.length, 1);
    expect(await method.respond(Buffer.concat([head, hello.subarray(0, 10)]))).toEqual({ kind: 'request', data: Buffer.from([0]) });
    const rest = await method.respond(Buffer.concat([Buffer.from([0]), hello.subarray(10)]));
    expect(rest.kind === 'request' && rest.data[0]! & Flag.Length).toBe(Flag.Length);
    method.destroy();
  });

  it.each([
    ['nothing', Buffer.alloc(0), 'an EAP-TLS packet without its flags octet'],
    ['an empty message', flagsOnly(0), 'an empty response where a TLS message was expected'],
    ['fragments whose lengths disagree', Buffer.from('800000000aaabb', 'hex'), 'a message of 2 octets announced as 10'],
  ])('refuses %s', async (_name, data, reason) => {
    const method = tls(async () => ({ ok: true }));
    expect(await method.respond(data)).toEqual({ kind: 'failure', reason });
  });

  it('refuses bytes that are not TLS', async () => {
    const method = tls(async () => ({ ok: true }));
    const step = await method.respond(typeData(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
    expect(step.kind).toBe('failure');
    expect(step.kind === 'failure' && step.reason).toMatch(/^TLS: /);
    // OpenSSL's own error, not the silence of a flight cut short.
    expect(step.kind === 'failure' && step.reason).not.toBe('TLS: the message is not a whole TLS flight (TLS waits for more)');
  });

  it('refuses a TLS record cut short: TLS waits for more than the peer said it sent', async () => {
    const method = tls(async () => ({ ok: true }));
    const hello = await new Peer('TLSv1.2').take();
    expect(await method.respond(typeData(hello.subarray(0, hello.length - 10)))).toEqual({ kind: 'failure', reason: 'TLS: the message is not a whole TLS flight (TLS waits for more)' });
  });

  it('refuses a TLS alert after its last flight (TLS 1.2: the peer refused us)', async () => {
    const method = tls(async () => ({ ok: true }));
    const peer = new Peer('TLSv1.2');
    // The server's flight; the peer's key exchange and Finished; our Finished, which the peer does not acknowledge.
    let step = await method.respond(typeData(await peer.take()));
    peer.give(payloadOf(step));
    step = await method.respond(typeData(await peer.take()));
    expect(payloadOf(step).length).toBeGreaterThan(0);
    // An alert record: fatal (2), bad_certificate (42).
    expect(await method.respond(typeData(Buffer.from('150303000202' + '2a', 'hex')))).toEqual({ kind: 'failure', reason: 'the peer sent a TLS alert after the handshake' });
  });
});

describe('TlsMethod: EAP-TTLS (RFC 5281, RFC 9427)', () => {
  const AVPS = Buffer.from('avps from the peer');

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: hands what the peer sends inside the tunnel to inner, and succeeds on its yes', async (version) => {
    const seen: Buffer[] = [];
    const method = tunnelled(EapType.Ttls, async (data) => {
      seen.push(data);
      return { ok: true };
    });
    const peer = new Peer(version, (s) => s.write(AVPS));
    const { step, rounds } = await converse(method, peer);
    expect(seen).toEqual([AVPS]);
    // TLS 1.3: the AVPs come with the peer's Finished; TLS 1.2: after our Finished, one round later.
    expect(rounds).toBe(version === 'TLSv1.3' ? 2 : 3);
    const expected =
      version === 'TLSv1.3'
        ? peer.socket.exportKeyingMaterial(128, 'EXPORTER_EAP_TLS_Key_Material', Buffer.from([EapType.Ttls]))
        : (peer.socket.exportKeyingMaterial as (length: number, label: string) => Buffer).call(peer.socket, 128, 'ttls keying material');
    expect(step).toEqual({ kind: 'success', msk: expected.subarray(0, 64) });
    expect(method.msk()).toEqual(expected.subarray(0, 64));
    expect(method.negotiated).toEqual({ protocol: version, resumed: false });
    expect(await method.respond(flagsOnly(0))).toEqual({ kind: 'failure', reason: 'a response after the conversation ended' });
  });

  it('does not ask the peer for a certificate: the person inside the tunnel is proven instead', async () => {
    const certificates: Array<string | undefined> = [];
    const method: TlsMethod = tunnelled(EapType.Ttls, async () => {
      const bytes = method.tls.peerCertificateBytes();
      certificates.push(bytes && new X509Certificate(bytes).subject);
      // The session holds no peer certificate: read as such, not as a session it cannot read.
      expect(peerOfSession(sessionOf(method))).toBeNull();
      return { ok: true };
    });
    // A peer that has a certificate sends it only when asked (RFC 5246 §7.4.6, RFC 8446 §4.4.2).
    const { step } = await converse(method, new Peer('TLSv1.3', (s) => s.write(AVPS), identity));
    expect(step.kind).toBe('success');
    expect(certificates).toEqual([undefined]);
  });

  it('fails with the reason inner gives', async () => {
    const method = tunnelled(EapType.Ttls, async () => ({ ok: false, reason: 'wrong password' }));
    const { step } = await converse(method, new Peer('TLSv1.3', (s) => s.write(AVPS)));
    expect(step).toEqual({ kind: 'failure', reason: 'wrong password' });
  });

  it('sends what inner replies inside the tunnel and waits for the next message', async () => {
    const seen: string[] = [];
    const method = tunnelled(EapType.Ttls, async (data) => {
      seen.push(data.toString());
      return seen.length === 1 ? { kind: 'reply', data: Buffer.from('say more') } : { ok: true };
    });
    const peer = new Peer('TLSv1.3', (s) => {
      s.write(AVPS);
      s.on('data', (d: Buffer) => {
        if (d.toString() === 'say more') s.write('more');
      });
    });
    const { step } = await converse(method, peer);
    expect(seen).toEqual(['avps from the peer', 'more']);
    expect(step.kind).toBe('success');
  });
});

describe('TlsMethod: PEAPv0', () => {
  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: begins the inner conversation with begin() and succeeds on inner\'s yes', async (version) => {
    const seen: string[] = [];
    const method = tunnelled(
      EapType.Peap,
      async (data) => {
        seen.push(data.toString());
        return { ok: true };
      },
      () => Buffer.from('identity?'),
    );
    const peer = new Peer(version, (s) =>
      s.on('data', (d: Buffer) => {
        if (d.toString() === 'identity?') s.write('alice');
      }),
    );
    const { step, rounds } = await converse(method, peer);
    expect(Buffer.concat(peer.received).toString()).toBe('identity?');
    // TLS 1.2: our Finished goes alone and the peer acknowledges it before the inner Identity
    // request; TLS 1.3: the request comes in our answer to the peer's Finished.
    expect(rounds).toBe(version === 'TLSv1.3' ? 3 : 4);
    expect(seen).toEqual(['alice']);
    const expected =
      version === 'TLSv1.3'
        ? peer.socket.exportKeyingMaterial(128, 'EXPORTER_EAP_TLS_Key_Material', Buffer.from([EapType.Peap]))
        : (peer.socket.exportKeyingMaterial as (length: number, label: string) => Buffer).call(peer.socket, 128, 'client EAP encryption');
    expect(step).toEqual({ kind: 'success', msk: expected.subarray(0, 64) });
  });

  it('ignores the version bits for EAP-TLS, which has none', async () => {
    const method = tls(async () => ({ ok: true }));
    expect(await method.respond(flagsOnly(0, 1))).toEqual({ kind: 'failure', reason: 'an empty response where a TLS message was expected' });
  });

  it('refuses a peer that asks for a PEAP version other than 0', async () => {
    const method = tunnelled(EapType.Peap, async () => ({ ok: true }), () => Buffer.from('identity?'));
    expect(await method.respond(flagsOnly(0, 1))).toEqual({ kind: 'failure', reason: 'the peer asked for PEAP version 1; only PEAPv0 is answered' });
  });

  it('refuses an empty response where the credentials were expected', async () => {
    const method = tunnelled(EapType.Peap, async () => ({ ok: true }), () => Buffer.from('identity?'));
    const peer = new Peer('TLSv1.3');
    let out = await peer.take();
    for (let i = 0; i < 10; i++) {
      const step = await method.respond(typeData(out));
      if (step.kind !== 'request') throw new Error(step.kind);
      const parsed = parseTlsData(step.data);
      if (parsed.ok && parsed.value.payload.length > 0) peer.give(parsed.value.payload);
      out = await peer.take();
      if (peer.received.length > 0) break;
    }
    expect(Buffer.concat(peer.received).toString()).toBe('identity?');
    expect(await method.respond(flagsOnly(0))).toEqual({ kind: 'failure', reason: 'an empty response where the credentials were expected' });
  });
});
