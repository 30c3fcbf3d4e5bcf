import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, validateConfig, type Config } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { certificateDer, createCa, issueProfileSigningCertificate, type CertificateAuthority } from '../../../src/pki/ca.js';
import { createProfileSigner, type ProfileSigner } from '../../../src/pki/cms.js';
import { loadProfileSigning } from '../../../src/pki/profile-signing.js';
import { createProfileService, ProfileService } from '../../../src/profiles/profile-service.js';
import { WIFI_CONFIG_TYPE } from '../../../src/profiles/passpoint.js';
import { parsePasspointDownload } from '../../helpers/passpoint-parser.js';

/**
 * Profiles checked by the tools that matter: openssl verifies the CMS signature
 * and opens the PKCS#12, Python's plistlib parses the XML. Nothing is mocked.
 */

const MAC = 'a8:5b:78:12:34:56';
const OTHER_MAC = 'a8:5b:78:65:43:21';
const USER = 'alice';
const PSK = 'correct horse battery';

const NETWORKS = {
  open: { ssid: 'Guest', security: 'open', auto_join: false },
  'wpa2-personal': { ssid: 'Office', security: 'wpa2-personal', password: PSK, hidden: true },
  'wpa3-personal': { ssid: 'Office6E', security: 'wpa3-personal', password: PSK },
  'eap-peap': { ssid: 'Staff', security: 'eap-peap', server_names: ['radius.example.org'], outer_identity: 'anonymous@example.org' },
  'eap-ttls': { ssid: 'Staff-TTLS', security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org', 'radius2.example.org'] },
  'eap-tls': { ssid: 'Staff-TLS', security: 'eap-tls', server_names: ['radius.example.org'] },
} as const;
type Security = keyof typeof NETWORKS;

type Plist = Record<string, any>;

let dir: string;
let ca: CertificateAuthority;
let caFile: string;
let otherCaFile: string;
let signer: ProfileSigner;

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs openssl where it is expected to fail; returns its status and all it printed. */
function opensslFailing(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Parses a plist with Python's plistlib; <data> comes back as { $data: base64 }. */
function plistlib(file: string): Plist {
  const script =
    'import base64,json,plistlib,sys\n' +
    'def enc(o):\n' +
    '    if isinstance(o, bytes): return {"$data": base64.b64encode(o).decode()}\n' +
    '    raise TypeError(type(o))\n' +
    'print(json.dumps(plistlib.load(open(sys.argv[1], "rb")), default=enc))\n';
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Plist;
}

function configWith(networks: readonly object[], ios: object = {}): Config {
  const raw = validateConfig({ portal: { organisation_name: 'Example Corp' }, ios: { profile: { identifier: 'org.example.wifi', ...ios }, wifi: networks } });
  return resolveConfig(raw, join(dir, 'enrollgate.yaml'), {});
}

let files = 0;
/** Writes the signed profile, verifies it against `caPem` and returns the extracted plist file. */
async function verify(body: Buffer, caPath = caFile): Promise<{ status: number | null; output: string; plist: string }> {
  const n = files++;
  const signed = join(dir, `p${n}.mobileconfig`);
  const plist = join(dir, `p${n}.plist`);
  await writeFile(signed, body);
  const result = opensslFailing('cms', '-verify', '-inform', 'der', '-in', signed, '-CAfile', caPath, '-out', plist);
  return { ...result, plist };
}

async function verifiedPlist(body: Buffer): Promise<Plist> {
  const result = await verify(body);
  expect(result.output).toContain('Verification successful');
  expect(result.status).toBe(0);
  return plistlib(result.plist);
}

function payloads(profile: Plist, type: string): Plist[] {
  return (profile.PayloadContent as Plist[]).filter((p) => p.PayloadType === type);
}

function identifiers(profile: Plist): string[] {
  return [profile.PayloadIdentifier, profile.PayloadUUID, ...(profile.PayloadContent as Plist[]).flatMap((p) => [p.PayloadIdentifier, p.PayloadUUID])];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-profiles-'));
  ca = createCa({ commonName: 'Example Corp Wi-Fi CA', organization: 'Example Corp' });
  const other = createCa({ commonName: 'Example Corp Wi-Fi CA', organization: 'Example Corp' });
  caFile = join(dir, 'ca.pem');
  otherCaFile = join(dir, 'other-ca.pem');
  await writeFile(caFile, ca.certPem);
  await writeFile(otherCaFile, other.certPem);
  signer = createProfileSigner(loadProfileSigning(configWith([]), ca));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('enrollment profile, one network of each security type', () => {
  it.each(Object.keys(NETWORKS) as Security[])('%s: verifies with the gateway CA only, and parses with the expected payloads', async (security) => {
    const network = NETWORKS[security];
    const service = new ProfileService({ config: configWith([network]), ca, signer });
    const file = await service.enrollmentProfile({ mac: MAC, owner: USER });
    expect(file.filename).toBe('example-corp-wifi.mobileconfig');

    const profile = await verifiedPlist(file.body);
    // Another CA with the very same name does not vouch for it (the default purpose, smimesign, is kept).
    const foreign = await verify(file.body, otherCaFile);
    expect(foreign.status).not.toBe(0);
    expect(foreign.output).toMatch(/certificate verify error|unable to get local issuer certificate/);

    expect(profile).toMatchObject({
      PayloadType: 'Configuration',
      PayloadVersion: 1,
      PayloadIdentifier: 'org.example.wifi.device.a85b78123456',
      PayloadDisplayName: 'Example Corp Wi-Fi',
      PayloadOrganization: 'Example Corp',
      PayloadRemovalDisallowed: false,
    });
    expect(profile.PayloadDescription).toContain(USER);

    const [root, ...moreRoots] = payloads(profile, 'com.apple.security.root');
    expect(moreRoots).toEqual([]);
    expect(Buffer.from(root!.PayloadContent.$data, 'base64').equals(certificateDer(ca.certPem))).toBe(true);

    const [wifi, ...moreWifi] = payloads(profile, 'com.apple.wifi.managed');
    expect(moreWifi).toEqual([]);
    expect(wifi).toMatchObject({ SSID_STR: network.ssid, HIDDEN_NETWORK: security === 'wpa2-personal', AutoJoin: security !== 'open', PayloadVersion: 1 });
    expect(wifi!.PayloadIdentifier).toBe(`org.example.wifi.device.a85b78123456.wifi.${wifi!.PayloadUUID}`);
    const identity = payloads(profile, 'com.apple.security.pkcs12');
    expect(identity).toHaveLength(security === 'eap-tls' ? 1 : 0);

    switch (security) {
      case 'open':
        expect(wifi!.EncryptionType).toBe('None');
        expect(wifi).not.toHaveProperty('Password');
        expect(wifi).not.toHaveProperty('EAPClientConfiguration');
        break;
      case 'wpa2-personal':
      case 'wpa3-personal':
        expect(wifi).toMatchObject({ EncryptionType: security === 'wpa2-personal' ? 'WPA2' : 'WPA3', Password: PSK });
        expect(wifi).not.toHaveProperty('EAPClientConfiguration');
        break;
      default: {
        const eap = wifi!.EAPClientConfiguration as Plist;
        expect(wifi!.EncryptionType).toBe('WPA2');
        expect(wifi).not.toHaveProperty('Password');
        expect(eap.AcceptEAPTypes).toEqual([{ 'eap-peap': 25, 'eap-ttls': 21, 'eap-tls': 13 }[security]]);
        expect(eap.TLSTrustedServerNames).toEqual((network as { server_names: readonly string[] }).server_names);
        expect(eap.PayloadCertificateAnchorUUID).toEqual([root!.PayloadUUID]);
        expect(eap.UserName).toBe(USER);
        expect(eap).not.toHaveProperty('UserPassword');
        if (security === 'eap-peap') expect(eap.OuterIdentity).toBe('anonymous@example.org');
        else expect(eap).not.toHaveProperty('OuterIdentity');
        if (security === 'eap-ttls') expect(eap.TTLSInnerAuthentication).toBe('PAP');
        else expect(eap).not.toHaveProperty('TTLSInnerAuthentication');
        if (security === 'eap-tls') expect(wifi!.PayloadCertificateUUID).toBe(identity[0]!.PayloadUUID);
        else expect(wifi).not.toHaveProperty('PayloadCertificateUUID');
      }
    }
  });

  it.each(Object.keys(NETWORKS) as Security[])('%s: one flipped byte in the signed content fails verification', async (security) => {
    const service = new ProfileService({ config: configWith([NETWORKS[security]]), ca, signer });
    const { body } = await service.enrollmentProfile({ mac: MAC, owner: USER });
    const at = body.indexOf(Buffer.from(`<string>${NETWORKS[security].ssid}</string>`));
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(body);
    tampered.writeUInt8(tampered.readUInt8(at + 9) ^ 0x01, at + 9);
    const result = await verify(tampered);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/digest failure|content verify error/);
  });

  it('signs with SHA-256 and the attributes devices expect, and carries the signer and the root', async () => {
    const service = new ProfileService({ config: configWith([NETWORKS.open]), ca, signer });
    const signed = join(dir, 'printed.mobileconfig');
    await writeFile(signed, (await service.enrollmentProfile({ mac: MAC, owner: USER })).body);
    const printed = openssl('cms', '-cmsout', '-print', '-inform', 'der', '-in', signed);
    for (const expected of ['contentType', 'signingTime', 'messageDigest', 'sha256', 'rsaEncryption']) expect(printed).toContain(expected);
    const certs = openssl('pkcs7', '-inform', 'der', '-in', signed, '-print_certs', '-noout');
    expect(certs).toContain('Example Corp profile signing');
    expect(certs).toContain('CN = Example Corp Wi-Fi CA');
  });
});

describe('EAP-TLS identity', () => {
  let p12File: string;
  let password: string;

  beforeAll(async () => {
    const service = new ProfileService({ config: configWith([NETWORKS['eap-tls']]), ca, signer });
    const profile = await verifiedPlist((await service.enrollmentProfile({ mac: MAC, owner: USER })).body);
    const [identity] = payloads(profile, 'com.apple.security.pkcs12');
    password = identity!.Password as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    p12File = join(dir, 'identity.p12');
    await writeFile(p12File, Buffer.from(identity!.PayloadContent.$data, 'base64'));
  });

  it('opens with its password (no -legacy needed for 3DES) and not with another', () => {
    const certs = openssl('pkcs12', '-in', p12File, '-passin', `pass:${password}`, '-nokeys');
    expect(certs.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(certs).toContain(`friendlyName: ${USER} (${MAC})`);
    const info = opensslFailing('pkcs12', '-in', p12File, '-passin', `pass:${password}`, '-info', '-noout');
    expect(info.output).toContain('pbeWithSHA1And3-KeyTripleDES-CBC');
    const wrong = opensslFailing('pkcs12', '-in', p12File, '-passin', 'pass:not-the-password', '-nokeys');
    expect(wrong.status).not.toBe(0);
    // OpenSSL 3.0 says "Mac verify error: invalid password?"; 1.1 said "mac verify failure".
    expect(wrong.output).toMatch(/mac verify (error|failure)/i);
  });

  it('holds a client certificate for the device, chained to the CA, with its key', async () => {
    const leafFile = join(dir, 'leaf.pem');
    const keyFile = join(dir, 'leaf-key.pem');
    openssl('pkcs12', '-in', p12File, '-passin', `pass:${password}`, '-nokeys', '-clcerts', '-out', leafFile);
    openssl('pkcs12', '-in', p12File, '-passin', `pass:${password}`, '-nocerts', '-nodes', '-out', keyFile);
    expect(openssl('verify', '-CAfile', caFile, '-purpose', 'sslclient', leafFile)).toContain(': OK');
    expect(opensslFailing('verify', '-CAfile', caFile, '-purpose', 'sslserver', leafFile).status).not.toBe(0);
    expect(opensslFailing('verify', '-CAfile', otherCaFile, '-purpose', 'sslclient', leafFile).status).not.toBe(0);

    const text = openssl('x509', '-in', leafFile, '-noout', '-text');
    expect(text).toContain(`Subject: CN = ${USER}`);
    expect(text).toMatch(/Extended Key Usage:\s*\n\s*TLS Web Client Authentication\n/);
    expect(text).toMatch(/Key Usage: critical\s*\n\s*Digital Signature, Key Encipherment\n/);
    expect(text).toContain(`URI:urn:enrollgate:device:${MAC}`);
    expect(text).toContain('X509v3 Authority Key Identifier');
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('CA:FALSE');

    const leaf = new X509Certificate(await readFile(leafFile));
    expect(leaf.publicKey.export({ type: 'spki', format: 'pem' })).toBe(
      openssl('pkey', '-in', keyFile, '-pubout'),
    );
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(365);
    expect(Number.parseInt(leaf.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);
  });
});

describe('stable identifiers', () => {
  it('are the same for the same device across builds and services, and differ between devices', async () => {
    const config = configWith(Object.values(NETWORKS));
    const first = new ProfileService({ config, ca, signer });
    const second = createProfileService(config, ca); // another signing certificate, the same CA
    const a = await verifiedPlist((await first.enrollmentProfile({ mac: MAC, owner: USER })).body);
    const b = await verifiedPlist((await second.enrollmentProfile({ mac: MAC.toUpperCase().replaceAll(':', '-'), owner: USER })).body);
    const c = await verifiedPlist((await first.enrollmentProfile({ mac: OTHER_MAC, owner: USER })).body);
    // Configuration, root CA, identity and one payload per network: an identifier and a UUID each.
    expect(identifiers(a)).toHaveLength(2 * (3 + Object.keys(NETWORKS).length));
    expect(identifiers(b)).toEqual(identifiers(a));
    const uuids = (p: Plist): string[] => [p.PayloadUUID, ...(p.PayloadContent as Plist[]).map((x) => x.PayloadUUID as string)];
    expect(new Set(uuids(a)).size).toBe(uuids(a).length);
    for (const uuid of uuids(c)) expect(uuids(a)).not.toContain(uuid);
    expect(c.PayloadIdentifier).toBe('org.example.wifi.device.a85b78654321');
  });
});

describe('Passpoint provider name', () => {
  it('is the one the profile carries, and follows a reload that renames the organisation', async () => {
    const raw = validateConfig({
      portal: { organisation_name: 'Example Corp' },
      eap: { enabled: true, methods: ['tls'] },
      passpoint: { enabled: true, fqdn: 'wifi.example.org' },
    });
    const service = new ProfileService({ config: resolveConfig(raw, join(dir, 'enrollgate.yaml'), {}), ca, signer });
    const carried = async () => parsePasspointDownload(WIFI_CONFIG_TYPE, (await service.passpointProfile({ mac: MAC, owner: USER })).body).homeSp.friendlyName;
    expect(service.passpointProviderName()).toBe('Example Corp Wi-Fi');
    expect(await carried()).toBe('Example Corp Wi-Fi');
    service.rename('Northwind Logistics');
    // The page that hands the profile out names it with passpointProviderName(): both the new name.
    expect(service.passpointProviderName()).toBe('Northwind Logistics Wi-Fi');
    expect(await carried()).toBe('Northwind Logistics Wi-Fi');
  });
});

describe('root profile', () => {
  it('verifies, holds the CA alone, and is built once', async () => {
    const service = new ProfileService({ config: configWith([NETWORKS['eap-peap']]), ca, signer });
    const file = service.rootProfile();
    expect(file.filename).toBe('example-corp-root-ca.mobileconfig');
    expect(service.rootProfile()).toBe(file);
    const profile = await verifiedPlist(file.body);
    expect(profile).toMatchObject({ PayloadType: 'Configuration', PayloadIdentifier: 'org.example.wifi.root', PayloadOrganization: 'Example Corp' });
    expect(profile.PayloadContent).toHaveLength(1);
    const [root] = payloads(profile, 'com.apple.security.root');
    expect(Buffer.from(root!.PayloadContent.$data, 'base64').equals(certificateDer(ca.certPem))).toBe(true);
    expect((await verify(file.body, otherCaFile)).status).not.toBe(0);
  });
});

describe('signing certificate from files (ios.profile.signing)', () => {
  it('signs with the configured certificate and chain', async () => {
    const issued = issueProfileSigningCertificate(ca, { commonName: 'Configured signer' });
    await writeFile(join(dir, 'signer.pem'), issued.certPem);
    await writeFile(join(dir, 'signer-key.pem'), issued.keyPem);
    const config = configWith([NETWORKS.open], { signing: { cert_file: 'signer.pem', key_file: 'signer-key.pem', chain_file: 'ca.pem' } });
    const service = createProfileService(config, ca);
    const signed = join(dir, 'configured.mobileconfig');
    await writeFile(signed, service.rootProfile().body);
    expect(openssl('pkcs7', '-inform', 'der', '-in', signed, '-print_certs', '-noout')).toContain('CN = Configured signer');
    await verifiedPlist(service.rootProfile().body);
  });

  it('refuses a key file that is not a key, naming the file and not showing its contents', async () => {
    await writeFile(join(dir, 'not-a-key.pem'), 'hunter2-this-is-not-a-key\n');
    const issued = issueProfileSigningCertificate(ca);
    await writeFile(join(dir, 'signer2.pem'), issued.certPem);
    const config = configWith([], { signing: { cert_file: 'signer2.pem', key_file: 'not-a-key.pem' } });
    const error = captureError(() => createProfileService(config, ca));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`ios.profile.signing.key_file: ${join(dir, 'not-a-key.pem')} is not a PEM private key`);
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses a missing certificate file and a key of another certificate', async () => {
    const missing = captureError(() => createProfileService(configWith([], { signing: { cert_file: 'nope.pem', key_file: 'signer-key.pem' } }), ca));
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.message).toBe(`ios.profile.signing.cert_file: cannot read ${join(dir, 'nope.pem')} (ENOENT)`);

    const mismatch = captureError(() => createProfileService(configWith([], { signing: { cert_file: 'signer2.pem', key_file: 'signer-key.pem' } }), ca));
    expect(mismatch).toBeInstanceOf(ConfigError);
    expect(mismatch.message).toContain('is not the key of the certificate in');
  });
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
