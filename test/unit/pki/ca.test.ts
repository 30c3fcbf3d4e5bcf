import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request, type RequestOptions, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificateDer,
  certificateNotAfter,
  createCa,
  fingerprintSha256,
  issueServerCertificate,
  writeGatewayPki,
  type CertificateAuthority,
  type IssuedCertificate,
} from '../../../src/pki/ca.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_NAMES = [
  'portal.example.test',
  '127.0.0.1',
  '::1',
  '10.0.0.1',
  '2001:db8::a:b',
  '::ffff:192.0.2.1',
  'Bücher.example',
];

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs openssl where it is expected to fail; returns its status and all it printed. */
function opensslFailing(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The line after the one naming an extension in `openssl x509 -text` output. */
function extension(text: string, header: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((line) => line.trim() === header);
  expect(at, `${header} in\n${text}`).toBeGreaterThanOrEqual(0);
  return lines[at + 1]!.trim();
}

let dir: string;
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let server: IssuedCertificate;
let files: { ca: string; caKey: string; otherCa: string; server: string; serverKey: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-ca-'));
  // A non-ASCII organization makes sure the issuer name survives forge's round trip.
  ca = createCa({ commonName: 'Enrollgate Test Root', organization: 'Café & Co' });
  otherCa = createCa({ commonName: 'Enrollgate Test Root' });
  server = issueServerCertificate(ca, { names: SERVER_NAMES });
  files = {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    server: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
  };
  await writeFile(files.ca, ca.certPem);
  await writeFile(files.caKey, ca.keyPem);
  await writeFile(files.otherCa, otherCa.certPem);
  await writeFile(files.server, server.certPem);
  await writeFile(files.serverKey, server.keyPem);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createCa', () => {
  it('is a critical CA:TRUE root allowed to sign certificates, SHA-256 with RSA 3072', () => {
    const text = openssl('x509', '-in', files.ca, '-noout', '-text');
    expect(extension(text, 'X509v3 Basic Constraints: critical')).toBe('CA:TRUE, pathlen:0');
    expect(extension(text, 'X509v3 Key Usage: critical')).toBe('Certificate Sign, CRL Sign');
    expect(extension(text, 'X509v3 Subject Key Identifier:')).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (3072 bit)');
    expect(text).not.toContain('Authority Key Identifier');
    // Self-signed: it verifies against itself under OpenSSL's strict RFC 5280 checks.
    expect(openssl('verify', '-x509_strict', '-CAfile', files.ca, files.ca).trim()).toBe(`${files.ca}: OK`);
  });

  it('writes names as UTF8String and keeps non-ASCII characters', () => {
    const x509 = new X509Certificate(ca.certPem);
    expect(x509.subject).toBe('O=Café & Co\nCN=Enrollgate Test Root');
    expect(x509.issuer).toBe(x509.subject);
    const asn1 = openssl('asn1parse', '-in', files.ca);
    expect(asn1).toMatch(/UTF8STRING\s+:Enrollgate Test Root/);
    expect(asn1).not.toContain('PRINTABLESTRING');
  });

  it('is valid for 10 years from an hour before now by default', () => {
    const now = new Date('2026-03-01T10:20:30.456Z');
    const notBefore = new Date('2026-03-01T09:20:30Z');
    const made = createCa({ commonName: 'Dated', now });
    expect(certificateNotAfter(made.certPem)).toEqual(new Date(notBefore.getTime() + 3650 * DAY_MS - 1000));
    expect(new Date(new X509Certificate(made.certPem).validFrom)).toEqual(notBefore);
    const short = createCa({ commonName: 'Dated', now, validDays: 30 });
    expect(certificateNotAfter(short.certPem)).toEqual(new Date(notBefore.getTime() + 30 * DAY_MS - 1000));
  });

  it('refuses empty or over-long names and nonsense validity', () => {
    expect(() => createCa({ commonName: '' })).toThrow(RangeError);
    expect(() => createCa({ commonName: 'x'.repeat(65) })).toThrow(RangeError);
    expect(() => createCa({ commonName: 'ok', organization: ' ' })).toThrow(RangeError);
    expect(() => createCa({ commonName: 'ok', validDays: 0 })).toThrow(RangeError);
    expect(() => createCa({ commonName: 'ok', validDays: 1.5 })).toThrow(RangeError);
  });
});

