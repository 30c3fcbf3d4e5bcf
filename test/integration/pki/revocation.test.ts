import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCertificate } from '../../../src/pki/ca.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { httpsCall } from '../../helpers/https.js';

/**
 * The CA's revocation status as relying parties see it, checked with OpenSSL only: a
 * real gateway (HTTPS portal, EAP-TLS on), a device enrolled through the Android
 * agent's API that takes an EAP-TLS identity, then its CRL and OCSP answers before
 * and after it is unenrolled.
 */
const run = promisify(execFile);
let t: TestGateway;
let caPem: Buffer;
let work: string;
const MAC = '3c:d0:00:00:00:01';

async function openssl(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('openssl', args, { cwd: work });
  return stdout + stderr;
}

/** What openssl printed, also when it exits non-zero (as `ocsp` does for an unsuccessful response). */
async function opensslOutput(...args: string[]): Promise<string> {
  try {
    return await openssl(...args);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

function api(path: string, json: unknown) {
  return httpsCall(t.gateway.ports.https, caPem, path, { method: 'POST', json });
}

/** A plain-HTTP exchange with the portal (what an OCSP client or CRL fetcher does), with the raw body back. */
function plain(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: t.gateway.ports.http, method, path, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'enrollgate-pki-'));
  t = await startTestGateway({
    https: true,
    configure: (doc) => {
      doc.eap = { ...doc.eap, enabled: true, methods: ['tls'] };
    },
  });
  caPem = readFileSync(join(t.dir, 'certs', 'ca.pem'));
  await writeFile(join(work, 'ca.pem'), caPem);
});
afterAll(async () => {
  await t?.close();
  await rm(work, { recursive: true, force: true });
});

describe('revocation of a device certificate', () => {
  let serial: string;

  it('hands the enrolled device an EAP-TLS identity bound to it, whose certificate names the CRL and the OCSP responder', async () => {
    expect((await api('/api/agent/v1/enroll', { username: 'employee', password: t.employeePassword, device: { mac: MAC, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } })).status).toBe(201);
    const r = await api('/api/agent/v1/identity', { username: 'employee', password: t.employeePassword, mac: MAC });
    expect(r.status, r.text).toBe(201);
    expect(r.json.server_name).toBe(/DNS:([^,\s]+)/.exec(await openssl('x509', '-in', t.config.eap.cert_file, '-noout', '-ext', 'subjectAltName'))![1]);
    expect(r.json.ca_pem).toBe(caPem.toString('utf8'));
    await writeFile(join(work, 'dev.p12'), Buffer.from(r.json.identity.pkcs12, 'base64'));
    await openssl('pkcs12', '-in', 'dev.p12', '-passin', `pass:${r.json.identity.password}`, '-nokeys', '-clcerts', '-out', 'dev.pem', ...legacy());
    const text = await openssl('x509', '-in', 'dev.pem', '-noout', '-text', '-serial');
    serial = /serial=([0-9A-F]+)/.exec(text)![1]!.toLowerCase().replace(/^0+/, '');
    expect(r.json.identity.serial).toBe(serial);
    expect(text).toContain(`URI:${t.baseUrl}/pki/crl.der`);
    expect(text).toContain(`OCSP - URI:${t.baseUrl}/pki/ocsp`);
    expect(text).toContain(`URI:urn:enrollgate:device:${MAC}`);
    const admin = await httpsCall(t.gateway.ports.https, caPem, '/api/agent/v1/identity', { method: 'POST', json: { username: 'employee', password: 'wrong', mac: MAC } });
    expect(admin.status).toBe(401);
  });

  it('answers good over OCSP (POST and GET) and lists nothing on a CRL that verifies against the CA', async () => {
    const ocsp = await openssl('ocsp', '-issuer', 'ca.pem', '-cert', 'dev.pem', '-url', `http://127.0.0.1:${t.gateway.ports.http}/pki/ocsp`, '-CAfile', 'ca.pem', '-resp_text');
    expect(ocsp).toContain('Response verify OK');
    expect(ocsp).toContain('dev.pem: good');
    expect(ocsp).toMatch(/OCSP Nonce/);
    // GET, RFC 6960 Appendix A.1: the request base64 in the path.
    await openssl('ocsp', '-issuer', 'ca.pem', '-cert', 'dev.pem', '-no_nonce', '-reqout', 'req.der');
    const encoded = encodeURIComponent(readFileSync(join(work, 'req.der')).toString('base64'));
    const get = await plain('GET', `/pki/ocsp/${encoded}`);
    expect(get.status).toBe(200);
    expect(get.type).toBe('application/ocsp-response');
    await writeFile(join(work, 'get.der'), get.body);
    expect(await openssl('ocsp', '-respin', 'get.der', '-issuer', 'ca.pem', '-CAfile', 'ca.pem', '-resp_text')).toMatch(/Cert Status: good[\s\S]*Response verify OK/);

    const crl = await plain('GET', '/pki/crl.der');
    expect(crl.status).toBe(200);
    expect(crl.type).toBe('application/pkix-crl');
    await writeFile(join(work, 'crl.der'), crl.body);
    const text = await openssl('crl', '-inform', 'DER', '-in', 'crl.der', '-CAfile', 'ca.pem', '-noout', '-verify', '-text');
    expect(text).toContain('verify OK');
    expect(text).toContain('No Revoked Certificates.');
    expect(text).toMatch(/X509v3 CRL Number:/);
    expect(text).toMatch(/X509v3 Authority Key Identifier:/);
    expect(text).toMatch(/Next Update: /);
  });

  it('answers revoked once the device is unenrolled, and lists it on the next CRL', async () => {
    expect((await api('/api/agent/v1/unenroll', { username: 'employee', password: t.employeePassword, mac: MAC })).status).toBe(200);
    const ocsp = await openssl('ocsp', '-issuer', 'ca.pem', '-cert', 'dev.pem', '-url', `http://127.0.0.1:${t.gateway.ports.http}/pki/ocsp`, '-CAfile', 'ca.pem', '-resp_text');
    expect(ocsp).toContain('Response verify OK');
    expect(ocsp).toMatch(/dev\.pem: revoked\n\s+This Update: .*\n(\s+Next Update: .*\n)?\s+Reason: cessationOfOperation\n\s+Revocation Time: /);
    await writeFile(join(work, 'crl2.der'), (await plain('GET', '/pki/crl.der')).body);
    const text = await openssl('crl', '-inform', 'DER', '-in', 'crl2.der', '-CAfile', 'ca.pem', '-noout', '-verify', '-text');
    expect(text).toContain('verify OK');
    expect(text.toLowerCase()).toContain(`serial number: ${serial.length % 2 ? '0' : ''}${serial}`);
    expect(text).toContain('Cessation Of Operation');
    // An identity for a device no longer enrolled is refused.
    expect((await api('/api/agent/v1/identity', { username: 'employee', password: t.employeePassword, mac: MAC })).status).toBe(404);
  });
});

