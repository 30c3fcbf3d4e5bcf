import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WifiConfig } from '../../../src/config/load.js';
import { certificateDer, createCa, type CertificateAuthority } from '../../../src/pki/ca.js';
import { buildOnc, chromeosSupports } from '../../../src/profiles/chromeos-onc.js';

/**
 * The ChromeOS ONC builder, its output checked against a table of the fields and allowed
 * values of the ONC spec (Open Network Configuration, Chromium's components/onc/docs/onc_spec.md),
 * transcribed below for the types this builder writes; openssl opens the client PKCS#12 with
 * the empty passphrase the spec requires.
 */

type FieldType = 'string' | 'boolean' | 'integer' | 'string[]' | 'object' | 'object[]';
interface Field {
  readonly type: FieldType;
  /** The spec's "Allowed values are" list, when it has one. */
  readonly values?: readonly string[];
  /** The object type of an object or object[] field. */
  readonly of?: string;
}

/** The ONC spec's field table (UnencryptedConfiguration, NetworkConfiguration, WiFi, EAP, Certificate). */
const SPEC: Readonly<Record<string, Readonly<Record<string, Field>>>> = {
  UnencryptedConfiguration: {
    Type: { type: 'string', values: ['UnencryptedConfiguration'] },
    NetworkConfigurations: { type: 'object[]', of: 'NetworkConfiguration' },
    Certificates: { type: 'object[]', of: 'Certificate' },
    GlobalNetworkConfiguration: { type: 'object', of: 'Unchecked' },
  },
  NetworkConfiguration: {
    GUID: { type: 'string' },
    Name: { type: 'string' },
    Remove: { type: 'boolean' },
    Type: { type: 'string', values: ['Cellular', 'Ethernet', 'WiFi', 'VPN'] },
    WiFi: { type: 'object', of: 'WiFi' },
    Priority: { type: 'integer' },
    Metered: { type: 'boolean' },
    IPAddressConfigType: { type: 'string', values: ['DHCP', 'Static'] },
    NameServersConfigType: { type: 'string', values: ['DHCP', 'Static'] },
    ProxySettings: { type: 'object', of: 'Unchecked' },
    StaticIPConfig: { type: 'object', of: 'Unchecked' },
  },
  WiFi: {
    AllowGatewayARPPolling: { type: 'boolean' },
    AutoConnect: { type: 'boolean' },
    EAP: { type: 'object', of: 'EAP' },
    HexSSID: { type: 'string' },
    HiddenSSID: { type: 'boolean' },
    Passphrase: { type: 'string' },
    Security: { type: 'string', values: ['None', 'WEP-PSK', 'WEP-8021X', 'WPA-PSK', 'WPA-EAP'] },
    SSID: { type: 'string' },
  },
  EAP: {
    AnonymousIdentity: { type: 'string' },
    ClientCertPKCS11Id: { type: 'string' },
    ClientCertPattern: { type: 'object', of: 'Unchecked' },
    ClientCertRef: { type: 'string' },
    ClientCertType: { type: 'string', values: ['PKCS11Id', 'Pattern', 'Ref', 'None'] },
    Identity: { type: 'string' },
    Inner: { type: 'string', values: ['Automatic', 'MD5', 'MSCHAP', 'MSCHAPv2', 'PAP', 'CHAP', 'GTC'] },
    // MSCHAPv2 is an Outer value only for IPsec-IKEv2 VPNs, not for WiFi.
    Outer: { type: 'string', values: ['LEAP', 'EAP-AKA', 'EAP-FAST', 'EAP-TLS', 'EAP-TTLS', 'EAP-SIM', 'PEAP'] },
    Password: { type: 'string' },
    SaveCredentials: { type: 'boolean' },
    ServerCAPEMs: { type: 'string[]' },
    ServerCARefs: { type: 'string[]' },
    ServerCARef: { type: 'string' },
    SubjectMatch: { type: 'string' },
    SubjectAlternativeNameMatch: { type: 'object[]', of: 'Unchecked' },
    DomainSuffixMatch: { type: 'string[]' },
    TLSVersionMax: { type: 'string', values: ['1.0', '1.1', '1.2'] },
    UseSystemCAs: { type: 'boolean' },
    UseProactiveKeyCaching: { type: 'boolean' },
  },
  Certificate: {
    GUID: { type: 'string' },
    PKCS12: { type: 'string' },
    Remove: { type: 'boolean' },
    Scope: { type: 'object', of: 'Unchecked' },
    TrustBits: { type: 'string[]' },
    Type: { type: 'string', values: ['Client', 'Server', 'Authority'] },
    X509: { type: 'string' },
  },
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeOk(v: unknown, t: FieldType): boolean {
  switch (t) {
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
      return Number.isInteger(v);
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object':
      return isObj(v);
    case 'object[]':
      return Array.isArray(v) && v.every(isObj);
  }
}

/** Fields, types and allowed values of one object against the table, recursively. */
function fieldProblems(value: Obj, typeName: string, path: string): string[] {
  if (typeName === 'Unchecked') return [];
  const table = SPEC[typeName]!;
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const field = table[key];
    if (!field) {
      out.push(`${path}.${key}: not a field of ${typeName}`);
      continue;
    }
    if (!typeOk(v, field.type)) out.push(`${path}.${key}: not a ${field.type}`);
    else if (field.values && !field.values.includes(v as string)) out.push(`${path}.${key}: ${JSON.stringify(v)} is not one of ${field.values.join(', ')}`);
    else if (field.of && field.type === 'object') out.push(...fieldProblems(v as Obj, field.of, `${path}.${key}`));
    else if (field.of) (v as Obj[]).forEach((o, i) => out.push(...fieldProblems(o, field.of!, `${path}.${key}[${i}]`)));
  }
  return out;
}