describe('issueServerCertificate', () => {
  it('verifies against its CA, strictly, for TLS server use, and not against another CA', () => {
    expect(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', files.ca, files.server).trim()).toBe(
      `${files.server}: OK`,
    );
    const other = opensslFailing('verify', '-CAfile', files.otherCa, files.server);
    expect(other.status).not.toBe(0);
    expect(other.output).toContain('unable to get local issuer certificate');
  });

  it('carries every name in the SAN, DNS names and IPv4/IPv6 addresses told apart', () => {
    const san = openssl('x509', '-in', files.server, '-noout', '-ext', 'subjectAltName').split('\n')[1]!.trim();
    expect(san.split(', ')).toEqual([
      'DNS:portal.example.test',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:10.0.0.1',
      'IP Address:2001:DB8:0:0:0:0:A:B',
      'IP Address:0:0:0:0:0:FFFF:C000:201',
      // RFC 5280 §7.2: an internationalized name goes in as its A-label.
      'DNS:xn--bcher-kva.example',
    ]);
    for (const [flag, name] of [
      ['-verify_hostname', 'portal.example.test'],
      ['-verify_hostname', 'xn--bcher-kva.example'],
      ['-verify_ip', '127.0.0.1'],
      ['-verify_ip', '::1'],
      ['-verify_ip', '2001:db8::a:b'],
    ] as const) {
      expect(openssl('verify', '-CAfile', files.ca, flag, name, files.server).trim()).toBe(`${files.server}: OK`);
    }
    const wrong = opensslFailing('verify', '-CAfile', files.ca, '-verify_hostname', 'other.example', files.server);
    expect(wrong.output).toContain('hostname mismatch');
    // An IP address is not also a DNS name, nor the other way round.
    expect(opensslFailing('verify', '-CAfile', files.ca, '-verify_hostname', '10.0.0.1', files.server).status).not.toBe(0);
  });

  it('has the extensions a TLS server certificate needs', () => {
    const text = openssl('x509', '-in', files.server, '-noout', '-text');
    expect(extension(text, 'X509v3 Extended Key Usage:')).toBe('TLS Web Server Authentication');
    expect(extension(text, 'X509v3 Key Usage: critical')).toBe('Digital Signature, Key Encipherment');
    expect(extension(text, 'X509v3 Basic Constraints:')).toBe('CA:FALSE');
    expect(extension(text, 'X509v3 Subject Key Identifier:')).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    const caText = openssl('x509', '-in', files.ca, '-noout', '-text');
    // OpenSSL 3.0 prints the keyid bare; older versions prefix "keyid:".
    expect(extension(text, 'X509v3 Authority Key Identifier:').replace(/^keyid:/, '')).toBe(
      extension(caText, 'X509v3 Subject Key Identifier:'),
    );
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    const x509 = new X509Certificate(server.certPem);
    expect(x509.subject).toBe('CN=portal.example.test');
    expect(x509.issuer).toBe('O=Café & Co\nCN=Enrollgate Test Root');
  });

  it('uses positive 16-byte serials (RFC 5280 §4.1.2.2)', () => {
    for (const pem of [ca.certPem, otherCa.certPem, server.certPem]) {
      const serial = new X509Certificate(pem).serialNumber;
      // First byte 0x01–0x7F: positive, and no padding byte DER would forbid.
      expect(serial).toMatch(/^(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/);
    }
    expect(new X509Certificate(ca.certPem).serialNumber).not.toBe(new X509Certificate(otherCa.certPem).serialNumber);
  });

  it('is valid for 825 days by default, less when asked, and never past the CA', () => {
    const now = new Date('2026-03-01T10:20:30Z');
    const notBefore = now.getTime() - 60 * 60 * 1000;
    const root = createCa({ commonName: 'Dated', now });
    expect(certificateNotAfter(issueServerCertificate(root, { names: ['a.test'], now }).certPem)).toEqual(
      new Date(notBefore + 825 * DAY_MS - 1000),
    );
    expect(certificateNotAfter(issueServerCertificate(root, { names: ['a.test'], now, validDays: 90 }).certPem)).toEqual(
      new Date(notBefore + 90 * DAY_MS - 1000),
    );
    const shortRoot = createCa({ commonName: 'Short', now, validDays: 30 });
    const leaf = issueServerCertificate(shortRoot, { names: ['a.test'], now });
    expect(certificateNotAfter(leaf.certPem)).toEqual(certificateNotAfter(shortRoot.certPem));
    expect(() => issueServerCertificate(root, { names: ['a.test'], now, validDays: 826 })).toThrow(/at most 825/);
    const later = new Date(now.getTime() + 31 * DAY_MS);
    expect(() => issueServerCertificate(shortRoot, { names: ['a.test'], now: later })).toThrow(/expired/);
  });

  it('refuses names that are neither DNS names nor IP addresses', () => {
    for (const bad of ['', 'bad name', '*.example.test', 'under_score.example', 'fe80::1%eth0', '1.2.3', '[::1]', 'a..b']) {
      expect(() => issueServerCertificate(ca, { names: [bad] }), bad).toThrow(RangeError);
    }
    expect(() => issueServerCertificate(ca, { names: [] })).toThrow(RangeError);
    expect(() => issueServerCertificate(ca, { names: [`${'a'.repeat(63)}.example`] })).toThrow(/commonName/);
  });

  it('refuses a CA whose key is not its own, or a certificate that is not a CA', () => {
    expect(() => issueServerCertificate({ certPem: ca.certPem, keyPem: otherCa.keyPem }, { names: ['a.test'] })).toThrow(
      /does not belong/,
    );
    expect(() => issueServerCertificate({ certPem: server.certPem, keyPem: server.keyPem }, { names: ['a.test'] })).toThrow(
      /not a CA/,
    );
  });
});

describe('keys', () => {
  it('are PKCS#8 and match their certificates', () => {
    for (const [certFile, keyFile, pem] of [
      [files.ca, files.caKey, ca.keyPem],
      [files.server, files.serverKey, server.keyPem],
    ] as const) {
      expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
      expect(openssl('pkey', '-in', keyFile, '-pubout')).toBe(openssl('x509', '-in', certFile, '-noout', '-pubkey'));
    }
    expect(new X509Certificate(server.certPem).checkPrivateKey(createPrivateKey(server.keyPem))).toBe(true);
    expect(
      createPublicKey(server.keyPem).export({ type: 'spki', format: 'der' }).equals(
        new X509Certificate(server.certPem).publicKey.export({ type: 'spki', format: 'der' }),
      ),
    ).toBe(true);
  });
});

describe('certificate helpers', () => {
  it('fingerprintSha256 matches openssl', () => {
    const printed = openssl('x509', '-in', files.server, '-noout', '-fingerprint', '-sha256').trim();
    expect(printed.slice(printed.indexOf('=') + 1)).toBe(fingerprintSha256(server.certPem));
    expect(fingerprintSha256(server.certPem)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('certificateDer matches openssl', () => {
    const der = execFileSync('openssl', ['x509', '-in', files.server, '-outform', 'DER']);
    expect(certificateDer(server.certPem).equals(der)).toBe(true);
  });

  it('certificateNotAfter matches openssl', () => {
    const printed = openssl('x509', '-in', files.server, '-noout', '-enddate').trim();
    expect(certificateNotAfter(server.certPem)).toEqual(new Date(printed.slice('notAfter='.length)));
  });
});

describe('writeGatewayPki', () => {
  it('writes the six files, keys 0600, and refuses to overwrite them', async () => {
    const pkiDir = join(dir, 'written');
    const paths = await writeGatewayPki(pkiDir, { commonName: 'Gateway Root', serverNames: ['portal.example.test'], eapServerName: 'radius.example.test' });
    expect(paths).toEqual({
      caCert: join(pkiDir, 'ca.pem'),
      caKey: join(pkiDir, 'ca-key.pem'),
      serverCert: join(pkiDir, 'server.pem'),
      serverKey: join(pkiDir, 'server-key.pem'),
      eapCert: join(pkiDir, 'eap-server.pem'),
      eapKey: join(pkiDir, 'eap-server-key.pem'),
    });
    expect((await stat(paths.caKey)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.serverKey)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.eapKey)).mode & 0o777).toBe(0o600);
    expect(openssl('verify', '-x509_strict', '-CAfile', paths.caCert, paths.serverCert).trim()).toBe(
      `${paths.serverCert}: OK`,
    );
    expect(openssl('pkey', '-in', paths.serverKey, '-pubout')).toBe(
      openssl('x509', '-in', paths.serverCert, '-noout', '-pubkey'),
    );

    const before = await readFile(paths.caKey, 'utf8');
    await expect(
      writeGatewayPki(pkiDir, { commonName: 'Gateway Root', serverNames: ['portal.example.test'], eapServerName: 'radius.example.test' }),
    ).rejects.toThrow(/refusing to overwrite/);
    expect(await readFile(paths.caKey, 'utf8')).toBe(before);
  });

  it('issues the EAP server a TLS server certificate for its one DNS name, naming the CRL and the OCSP responder', async () => {
    const pkiDir = join(dir, 'eap');
    const revocation = { crl: 'http://portal.example.test/pki/crl.der', ocsp: 'http://portal.example.test/pki/ocsp' };
    const paths = await writeGatewayPki(pkiDir, { commonName: 'Gateway Root', serverNames: ['portal.example.test'], eapServerName: 'radius.example.test', revocation });
    // -purpose sslserver: the EKU and key usage a TLS server (here: EAP) needs.
    expect(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', paths.caCert, paths.eapCert).trim()).toBe(`${paths.eapCert}: OK`);
    const text = openssl('x509', '-in', paths.eapCert, '-noout', '-text');
    expect(text).toMatch(/X509v3 Subject Alternative Name: \n\s+DNS:radius\.example\.test\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    expect(text).toContain('URI:http://portal.example.test/pki/crl.der');
    expect(text).toContain('OCSP - URI:http://portal.example.test/pki/ocsp');
    expect(openssl('x509', '-in', paths.serverCert, '-noout', '-text')).toContain('URI:http://portal.example.test/pki/crl.der');
    expect(openssl('pkey', '-in', paths.eapKey, '-pubout')).toBe(openssl('x509', '-in', paths.eapCert, '-noout', '-pubkey'));
  });

  it('refuses when any one of the files exists', async () => {
    const pkiDir = await mkdtemp(join(dir, 'one-'));
    await writeFile(join(pkiDir, 'server.pem'), 'mine');
    await expect(writeGatewayPki(pkiDir, { commonName: 'Gateway Root', serverNames: ['a.test'], eapServerName: 'radius.a.test' })).rejects.toThrow(
      /server\.pem/,
    );
    expect(await readFile(join(pkiDir, 'server.pem'), 'utf8')).toBe('mine');
  });

  it('replaces them with overwrite: true, and a loosened key file comes back 0600', async () => {
    const pkiDir = join(dir, 'replaced');
    const first = await writeGatewayPki(pkiDir, { commonName: 'Gateway Root', serverNames: ['a.test'], eapServerName: 'radius.a.test' });
    const oldFingerprint = fingerprintSha256(await readFile(first.caCert, 'utf8'));
    await chmod(first.serverKey, 0o644);
    const second = await writeGatewayPki(pkiDir, { commonName: 'Gateway Root', serverNames: ['a.test'], eapServerName: 'radius.a.test', overwrite: true });
    expect(fingerprintSha256(await readFile(second.caCert, 'utf8'))).not.toBe(oldFingerprint);
    expect((await stat(second.serverKey)).mode & 0o777).toBe(0o600);
    expect(openssl('verify', '-CAfile', second.caCert, second.serverCert).trim()).toBe(`${second.serverCert}: OK`);
  });
});

describe('a real TLS handshake (node:https on 127.0.0.1)', () => {
  let https: Server;
  let port: number;

  beforeAll(async () => {
    https = createServer({ cert: server.certPem, key: server.keyPem }, (_req, res) => res.end('enrollgate'));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    port = (https.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => https.close(() => resolve()));
  });

  function get(options: RequestOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/', agent: false, rejectUnauthorized: true, ...options },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('verifies with the CA, by IP address and by DNS name', async () => {
    // Host 127.0.0.1 alone: Node checks the IP SAN (and sends no SNI, RFC 6066 §3).
    expect(await get({ ca: ca.certPem })).toBe('enrollgate');
    expect(await get({ ca: ca.certPem, servername: 'portal.example.test' })).toBe('enrollgate');
  });

  it('fails without the CA, with another CA, or for a name not in the certificate', async () => {
    await expect(get({})).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await expect(get({ ca: otherCa.certPem })).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await expect(get({ ca: ca.certPem, servername: 'other.example' })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });
});