describe('bad OCSP requests', () => {
  it('answers garbage with malformedRequest, an oversized body with 413, and another CA’s certificate with unknown', async () => {
    const garbage = await plain('POST', '/pki/ocsp', Buffer.from('this is not DER'), { 'Content-Type': 'application/ocsp-request' });
    expect(garbage.status).toBe(200);
    await writeFile(join(work, 'garbage.der'), garbage.body);
    expect(await opensslOutput('ocsp', '-respin', 'garbage.der', '-resp_text', '-noverify')).toMatch(/Responder Error: malformedrequest \(1\)/);
    const huge = await plain('POST', '/pki/ocsp', Buffer.alloc(64 * 1024, 0x30), { 'Content-Type': 'application/ocsp-request' });
    expect(huge.status).toBe(413);
    const wrongType = await plain('POST', '/pki/ocsp', Buffer.from('{}'), { 'Content-Type': 'application/json' });
    expect(wrongType.status).toBe(415);

    const other = createCa({ commonName: 'somebody else' });
    await writeFile(join(work, 'other-ca.pem'), other.certPem);
    await writeFile(join(work, 'other.pem'), issueServerCertificate(other, { names: ['x.example.org'] }).certPem);
    const unknown = await openssl('ocsp', '-issuer', 'other-ca.pem', '-cert', 'other.pem', '-url', `http://127.0.0.1:${t.gateway.ports.http}/pki/ocsp`, '-CAfile', 'ca.pem', '-VAfile', 'ca.pem', '-resp_text');
    expect(unknown).toContain('other.pem: unknown');
  });
});

/** OpenSSL 3 reads the 3DES PKCS#12 devices need only with the legacy provider on some builds; -legacy is harmless elsewhere. */
function legacy(): string[] {
  return ['-legacy'];
}
