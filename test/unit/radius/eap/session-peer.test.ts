import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect, createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { peerCertificateInSession } from '../../../../src/radius/eap/session-peer.js';

/**
 * The peer's certificate read from the session OpenSSL serialises (Node's getSession), on
 * real sessions of this Node's OpenSSL: a change in its layout fails here rather than
 * quietly sending every handshake down the dearer path.
 */
let server: { key: Buffer; cert: Buffer };
let device: { key: Buffer; cert: Buffer };
let context: SecureContext;
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'enrollgate-session-peer-'));
  try {
    const make = (name: string, subject: string) => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject, '-days', '2', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)], { stdio: 'ignore' });
      return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.pem`)) };
    };
    server = make('server', '/CN=eap.example.test');
    device = make('device', '/CN=device.example.test');
    context = createSecureContext({ ...server, sessionIdContext: 'test', ticketKeys: Buffer.alloc(48, 1) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A handshake between a server TLSSocket and a client over a pair of streams; the server's socket once it is done. */
async function handshake(maxVersion: 'TLSv1.2' | 'TLSv1.3', o: { certificate?: typeof device; session?: Buffer } = {}): Promise<{ server: TLSSocket; clientSession: Promise<Buffer> }> {
  let toServer!: Duplex;
  const toClient: Duplex = new Duplex({ read() {}, write: (c: Buffer, _e, done) => (toServer.push(c), done()) });
  toServer = new Duplex({ read() {}, write: (c: Buffer, _e, done) => (toClient.push(c), done()) });
  const socket = new TLSSocket(toServer, { isServer: true, secureContext: context, requestCert: true, rejectUnauthorized: false });
  const client = connect({ socket: toClient, rejectUnauthorized: false, maxVersion, servername: 'eap.example.test', ...o.certificate, ...(o.session ? { session: o.session } : {}) });
  client.on('error', () => {});
  const clientSession = new Promise<Buffer>((resolve) => client.once('session', resolve));
  await new Promise<void>((resolve, reject) => {
    socket.once('secure', resolve);
    socket.once('error', reject);
  });
  return { server: socket, clientSession };
}

/** DER: a one-octet tag, its length (short or long form), the contents. */
function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const length = body.length < 0x80 ? [body.length] : body.length < 0x100 ? [0x81, body.length] : [0x82, body.length >> 8, body.length & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}

describe('peerCertificateInSession', () => {
  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: finds the certificate the peer sent, byte for byte, and nothing when it sent none', async (version) => {
    const withCertificate = await handshake(version, { certificate: device });
    expect(peerCertificateInSession(withCertificate.server.getSession()!)).toEqual(new X509Certificate(device.cert).raw);
    const without = await handshake(version);
    expect(peerCertificateInSession(without.server.getSession()!)).toBeNull();
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('%s: finds it in a resumed session too (OpenSSL keeps it there)', async (version) => {
    const first = await handshake(version, { certificate: device });
    const resumed = await handshake(version, { session: await first.clientSession });
    expect(resumed.server.isSessionReused()).toBe(true);
    expect(peerCertificateInSession(resumed.server.getSession()!)).toEqual(new X509Certificate(device.cert).raw);
  });

  it('says it does not understand anything else, rather than "no certificate"', async () => {
    const { server: socket } = await handshake('TLSv1.2', { certificate: device });
    const session = socket.getSession()!;
    expect(peerCertificateInSession(Buffer.alloc(0))).toBeUndefined();
    expect(peerCertificateInSession(Buffer.from([0x04, 0x00]))).toBeUndefined();
    for (const cut of [1, 10, 60, session.length - 1]) expect(peerCertificateInSession(session.subarray(0, cut)), `cut at ${cut}`).toBeUndefined();
    // A certificate in [3], but a field before it of another type than OpenSSL writes there.
    const certificate = new X509Certificate(device.cert).raw;
    const layout = (cipherTag: number) => tlv(0x30, Buffer.from([0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, cipherTag, 0x02, 0x13, 0x01, 0x04, 0x00, 0x04, 0x01, 0x00]), tlv(0xa3, certificate));
    expect(peerCertificateInSession(layout(0x04))).toEqual(certificate);
    expect(peerCertificateInSession(layout(0x05))).toBeUndefined();
    // A [3] that holds something other than one certificate.
    const mandatory = [0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x02, 0x13, 0x01, 0x04, 0x00, 0x04, 0x01, 0x00];
    const odd = [...mandatory, 0xa3, 0x03, 0x04, 0x01, 0x00];
    expect(peerCertificateInSession(Buffer.from([0x30, odd.length, ...odd]))).toBeUndefined();
    // No [3], a later field: no certificate.
    const later = [...mandatory, 0xa1, 0x03, 0x02, 0x01, 0x05, 0xa4, 0x03, 0x04, 0x01, 0x00];
    expect(peerCertificateInSession(Buffer.from([0x30, later.length, ...later]))).toBeNull();
  });
});
