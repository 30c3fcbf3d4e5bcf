import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WifiConfig } from '../../../src/config/load.js';
import { certificateDer, createCa } from '../../../src/pki/ca.js';
import { issueDeviceIdentity } from '../../../src/pki/identity.js';
import { domainSuffix, manualSettings } from '../../../src/profiles/eap-settings.js';
import { nmcliCommand, nmcliUp, shellQuote } from '../../../src/profiles/networkmanager.js';
import { pastedNmcli } from '../../helpers/nmcli.js';

/**
 * The Linux page's `nmcli connection add` lines: each is run exactly as a person pastes it,
 * through sh (which must parse it into the intended words) into NetworkManager's own nmcli
 * with --offline, which checks every property name against its settings (nm-settings-nmcli(5)),
 * every value, and reads the certificate files the line names, then prints the keyfile it would
 * store. The keyfile is read back to see the settings arrived whole.
 */

const home = mkdtempSync(join(tmpdir(), 'enrollgate-nmcli-'));
const downloads = join(home, 'Downloads');
const CA_FILE = 'example-org-root-ca.pem';
const P12_FILE = 'example-org-wifi-identity.p12';
let p12Password: string;
afterAll(() => rmSync(home, { recursive: true, force: true }));

beforeAll(async () => {
  mkdirSync(downloads);
  const ca = createCa({ commonName: 'enrollgate nmcli test CA' });
  writeFileSync(join(downloads, CA_FILE), ca.certPem);
  const identity = await issueDeviceIdentity(ca, { user: 'employee', mac: '02:00:00:00:00:01' });
  writeFileSync(join(downloads, P12_FILE), identity.p12);
  p12Password = identity.password;
  expect(certificateDer(ca.certPem).length).toBeGreaterThan(0);
});

const files = () => ({ caFilename: CA_FILE, p12: { filename: P12_FILE, password: p12Password } });

function network(over: Partial<WifiConfig> & Pick<WifiConfig, 'security'>): WifiConfig {
  return { ssid: 'Staff', hidden: false, auto_join: true, ttls_inner: 'mschapv2', ...over } as WifiConfig;
}

/** The keyfile nmcli --offline prints for the pasted line (test/helpers/nmcli.ts). */
const pasted = (command: string) => pastedNmcli(command, home);

/** The words sh makes of a line's nmcli command, after what sets $dl (printf prints each NUL-ended). */
function words(command: string): string[] {
  const printed = command.replace(/^([^\n]*?; )?nmcli /, "$1printf '%s\\0' ");
  const out = execFileSync('/bin/sh', ['-c', printed], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
  return out.toString('utf8').split('\0').slice(0, -1);
}

/**
 * The property names of one NetworkManager setting as nmcli lists them (its "not among [...]"
 * answer to an unknown one): nmcli also takes an unambiguous abbreviation, so a property that is
 * only a prefix of a real one would pass a run and still be wrong.
 */
function propertiesOf(setting: string): string[] {
  const r = spawnSync('nmcli', ['--offline', 'connection', 'add', 'type', 'wifi', `${setting}.no-such-property`, 'x'], { encoding: 'utf8' });
  const list = /not among \[([^\]]+)\]/.exec(r.stderr)?.[1];
  if (!list) throw new Error(`nmcli listed no properties for ${setting}: ${r.stderr}`);
  return list.split(', ');
}

