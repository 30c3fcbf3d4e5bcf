import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WifiConfig } from '../../../src/config/load.js';
import { certificateDer, createCa, type CertificateAuthority } from '../../../src/pki/ca.js';
import { buildOnc, chromeosSupports } from '../../../src/profiles/chromeos-onc.js';
import { oncSpecProblems } from '../../fixtures/onc/onc-spec.js';

/**
 * The ChromeOS ONC builder, its output checked against a table of the fields and allowed
 * values of the ONC spec (Open Network Configuration, Chromium's components/onc/docs/onc_spec.md),
 * transcribed in test/fixtures/onc/onc-spec.ts for the types this builder writes; openssl opens
 * the client PKCS#12 with the empty passphrase the spec requires.
 */

const work = mkdtempSync(join(tmpdir(), 'enrollgate-onc-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const GUID_KEY = Buffer.alloc(32, 7);
let ca: CertificateAuthority;
let caDer: Buffer;
/** A client identity packed with an empty passphrase, and the same with a password. */
let p12: Buffer;
let p12WithPassword: Buffer;

beforeAll(() => {
  ca = createCa({ commonName: 'enrollgate ONC test CA' });
  caDer = certificateDer(ca.certPem);
  const key = join(work, 'client.key');
  const cert = join(work, 'client.pem');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=employee', '-days', '1');
  openssl('pkcs12', '-export', '-inkey', key, '-in', cert, '-passout', 'pass:', '-out', join(work, 'empty.p12'));
  openssl('pkcs12', '-export', '-inkey', key, '-in', cert, '-passout', 'pass:not-empty', '-out', join(work, 'password.p12'));
  p12 = readFileSync(join(work, 'empty.p12'));
  p12WithPassword = readFileSync(join(work, 'password.p12'));
});

const context = () => ({ caDer, guidKey: GUID_KEY, user: 'employee', clientPkcs12: p12 });

function network(over: Partial<WifiConfig> & Pick<WifiConfig, 'security'>): WifiConfig {
  return { ssid: 'Staff', hidden: false, auto_join: true, ttls_inner: 'mschapv2', ...over } as WifiConfig;
}

const NETWORKS: ReadonlyArray<[string, WifiConfig]> = [
  ['eap-peap', network({ security: 'eap-peap', server_names: ['radius.example.org', 'radius2.example.org'], outer_identity: 'anonymous@example.org' })],
  ['eap-ttls pap', network({ ssid: 'Staff-TTLS', security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org'] })],
  ['eap-ttls mschapv2', network({ ssid: 'Staff-TTLS2', security: 'eap-ttls', server_names: ['radius.example.org'] })],
  ['eap-tls', network({ ssid: 'Staff-TLS', security: 'eap-tls', server_names: ['*.example.org'], hidden: true, auto_join: false })],
  ['wpa2-personal', network({ ssid: 'Guest', security: 'wpa2-personal', password: 'correct horse "battery"' })],
  ['open', network({ ssid: 'Lobby', security: 'open' })],
];

type Eap = Record<string, unknown>;
const parsed = (text: string) =>
  JSON.parse(text) as { NetworkConfigurations: Array<{ GUID: string; Name: string; WiFi: Record<string, unknown> & { EAP?: Eap } }>; Certificates: Array<Record<string, string>> };

describe('buildOnc', () => {
  it.each(NETWORKS)('%s: checks against the ONC spec\'s field table (fields, types, allowed values, required and exclusive fields)', (_name, n) => {
    expect(oncSpecProblems(buildOnc([n], context()))).toEqual([]);
  });

  it('all networks in one file check against the ONC spec\'s field table, and the file says it is unencrypted', () => {
    const text = buildOnc(NETWORKS.map(([, n]) => n), context());
    expect(oncSpecProblems(text)).toEqual([]);
    expect(JSON.parse(text).Type).toBe('UnencryptedConfiguration');
  });

  it('the ONC spec table check is real: an unknown field, a wrong value, a wrong type and a missing reference fail it', () => {
    const text = buildOnc([NETWORKS[0]![1]], context());
    // A tunnelling method's Inner and AnonymousIdentity are then out of place too.
    expect(oncSpecProblems(text.replace('"Outer": "PEAP"', '"Outer": "PEAPv0"'))).toEqual(expect.arrayContaining([expect.stringMatching(/Outer: "PEAPv0" is not one of/)]));
    expect(oncSpecProblems(text.replace('"Security": "WPA-EAP"', '"Security": "WPA2-EAP"'))).toEqual([expect.stringMatching(/Security: "WPA2-EAP"/)]);
    expect(oncSpecProblems(text.replace('"UseSystemCAs": false', '"UseSystemCAs": "false"'))).toEqual([expect.stringMatching(/UseSystemCAs: not a boolean/)]);
    expect(oncSpecProblems(text.replace('"Inner"', '"InnerMethod"'))).toEqual([expect.stringMatching(/InnerMethod: not a field of EAP/)]);
    expect(oncSpecProblems(text.replace('"SaveCredentials": true', '"SaveCredentials": false'))).toEqual([expect.stringMatching(/SaveCredentials false/)]);
    const caGuid = (JSON.parse(text) as { Certificates: Array<{ GUID: string }> }).Certificates[0]!.GUID;
    expect(oncSpecProblems(text.replace(`"ServerCARefs": [\n            "${caGuid}"`, '"ServerCARefs": [\n            "{elsewhere}"'))).toEqual([expect.stringMatching(/\{elsewhere\} is not in this file/)]);
  });

  it('every ServerCARefs and ClientCertRef names a Certificates entry of the right Type, and no two GUIDs are equal', () => {
    const onc = parsed(buildOnc(NETWORKS.map(([, n]) => n), context()));
    const byGuid = new Map(onc.Certificates.map((c) => [c.GUID, c]));
    const eaps = onc.NetworkConfigurations.map((n) => n.WiFi.EAP).filter((e): e is Eap => e !== undefined);
    expect(eaps).toHaveLength(4);
    for (const eap of eaps) {
      const refs = eap.ServerCARefs as string[];
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(byGuid.get(ref)?.Type).toBe('Authority');
      expect(eap.UseSystemCAs).toBe(false);
      if (eap.Outer === 'EAP-TLS') {
        expect(eap.ClientCertType).toBe('Ref');
        expect(byGuid.get(eap.ClientCertRef as string)?.Type).toBe('Client');
      } else {
        expect(eap.ClientCertRef).toBeUndefined();
      }
    }
    const guids = [...onc.NetworkConfigurations.map((n) => n.GUID), ...onc.Certificates.map((c) => c.GUID)];
    expect(new Set(guids).size).toBe(guids.length);
  });

  it('the GUIDs stay the same between downloads (a second import updates the network instead of adding one)', () => {
    const a = parsed(buildOnc([NETWORKS[0]![1]], context()));
    const b = parsed(buildOnc([NETWORKS[0]![1]], context()));
    expect(b.NetworkConfigurations[0]!.GUID).toBe(a.NetworkConfigurations[0]!.GUID);
    expect(b.Certificates[0]!.GUID).toBe(a.Certificates[0]!.GUID);
  });

  it('the CA\'s X509 decodes (node:crypto) as the gateway CA', () => {
    const onc = parsed(buildOnc([NETWORKS[0]![1]], context()));
    const authority = onc.Certificates.find((c) => c.Type === 'Authority')!;
    const decoded = new X509Certificate(Buffer.from(authority.X509!, 'base64'));
    const gateway = new X509Certificate(ca.certPem);
    expect(decoded.fingerprint256).toBe(gateway.fingerprint256);
    expect(decoded.ca).toBe(true);
    expect(decoded.subject).toBe('CN=enrollgate ONC test CA');
  });

  it('the client PKCS12 opens in openssl with the empty passphrase the ONC spec requires, holding the client certificate', () => {
    const onc = parsed(buildOnc([NETWORKS[3]![1]], context()));
    const client = onc.Certificates.find((c) => c.Type === 'Client')!;
    const file = join(work, 'from-onc.p12');
    writeFileSync(file, Buffer.from(client.PKCS12!, 'base64'));
    const info = spawnSync('openssl', ['pkcs12', '-info', '-nokeys', '-in', file, '-passin', 'pass:'], { encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/subject=.*CN\s*=\s*employee/);
  });

  it('refuses a PKCS#12 with a password (ChromeOS would fail the import), and eap-tls without one', () => {
    expect(() => buildOnc([NETWORKS[3]![1]], { ...context(), clientPkcs12: p12WithPassword })).toThrow(/empty passphrase/);
    expect(() => buildOnc([NETWORKS[3]![1]], { caDer, guidKey: GUID_KEY, user: 'employee' })).toThrow(/PKCS#12/);
  });

  it('has no Client certificate when no network is eap-tls', () => {
    const onc = parsed(buildOnc([NETWORKS[0]![1], NETWORKS[4]![1]], context()));
    expect(onc.Certificates.map((c) => c.Type)).toEqual(['Authority']);
  });

  it('PEAP and TTLS: outer and inner methods, the identity, the anonymous identity and the RADIUS server names', () => {
    const [peap, pap, mschap] = parsed(buildOnc(NETWORKS.slice(0, 3).map(([, n]) => n), context())).NetworkConfigurations.map((n) => n.WiFi.EAP!);
    expect(peap).toMatchObject({ Outer: 'PEAP', Inner: 'MSCHAPv2', Identity: 'employee', AnonymousIdentity: 'anonymous@example.org', DomainSuffixMatch: ['radius.example.org', 'radius2.example.org'] });
    expect(peap!.Password).toBeUndefined();
    expect(pap).toMatchObject({ Outer: 'EAP-TTLS', Inner: 'PAP', DomainSuffixMatch: ['radius.example.org'] });
    expect(pap!.AnonymousIdentity).toBeUndefined();
    expect(mschap).toMatchObject({ Outer: 'EAP-TTLS', Inner: 'MSCHAPv2' });
  });

  it('EAP-TLS: no Inner, the wildcard server name as a domain suffix, hidden and not auto-connecting kept', () => {
    const wifi = parsed(buildOnc([NETWORKS[3]![1]], context())).NetworkConfigurations[0]!.WiFi;
    expect(wifi).toMatchObject({ SSID: 'Staff-TLS', Security: 'WPA-EAP', HiddenSSID: true, AutoConnect: false });
    expect(wifi.EAP).toMatchObject({ Outer: 'EAP-TLS', Identity: 'employee', DomainSuffixMatch: ['example.org'] });
    expect(wifi.EAP!.Inner).toBeUndefined();
  });

  it('special characters in SSIDs and the pre-shared key survive JSON', () => {
    const ssids = ['Café "Staff"', 'back\\slash', 'tab\tand\nnewline', '</script><b>', '日本語 Wi-Fi 📶', '\u2028line sep'];
    const networks = ssids.map((ssid) => network({ ssid, security: 'wpa2-personal', password: `p"\\${ssid}` }));
    const onc = parsed(buildOnc(networks, context()));
    expect(onc.NetworkConfigurations.map((n) => n.WiFi.SSID)).toEqual(ssids);
    expect(onc.NetworkConfigurations.map((n) => n.Name)).toEqual(ssids);
    expect(onc.NetworkConfigurations.map((n) => n.WiFi.Passphrase)).toEqual(ssids.map((s) => `p"\\${s}`));
    expect(new Set(onc.NetworkConfigurations.map((n) => n.GUID)).size).toBe(ssids.length);
  });

  it('has no ONC for WPA3-Personal (the spec\'s WiFi.Security has no SAE)', () => {
    const sae = network({ security: 'wpa3-personal', password: 'a long pass phrase' });
    expect(chromeosSupports(sae)).toBe(false);
    expect(() => buildOnc([sae], context())).toThrow(/no ChromeOS ONC/);
  });
});