/** The spec's "required" and "must"/"must not" rules for the fields this builder writes. */
function ruleProblems(onc: Obj): string[] {
  const out: string[] = [];
  const req = (o: Obj, key: string, path: string, why: string) => {
    if (o[key] === undefined || o[key] === '') out.push(`${path}.${key}: required (${why})`);
  };
  for (const [i, n] of ((onc.NetworkConfigurations ?? []) as Obj[]).entries()) {
    const p = `NetworkConfigurations[${i}]`;
    req(n, 'GUID', p, 'always');
    req(n, 'Name', p, 'Remove is false');
    req(n, 'Type', p, 'Remove is false');
    if (n.Type === 'WiFi') req(n, 'WiFi', p, 'Type is WiFi');
    const w = (n.WiFi ?? {}) as Obj;
    req(w, 'Security', `${p}.WiFi`, 'always');
    if (w.SSID === undefined && w.HexSSID === undefined) out.push(`${p}.WiFi: one of SSID or HexSSID`);
    if (w.Security === 'WPA-PSK' || w.Security === 'WEP-PSK') req(w, 'Passphrase', `${p}.WiFi`, 'Security is a PSK');
    if (w.Security === 'WPA-EAP' || w.Security === 'WEP-8021X') req(w, 'EAP', `${p}.WiFi`, 'Security is 802.1X');
    const e = w.EAP as Obj | undefined;
    if (!e) continue;
    req(e, 'Outer', `${p}.WiFi.EAP`, 'always');
    if (e.ServerCARef !== undefined && e.ServerCARefs !== undefined) out.push(`${p}.WiFi.EAP: at most one of ServerCARefs and ServerCARef`);
    if (Array.isArray(e.ServerCARefs) && e.ServerCARefs.length === 0) out.push(`${p}.WiFi.EAP.ServerCARefs: must be non-empty`);
    if ((e.Identity !== undefined || e.Password !== undefined) && e.SaveCredentials !== true) out.push(`${p}.WiFi.EAP: Identity or Password with SaveCredentials false`);
    if (e.ClientCertType === 'Ref') req(e, 'ClientCertRef', `${p}.WiFi.EAP`, 'ClientCertType is Ref');
    if (e.Inner !== undefined && !['PEAP', 'EAP-TTLS', 'EAP-FAST'].includes(e.Outer as string)) out.push(`${p}.WiFi.EAP.Inner: only for tunnelling Outer methods`);
    if (e.AnonymousIdentity !== undefined && !['PEAP', 'EAP-TTLS'].includes(e.Outer as string)) out.push(`${p}.WiFi.EAP.AnonymousIdentity: only for PEAP and EAP-TTLS`);
  }
  for (const [i, c] of ((onc.Certificates ?? []) as Obj[]).entries()) {
    const p = `Certificates[${i}]`;
    req(c, 'GUID', p, 'always');
    req(c, 'Type', p, 'Remove is false');
    if (c.Type === 'Client') req(c, 'PKCS12', p, 'Type is Client');
    if (c.Type === 'Server' || c.Type === 'Authority') req(c, 'X509', p, 'Type is Server or Authority');
  }
  // "Any GUID referred to in an ONC file must be present in the same ONC file."
  const defined = new Set(((onc.Certificates ?? []) as Obj[]).map((c) => c.GUID));
  for (const [i, n] of ((onc.NetworkConfigurations ?? []) as Obj[]).entries()) {
    const e = ((n.WiFi ?? {}) as Obj).EAP as Obj | undefined;
    const refs = [...((e?.ServerCARefs ?? []) as string[]), ...(e?.ServerCARef !== undefined ? [e.ServerCARef] : []), ...(e?.ClientCertRef !== undefined ? [e.ClientCertRef] : [])];
    for (const ref of refs) if (!defined.has(ref)) out.push(`NetworkConfigurations[${i}].WiFi.EAP: ${String(ref)} is not in this file's Certificates`);
  }
  const guids = [...((onc.NetworkConfigurations ?? []) as Obj[]), ...((onc.Certificates ?? []) as Obj[])].map((o) => o.GUID);
  if (new Set(guids).size !== guids.length) out.push('GUIDs: two entities share one');
  return out;
}