describe('nmcliCommand', () => {
  it('uses only whole property names of nm-settings-nmcli(5), as nmcli itself lists them for connection, wifi, wifi-sec and 802-1x', () => {
    const used = new Set<string>();
    const networks = [
      network({ security: 'eap-peap', server_names: ['radius.example.org'], outer_identity: 'anon@example.org', hidden: true, auto_join: false }),
      network({ security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org'] }),
      network({ security: 'eap-tls', server_names: ['radius.example.org'] }),
      network({ security: 'wpa2-personal', password: 'k3y-k3y-k3y' }),
      network({ security: 'wpa3-personal', password: 'k3y-k3y-k3y' }),
    ];
    for (const n of networks) for (const w of words(nmcliCommand(n, 'employee', files()))) if (/^[a-z0-9-]+\.[a-z0-9-]+$/.test(w)) used.add(w);
    expect(used.size).toBe(13);
    for (const property of used) {
      const [setting, name] = property.split('.') as [string, string];
      expect(propertiesOf(setting), property).toContain(name);
    }
  });

  it('eap-peap: nmcli --offline (NetworkManager\'s nm-settings-nmcli properties) takes the line and stores PEAP, MSCHAPv2, the identity, the CA file and every server name', () => {
    const n = network({ security: 'eap-peap', server_names: ['radius.example.org', '*.wifi.example.org'], outer_identity: 'anonymous@example.org' });
    const k = pasted(nmcliCommand(n, 'employee', files()));
    expect(k.connection).toMatchObject({ id: 'Staff', type: 'wifi' });
    expect(k.wifi).toMatchObject({ ssid: 'Staff' });
    expect(k['wifi-security']).toMatchObject({ 'key-mgmt': 'wpa-eap' });
    expect(k['802-1x']).toMatchObject({
      eap: 'peap;',
      'phase2-auth': 'mschapv2',
      identity: 'employee',
      'anonymous-identity': 'anonymous@example.org',
      'ca-cert': join(downloads, CA_FILE),
      'domain-suffix-match': 'radius.example.org;wifi.example.org',
    });
    expect(k['802-1x']!.password).toBeUndefined();
  });

  it('eap-ttls with PAP: nmcli --offline takes the line (phase2-auth pap)', () => {
    const k = pasted(nmcliCommand(network({ security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org'] }), 'employee', files()));
    expect(k['802-1x']).toMatchObject({ eap: 'ttls;', 'phase2-auth': 'pap' });
  });

  it('eap-tls: nmcli --offline takes the line with the PKCS#12 as client certificate and key, and openssl opens it with the password the line gives', () => {
    const n = network({ ssid: 'Staff Secure', security: 'eap-tls', server_names: ['radius.example.org'], hidden: true, auto_join: false });
    const k = pasted(nmcliCommand(n, 'employee', files()));
    expect(k['802-1x']).toMatchObject({ eap: 'tls;', identity: 'employee', 'client-cert': join(downloads, P12_FILE), 'private-key': join(downloads, P12_FILE), 'private-key-password': p12Password });
    expect(k['802-1x']!['phase2-auth']).toBeUndefined();
    // nmcli --offline does not open the PKCS#12: openssl does, with the password as stored.
    const info = spawnSync('openssl', ['pkcs12', '-info', '-nokeys', '-in', k['802-1x']!['client-cert']!, '-passin', `pass:${k['802-1x']!['private-key-password']!}`], { encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/subject=CN ?= ?employee/);
    expect(k.wifi).toMatchObject({ hidden: 'true' });
    expect(k.connection).toMatchObject({ autoconnect: 'false' });
  });

  it('names the files in the desktop\'s download folder as xdg-user-dirs names it: ~/Téléchargements on a French desktop, absolute', () => {
    const french = join(home, 'fr');
    mkdirSync(join(french, '.config'), { recursive: true });
    writeFileSync(join(french, '.config', 'user-dirs.dirs'), 'XDG_DOWNLOAD_DIR="$HOME/Téléchargements"\n');
    mkdirSync(join(french, 'Téléchargements'));
    for (const f of [CA_FILE, P12_FILE]) symlinkSync(join(downloads, f), join(french, 'Téléchargements', f));
    const k = pastedNmcli(nmcliCommand(network({ security: 'eap-tls', server_names: ['radius.example.org'] }), 'employee', files()), french);
    const saved = join(french, 'Téléchargements');
    expect(k['802-1x']).toMatchObject({ 'ca-cert': join(saved, CA_FILE), 'client-cert': join(saved, P12_FILE), 'private-key': join(saved, P12_FILE) });
  });

  it('falls back to ~/Downloads where xdg-user-dir is missing, the folder not configured, or the CA saved there anyway', () => {
    const peap = nmcliCommand(network({ security: 'eap-peap', server_names: ['radius.example.org'] }), 'employee', files());
    const inDownloads = { 'ca-cert': join(downloads, CA_FILE) };
    // Not configured: xdg-user-dir prints $HOME, where the CA is not.
    expect(execFileSync('xdg-user-dir', ['DOWNLOAD'], { env: { HOME: home }, encoding: 'utf8' }).trim()).toBe(home);
    expect(pasted(peap)['802-1x']).toMatchObject(inDownloads);
    // No xdg-user-dirs package: a PATH with nmcli only.
    const bin = join(home, 'bin');
    mkdirSync(bin);
    symlinkSync(execFileSync('sh', ['-c', 'command -v nmcli'], { encoding: 'utf8' }).trim(), join(bin, 'nmcli'));
    expect(spawnSync('/bin/sh', ['-c', 'command -v xdg-user-dir'], { env: { PATH: bin } }).status).not.toBe(0);
    expect(pastedNmcli(peap, home, bin)['802-1x']).toMatchObject(inDownloads);
    // Configured to a folder the files are not in: the person saved them in ~/Downloads.
    const elsewhere = join(home, 'elsewhere');
    mkdirSync(join(elsewhere, '.config'), { recursive: true });
    writeFileSync(join(elsewhere, '.config', 'user-dirs.dirs'), 'XDG_DOWNLOAD_DIR="$HOME/Descargas"\n');
    symlinkSync(downloads, join(elsewhere, 'Downloads'));
    expect(pastedNmcli(peap, elsewhere)['802-1x']).toMatchObject({ 'ca-cert': join(elsewhere, 'Downloads', CA_FILE) });
  });

  it('a line that names no file sets no download folder: it is the nmcli command alone', () => {
    expect(nmcliCommand(network({ security: 'wpa2-personal', password: 'k3y-k3y-k3y' }), 'employee', files())).toMatch(/^nmcli connection add /);
    expect(nmcliCommand(network({ security: 'eap-ttls', server_names: ['radius.example.org'] }), 'employee', files())).toMatch(/^dl="\$\(xdg-user-dir DOWNLOAD 2>\/dev\/null\)"; \[ -f "\$dl\/example-org-root-ca\.pem" \] \|\| dl="\$HOME\/Downloads"; nmcli connection add /);
  });

  it('the nmcli --offline check is real: a missing CA file, an unknown property and a wrong value are refused', () => {
    const tls = network({ security: 'eap-tls', server_names: ['radius.example.org'] });
    expect(() => pasted(nmcliCommand(tls, 'employee', files()).replace('802-1x.eap tls', '802-1x.eap tls-1.3'))).toThrow(/nmcli refused/);
    expect(() => pasted(nmcliCommand(tls, 'employee', { ...files(), caFilename: 'gone.pem' }))).toThrow(/gone\.pem/);
    expect(() => pasted(nmcliCommand(tls, 'employee', files()).replace('802-1x.domain-suffix-match', '802-1x.domain-suffix-matches'))).toThrow(/invalid property 'domain-suffix-matches'/);
  });

  it('personal and open networks: nmcli --offline takes WPA2 (wpa-psk), WPA3 (sae) and open', () => {
    expect(pasted(nmcliCommand(network({ security: 'wpa2-personal', password: 'correct horse battery' }), 'employee', files()))['wifi-security']).toMatchObject({ 'key-mgmt': 'wpa-psk', psk: 'correct horse battery' });
    expect(pasted(nmcliCommand(network({ security: 'wpa3-personal', password: 'a long pass phrase' }), 'employee', files()))['wifi-security']).toMatchObject({ 'key-mgmt': 'sae' });
    expect(pasted(nmcliCommand(network({ security: 'open' }), 'employee', files()))['wifi-security']).toBeUndefined();
  });

  it.each([['it\'s "q" $HOME `id` \\b'], ['new\nline'], ['-starts-with-dash'], ['日本語 Wi-Fi'], ['semi;colon & amp | pipe > gt']])(
    'the SSID %j reaches nmcli as one word, unexpanded, and is stored as it is',
    (ssid) => {
      const n = network({ ssid, security: 'wpa2-personal', password: `p'"$x${ssid}` });
      const command = nmcliCommand(n, "o'brien", files());
      expect(command).not.toContain('\n'.repeat(2));
      const w = words(command);
      expect(w.slice(0, 7)).toEqual(['connection', 'add', 'type', 'wifi', 'con-name', ssid, 'ssid']);
      expect(w[7]).toBe(ssid);
      expect(w[w.indexOf('wifi-sec.psk') + 1]).toBe(`p'"$x${ssid}`);
      if (!ssid.includes('\n')) expect(pasted(command).connection!.id).toBe(ssid);
      expect(words(nmcliUp(ssid))).toEqual(['--ask', 'connection', 'up', ssid]);
    },
  );

  it('refuses a file name the portal would not make, and an eap-tls network without the PKCS#12', () => {
    const tls = network({ security: 'eap-tls', server_names: ['radius.example.org'] });
    expect(() => nmcliCommand(tls, 'employee', { ...files(), caFilename: 'x"; rm -rf ~; ".pem' })).toThrow(/not a portal file name/);
    expect(() => nmcliCommand(tls, 'employee', { caFilename: CA_FILE })).toThrow(/needs the device's PKCS#12/);
  });

  it('shellQuote leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('radius.example.org')).toBe('radius.example.org');
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });
});

describe('manualSettings (what Android and Linux forms ask)', () => {
  it('PEAP, TTLS with PAP, and TLS: method, phase 2, identity, anonymous identity and domain', () => {
    expect(manualSettings(network({ security: 'eap-peap', server_names: ['radius.example.org'], outer_identity: 'anon@example.org' }), 'employee').eap).toEqual({
      method: 'PEAP',
      phase2: 'MSCHAPV2',
      identity: 'employee',
      anonymousIdentity: 'anon@example.org',
      domain: 'radius.example.org',
    });
    expect(manualSettings(network({ security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org'] }), 'employee').eap).toMatchObject({ method: 'TTLS', phase2: 'PAP' });
    const tls = manualSettings(network({ security: 'eap-tls', server_names: ['*.example.org'] }), 'employee').eap!;
    expect(tls).toEqual({ method: 'TLS', identity: 'employee', domain: 'example.org' });
  });

  it('personal networks carry their key, open ones nothing', () => {
    expect(manualSettings(network({ security: 'wpa2-personal', password: 'k3y-k3y-k3y' }), 'x')).toMatchObject({ psk: 'k3y-k3y-k3y' });
    expect(manualSettings(network({ security: 'open' }), 'x')).toEqual({ ssid: 'Staff', security: 'open', hidden: false });
  });

  it('domainSuffix: one name, the labels several names end in, never one label alone', () => {
    expect(domainSuffix(['radius.example.org'])).toBe('radius.example.org');
    expect(domainSuffix(['*.Example.org'])).toBe('example.org');
    expect(domainSuffix(['radius1.example.org', 'radius2.example.org'])).toBe('example.org');
    expect(domainSuffix(['radius.example.org', 'radius.example.com'])).toBe('radius.example.org;radius.example.com');
    expect(domainSuffix([])).toBe('');
  });
});
