import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WifiConfig } from '../../../src/config/load.js';
import { buildWlanProfile, caThumbprint, windowsSupports, wlanFilename, wlanFilenames } from '../../../src/profiles/windows-wlan-profile.js';

/**
 * The Windows WLAN profile builder, its output validated by xmllint against Microsoft's
 * WLAN_profile v1 and OneX v1 schemas (test/fixtures/windows-wlan, put together from the
 * element definitions Microsoft publishes). The EapHostConfig inside OneX's EAPConfig is in
 * a namespace those schemas leave open (lax): its elements are checked here one by one,
 * against the names and namespaces of Microsoft's published EAP profile samples.
 */

const SCHEMA = join(process.cwd(), 'test', 'fixtures', 'windows-wlan', 'wlan-profile-v1.xsd');
const work = mkdtempSync(join(tmpdir(), 'enrollgate-wlan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CA_DER = Buffer.from('3082010a0201', 'hex');
const THUMBPRINT = caThumbprint(CA_DER);

function network(over: Partial<WifiConfig> & Pick<WifiConfig, 'security'>): WifiConfig {
  return { ssid: 'Staff', hidden: false, auto_join: true, ttls_inner: 'mschapv2', ...over } as WifiConfig;
}

/** xmllint's verdict: '' when the document validates, else its complaints. */
function xmllint(xml: string): string {
  const file = join(work, `p-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  try {
    execFileSync('xmllint', ['--noout', '--schema', SCHEMA, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    return '';
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}

/** What xmllint's XPath gives for `expr` on the document. */
function xpath(xml: string, expr: string): string {
  const file = join(work, `x-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  // xmllint ends what it prints with a newline of its own.
  return execFileSync('xmllint', ['--xpath', expr, file], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().replace(/\n$/, '');
}

const named = (ns: string, name: string) => `//*[local-name()='${name}' and namespace-uri()='${ns}']`;

/** The text of the `nth` (from 1) element with this local name and namespace, as a parser reads it. */
function text(xml: string, ns: string, name: string, nth = 1): string {
  return xpath(xml, `string((${named(ns, name)})[${nth}])`);
}

/** How many elements with this local name and namespace there are. */
function count(xml: string, ns: string, name: string): number {
  return Number(xpath(xml, `count(${named(ns, name)})`));
}

const EAPHOST = 'http://www.microsoft.com/provisioning/EapHostConfig';
const COMMON = 'http://www.microsoft.com/provisioning/EapCommon';
const BASE = 'http://www.microsoft.com/provisioning/BaseEapConnectionPropertiesV1';

const NETWORKS: ReadonlyArray<[string, WifiConfig]> = [
  ['eap-peap', network({ security: 'eap-peap', server_names: ['radius.example.org', 'radius2.example.org'], outer_identity: 'anonymous@example.org' })],
  ['eap-ttls pap', network({ security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org'], outer_identity: 'anonymous@example.org' })],
  ['eap-ttls mschapv2', network({ security: 'eap-ttls', server_names: ['radius.example.org'] })],
  ['eap-tls', network({ security: 'eap-tls', server_names: ['radius.example.org'], hidden: true, auto_join: false })],
  ['wpa2-personal', network({ security: 'wpa2-personal', password: 'correct horse & <battery>' })],
  ['open', network({ security: 'open' })],
  ['a name with markup', network({ ssid: 'Café <&> "Staff"', security: 'eap-peap', server_names: ['radius.example.org'] })],
];

describe('buildWlanProfile', () => {
  it.each(NETWORKS)('%s: validates against the WLANProfile v1 and OneX v1 schemas (xmllint)', (_name, n) => {
    const xml = buildWlanProfile(n, { caThumbprint: THUMBPRINT });
    expect(xmllint(xml)).toBe('');
  });

  it('the schema check is real: a wrong value, a missing element and an element in the wrong place fail it', () => {
    const xml = buildWlanProfile(NETWORKS[0]![1], { caThumbprint: THUMBPRINT });
    expect(xmllint(xml.replace('<authentication>WPA2</authentication>', '<authentication>WPA9</authentication>'))).toMatch(/authentication/);
    expect(xmllint(xml.replace(/<connectionType>ESS<\/connectionType>\n/, ''))).toMatch(/connectionType|MSM/);
    expect(xmllint(xml.replace('<cacheUserData>true</cacheUserData>', '<cacheUserData>maybe</cacheUserData>'))).toMatch(/cacheUserData/);
  });

  it('names the SSID as text and as hex bytes, and keeps hidden and auto-join', () => {
    const xml = buildWlanProfile(network({ ssid: 'Café', security: 'eap-tls', server_names: ['r.example.org'], hidden: true, auto_join: false }), { caThumbprint: THUMBPRINT });
    const WLAN = 'http://www.microsoft.com/networking/WLAN/profile/v1';
    expect(text(xml, WLAN, 'hex')).toBe(Buffer.from('Café', 'utf8').toString('hex').toUpperCase());
    expect(text(xml, WLAN, 'name', 2)).toBe('Café');
    expect(text(xml, WLAN, 'nonBroadcast')).toBe('true');
    expect(text(xml, WLAN, 'connectionMode')).toBe('manual');
  });

  it('PEAP: EapMethod 25 by Microsoft, MSCHAPv2 (26) inside, the server pinned to our CA thumbprint and the names', () => {
    const xml = buildWlanProfile(NETWORKS[0]![1], { caThumbprint: THUMBPRINT });
    expect(text(xml, COMMON, 'Type')).toBe('25');
    expect(text(xml, COMMON, 'AuthorId')).toBe('0');
    expect([text(xml, BASE, 'Type', 1), text(xml, BASE, 'Type', 2)]).toEqual(['25', '26']);
    const PEAP = 'http://www.microsoft.com/provisioning/MsPeapConnectionPropertiesV1';
    expect(text(xml, PEAP, 'TrustedRootCA')).toBe(THUMBPRINT);
    expect(text(xml, PEAP, 'ServerNames')).toBe('radius.example.org;radius2.example.org');
    expect(text(xml, PEAP, 'DisableUserPromptForServerValidation')).toBe('true');
    expect(text(xml, 'http://www.microsoft.com/provisioning/MsChapV2ConnectionPropertiesV1', 'UseWinLogonCredentials')).toBe('false');
  });

  it('TTLS: EapMethod 21 by author 311, PAP or MSCHAPv2 inside, the anonymous outer identity, the CA hash and names', () => {
    const TTLS = 'http://www.microsoft.com/provisioning/EapTtlsConnectionPropertiesV1';
    const pap = buildWlanProfile(NETWORKS[1]![1], { caThumbprint: THUMBPRINT });
    expect([text(pap, COMMON, 'Type'), text(pap, COMMON, 'AuthorId')]).toEqual(['21', '311']);
    expect(count(pap, TTLS, 'PAPAuthentication')).toBe(1);
    expect(text(pap, TTLS, 'AnonymousIdentity')).toBe('anonymous@example.org');
    expect(text(pap, TTLS, 'TrustedRootCAHash')).toBe(THUMBPRINT);
    expect(text(pap, TTLS, 'ServerNames')).toBe('radius.example.org');
    const mschap = buildWlanProfile(NETWORKS[2]![1], { caThumbprint: THUMBPRINT });
    expect(count(mschap, TTLS, 'MSCHAPv2Authentication')).toBe(1);
    expect(text(mschap, TTLS, 'IdentityPrivacy')).toBe('false');
  });

  it('EAP-TLS: EapMethod 13, the certificate from the user store, the server pinned', () => {
    const TLS = 'http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV1';
    const xml = buildWlanProfile(NETWORKS[3]![1], { caThumbprint: THUMBPRINT });
    expect(text(xml, COMMON, 'Type')).toBe('13');
    expect(text(xml, TLS, 'SimpleCertSelection')).toBe('true');
    expect(text(xml, TLS, 'TrustedRootCA')).toBe(THUMBPRINT);
    expect(count(xml, EAPHOST, 'EapHostConfig')).toBe(1);
  });

  it('escapes markup in the SSID and the pre-shared key (the parsed text is what was configured)', () => {
    const xml = buildWlanProfile(NETWORKS[4]![1], { caThumbprint: THUMBPRINT });
    expect(text(xml, 'http://www.microsoft.com/networking/WLAN/profile/v1', 'keyMaterial')).toBe('correct horse & <battery>');
    const named = buildWlanProfile(NETWORKS[6]![1], { caThumbprint: THUMBPRINT });
    expect(text(named, 'http://www.microsoft.com/networking/WLAN/profile/v1', 'name')).toBe('Café <&> "Staff"');
  });

  it('has no profile for WPA3-Personal (SAE is not among the v1 schema\'s authentication values)', () => {
    const sae = network({ security: 'wpa3-personal', password: 'a long pass phrase' });
    expect(windowsSupports(sae)).toBe(false);
    expect(() => buildWlanProfile(sae, { caThumbprint: THUMBPRINT })).toThrow(/no Windows WLAN profile/);
  });
});

describe('caThumbprint', () => {
  it('is the SHA-1 of the DER certificate as space-separated hex pairs', () => {
    const hex = createHash('sha1').update(CA_DER).digest('hex');
    expect(THUMBPRINT.replaceAll(' ', '')).toBe(hex);
    expect(THUMBPRINT).toMatch(/^([0-9a-f]{2} ){19}[0-9a-f]{2}$/);
  });
});

describe('wlanFilename', () => {
  it.each([
    ['Northwind Staff', 'Northwind Staff.xml'],
    // A path, a percent escape a browser would decode, quotes, letters outside ASCII: each "_".
    ['../Staff%2F"Wi-Fi" ü', '_Staff_2F_Wi-Fi_ _.xml'],
    ['a\\b:c*?<>|', 'a_b_c_____.xml'],
    // Leading and trailing dots and spaces go (hidden files, names Windows trims).
    ['%41%42 ..', '_41_42.xml'],
    ['  .Staff. ', 'Staff.xml'],
    ['...', 'wifi.xml'],
    ['ü', '_.xml'],
  ])('%j is saved as %j', (ssid, file) => {
    expect(wlanFilename(ssid)).toBe(file);
  });

  // Chromium and Edge on Windows save "CON.xml" as "_CON.xml": the netsh line must name that file.
  it.each([
    ['CON', '_CON.xml'],
    ['nul', '_nul.xml'],
    ['Com1', '_Com1.xml'],
    ['LPT9', '_LPT9.xml'],
    ['aux.guest', '_aux.guest.xml'],
    ['PRN .x', '_PRN .x.xml'],
  ])('the Windows device name %j is saved as %j', (ssid, file) => {
    expect(wlanFilename(ssid)).toBe(file);
  });

  it.each(['CONSOLE', 'Com10', 'LPT0', 'icon', 'null'])('%j, not a device name, keeps its name', (ssid) => {
    expect(wlanFilename(ssid)).toBe(`${ssid}.xml`);
  });
});

describe('wlanFilenames', () => {
  it('keeps each name when none repeats', () => {
    expect(wlanFilenames(['Northwind Staff', 'Northwind Guest', 'CON'])).toEqual(['Northwind Staff.xml', 'Northwind Guest.xml', '_CON.xml']);
  });

  it('numbers a later network whose file would have an earlier one\'s name, ignoring case as Windows does', () => {
    expect(wlanFilenames(['Café', 'Cafè', 'Staff/1', 'Staff_1', 'CON', 'con', 'CAFÉ'])).toEqual([
      'Caf_.xml',
      'Caf_-2.xml',
      'Staff_1.xml',
      'Staff_1-2.xml',
      '_CON.xml',
      '_con-2.xml',
      'CAF_-3.xml',
    ]);
  });

  it('never hands out a name twice, also when a numbered name is some network\'s own', () => {
    const names = wlanFilenames(['A', 'a', 'A-2', '...', '', 'wifi', 'A']);
    expect(names).toEqual(['A.xml', 'a-2.xml', 'A-2-2.xml', 'wifi.xml', 'wifi-2.xml', 'wifi-3.xml', 'A-3.xml']);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length);
  });
});