function specProblems(text: string): string[] {
  const onc = JSON.parse(text) as Obj;
  return [...fieldProblems(onc, 'UnencryptedConfiguration', 'ONC'), ...ruleProblems(onc)];
}

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
    expect(specProblems(buildOnc([n], context()))).toEqual([]);
  });

  it('all networks in one file check against the ONC spec\'s field table, and the file says it is unencrypted', () => {
    const text = buildOnc(NETWORKS.map(([, n]) => n), context());
    expect(specProblems(text)).toEqual([]);
    expect(JSON.parse(text).Type).toBe('UnencryptedConfiguration');
  });

  it('the ONC spec table check is real: an unknown field, a wrong value, a wrong type and a missing reference fail it', () => {
    const text = buildOnc([NETWORKS[0]![1]], context());
    // A tunnelling method's Inner and AnonymousIdentity are then out of place too.
    expect(specProblems(text.replace('"Outer": "PEAP"', '"Outer": "PEAPv0"'))).toEqual(expect.arrayContaining([expect.stringMatching(/Outer: "PEAPv0" is not one of/)]));
    expect(specProblems(text.replace('"Security": "WPA-EAP"', '"Security": "WPA2-EAP"'))).toEqual([expect.stringMatching(/Security: "WPA2-EAP"/)]);
    expect(specProblems(text.replace('"UseSystemCAs": false', '"UseSystemCAs": "false"'))).toEqual([expect.stringMatching(/UseSystemCAs: not a boolean/)]);
    expect(specProblems(text.replace('"Inner"', '"InnerMethod"'))).toEqual([expect.stringMatching(/InnerMethod: not a field of EAP/)]);
    expect(specProblems(text.replace('"SaveCredentials": true', '"SaveCredentials": false'))).toEqual([expect.stringMatching(/SaveCredentials false/)]);
    const caGuid = (JSON.parse(text) as { Certificates: Array<{ GUID: string }> }).Certificates[0]!.GUID;
    expect(specProblems(text.replace(`"ServerCARefs": [\n            "${caGuid}"`, '"ServerCARefs": [\n            "{elsewhere}"'))).toEqual([expect.stringMatching(/\{elsewhere\} is not in this file/)]);
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
