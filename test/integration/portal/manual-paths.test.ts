import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../../helpers/audit-records.js';
import { download as downloadFile, leaseTo, linkOnPage, macAuthReply, pathOf as pathIn, enrollAndOpen as enrollAndOpenAs } from '../../helpers/device-requests.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { call as httpCall, formOf, type CallOptions, type Reply } from '../../helpers/http.js';
import { pastedNmcli } from '../../helpers/nmcli.js';
import { oncSpecProblems } from '../../fixtures/onc/onc-spec.js';

/**
 * The ChromeOS, Linux and agent-less Android paths over real HTTP against a real gateway
 * (SQLite file, users file, radclient as the router): registration, the page, and every file
 * checked by its own standard or tool: the ONC against the ONC spec's field table
 * (test/fixtures/onc) with its PKCS#12 opened by openssl with the empty passphrase, the Linux
 * page's nmcli line run through sh into nmcli --offline with the downloaded files, the CAs and
 * PKCS#12s by openssl. enrollment.platforms switched off refuses the pages and the files (403).
 */

const CHROMEBOOK_UA = 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const LINUX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const ANDROID_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

let t: TestGateway;
const work = mkdtempSync(join(tmpdir(), 'enrollgate-manual-'));

const call = (method: string, path: string, o: CallOptions = {}): Promise<Reply> => httpCall(t.httpUrl, method, path, o);

const pathOf = (location: unknown): string => pathIn(t, location);

/** The link whose text is `text` on a page. */
const linkTo = (page: Reply, text: string): string => linkOnPage(t, page.body, text);

/** The page's text of an element, HTML entities undone (the page escapes what it shows). */
function unescapeHtml(text: string): string {
  return text.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code))).replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const fingerprint = (file: string, form: string) => openssl('x509', '-inform', form, '-in', file, '-noout', '-fingerprint', '-sha256');

/** Enrolls the device at `ip` through its registration page; returns the page the login leads to. */
const enrollAndOpen = (ua: string, ip: string, mac: string, heading: string) => enrollAndOpenAs(t, ua, ip, mac, heading);

function downloadsAudited(mac: string): string[] {
  return auditRecords(t)
    .filter((r) => r.type === 'profile.downloaded' && r.mac === mac)
    .map((r) => String(r.file))
    .sort();
}

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.portal.organisation_name = 'Example Org';
      doc.ios = {
        profile: { identifier: 'org.example.test' },
        wifi: [
          { ssid: 'Staff', security: 'eap-peap', server_names: ['radius.example.org'], outer_identity: 'anonymous@example.org' },
          { ssid: 'Staff Secure', security: 'eap-tls', server_names: ['radius.example.org'] },
          // No ONC for SAE; Linux and Android take it.
          { ssid: "Guest's WPA3", security: 'wpa3-personal', password: 'a-long-guest-passphrase' },
        ],
      };
    },
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('ChromeOS: an ONC file for chrome://network', () => {
  const ip = '10.32.0.1';
  const mac = '3c:32:00:00:00:01';
  let page: Reply;
  let path: string;

  it('a Chromebook registers and gets the page with the download and the chrome://network steps; the page can be opened again', async () => {
    ({ page, path } = await enrollAndOpen(CHROMEBOOK_UA, ip, mac, 'Set up this Chromebook'));
    expect(page.body).toContain('<h1>Set up the Wi-Fi on this Chromebook</h1>');
    expect(page.body).toContain('<code>chrome://network</code>');
    expect(page.body).toContain('<b>Import ONC file</b>');
    expect(page.body).toContain(`<dd class="mono">${mac}</dd>`);
    expect(page.body).not.toContain('Guest');
    expect(await macAuthReply(t, mac)).toBe('Access-Accept');
    expect((await call('GET', path, { ip, ua: CHROMEBOOK_UA })).status).toBe(200);
  });

  it('the ONC checks against the ONC spec\'s field table, holds the gateway CA and a PKCS#12 that openssl opens with the empty passphrase, once', async () => {
    const link = linkTo(page, 'Download the Wi-Fi file');
    const first = await downloadFile(t, link, ip, CHROMEBOOK_UA);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/x-onc');
    expect(first.headers['content-disposition']).toBe('attachment; filename="example-org-wifi.onc"');
    const text = first.body.toString('utf8');
    expect(oncSpecProblems(text)).toEqual([]);
    const onc = JSON.parse(text) as { NetworkConfigurations: Array<{ Name: string; WiFi: { EAP?: Record<string, unknown> } }>; Certificates: Array<{ Type: string; X509?: string; PKCS12?: string }> };
    expect(onc.NetworkConfigurations.map((n) => n.Name)).toEqual(['Staff', 'Staff Secure']);
    expect(onc.NetworkConfigurations[0]!.WiFi.EAP).toMatchObject({ Outer: 'PEAP', Identity: 'employee', AnonymousIdentity: 'anonymous@example.org', UseSystemCAs: false });
    const caFile = join(work, 'onc-ca.der');
    writeFileSync(caFile, Buffer.from(onc.Certificates.find((c) => c.Type === 'Authority')!.X509!, 'base64'));
    expect(fingerprint(caFile, 'der')).toBe(fingerprint(t.config.pki.ca_cert_file, 'pem'));
    const p12File = join(work, 'onc.p12');
    writeFileSync(p12File, Buffer.from(onc.Certificates.find((c) => c.Type === 'Client')!.PKCS12!, 'base64'));
    const info = openssl('pkcs12', '-info', '-nokeys', '-in', p12File, '-passin', 'pass:');
    expect(info).toMatch(/subject=CN ?= ?employee\n/);
    expect((await downloadFile(t, link, ip, CHROMEBOOK_UA)).status).toBe(410);
    expect(downloadsAudited(mac)).toEqual(['example-org-wifi.onc']);
  });
});

describe('Linux: the settings written out and an nmcli line', () => {
  const ip = '10.32.1.1';
  const mac = '3c:32:00:00:01:01';
  const home = join(work, 'linux-home');
  let page: Reply;
  let path: string;

  it('a Linux computer registers and gets a page with the files, each network\'s settings and its nmcli line, the password once', async () => {
    ({ page, path } = await enrollAndOpen(LINUX_UA, ip, mac, 'Set up this Linux computer'));
    expect(page.body).toContain('<h1>Set up the Wi-Fi on this computer</h1>');
    expect(page.body).toContain(`<dd class="mono">${mac}</dd>`);
    for (const ssid of ['Staff', 'Staff Secure', 'Guest&#39;s WPA3']) expect(page.body).toContain(`<h3>${ssid}</h3>`);
    expect(page.body).toMatch(/<label for="p12-password">Certificate password[^<]*<\/label>\n<input type="text" id="p12-password" class="mono" value="[A-Za-z0-9_-]{24}" readonly/);
    expect(page.body).toContain('<dd class="mono">radius.example.org</dd>');
    expect((await call('GET', path, { ip, ua: LINUX_UA })).status).toBe(410);
    // A file's one-time link is no page link: it opens no new page with a new certificate (and is not used up: the CA downloads below).
    const asPage = await call('GET', `/portal/profile?d=${linkTo(page, 'Download the CA certificate').split('/').pop()!}`, { ip, ua: LINUX_UA });
    expect(asPage.status).toBe(410);
    expect(asPage.body).not.toContain('p12-password');
  });

  it('with the CA (PEM) and the PKCS#12 saved in ~/Downloads, every nmcli line on the page runs through sh into nmcli --offline', async () => {
    mkdirSync(join(home, 'Downloads'), { recursive: true });
    const ca = await downloadFile(t, linkTo(page, 'Download the CA certificate'), ip, LINUX_UA);
    expect(ca.headers['content-disposition']).toBe('attachment; filename="example-org-root-ca.pem"');
    writeFileSync(join(home, 'Downloads', 'example-org-root-ca.pem'), ca.body);
    expect(fingerprint(join(home, 'Downloads', 'example-org-root-ca.pem'), 'pem')).toBe(fingerprint(t.config.pki.ca_cert_file, 'pem'));
    const p12 = await downloadFile(t, linkTo(page, "Download this computer's certificate"), ip, LINUX_UA);
    writeFileSync(join(home, 'Downloads', 'example-org-wifi-identity.p12'), p12.body);
    const commands = [...page.body.matchAll(/<h3>[^<]*<\/h3>\n<p class="url mono">([^<]+)</g)].map((m) => unescapeHtml(m[1]!));
    expect(commands).toHaveLength(3);
    const [peap, tls, sae] = commands.map((c) => pastedNmcli(c, home));
    expect(peap!['802-1x']).toMatchObject({ eap: 'peap;', 'phase2-auth': 'mschapv2', identity: 'employee', 'ca-cert': join(home, 'Downloads', 'example-org-root-ca.pem') });
    expect(tls!['802-1x']).toMatchObject({ eap: 'tls;', 'client-cert': join(home, 'Downloads', 'example-org-wifi-identity.p12') });
    const password = tls!['802-1x']!['private-key-password']!;
    expect(openssl('pkcs12', '-info', '-nokeys', '-in', join(home, 'Downloads', 'example-org-wifi-identity.p12'), '-passin', `pass:${password}`)).toMatch(/subject=CN ?= ?employee\n/);
    expect(sae!.connection!.id).toBe("Guest's WPA3");
    expect(sae!['wifi-security']).toMatchObject({ 'key-mgmt': 'sae', psk: 'a-long-guest-passphrase' });
    expect(downloadsAudited(mac)).toEqual(['example-org-root-ca.pem', 'example-org-wifi-identity.p12']);
  });
});

describe('Android without an agent: the settings to enter by hand', () => {
  const ip = '10.32.2.1';
  const mac = '3c:32:00:00:02:01';
  let page: Reply;

  it('an Android phone registers (no agent configured) and gets the CA (.crt, DER), the PKCS#12 with its password, and each network\'s settings', async () => {
    ({ page } = await enrollAndOpen(ANDROID_UA, ip, mac, 'Set up this Android device'));
    expect(page.body).toContain('<h1>Set up the Wi-Fi on this Android device</h1>');
    expect(page.body).toContain('<dt>EAP method</dt>\n<dd class="mono">PEAP</dd>');
    expect(page.body).toContain('<dt>Phase 2 authentication</dt>\n<dd class="mono">MSCHAPV2</dd>');
    expect(page.body).toContain('<dt>Domain</dt>\n<dd class="mono">radius.example.org</dd>');
    expect(page.body).toContain('<dt>Identity</dt>\n<dd class="mono">employee</dd>');
    expect(page.body).toContain('<dt>Anonymous identity</dt>\n<dd class="mono">anonymous@example.org</dd>');
    const ca = await downloadFile(t, linkTo(page, 'Download the CA certificate'), ip, ANDROID_UA);
    expect(ca.headers['content-type']).toBe('application/x-x509-ca-cert');
    expect(ca.headers['content-disposition']).toBe('attachment; filename="example-org-root-ca.crt"');
    writeFileSync(join(work, 'android.crt'), ca.body);
    expect(fingerprint(join(work, 'android.crt'), 'der')).toBe(fingerprint(t.config.pki.ca_cert_file, 'pem'));
    const password = /id="p12-password" class="mono" value="([A-Za-z0-9_-]{24})"/.exec(page.body)![1]!;
    const p12 = await downloadFile(t, linkTo(page, "Download this device's certificate"), ip, ANDROID_UA);
    writeFileSync(join(work, 'android.p12'), p12.body);
    expect(openssl('pkcs12', '-info', '-nokeys', '-in', join(work, 'android.p12'), '-passin', `pass:${password}`)).toMatch(/subject=CN ?= ?employee\n/);
    expect(await macAuthReply(t, mac)).toBe('Access-Accept');
  });
});

describe('switched off in enrollment.platforms: 403 on the pages and files; with an agent, Android gets the agent page', () => {
  it('a Chromebook\'s and a Linux computer\'s page and file links are refused, and new ones start at the refusal', async () => {
    const cros = await enrollAndOpen(CHROMEBOOK_UA, '10.32.3.1', '3c:32:00:00:03:01', 'Set up this Chromebook');
    const onc = linkTo(cros.page, 'Download the Wi-Fi file');
    // A second Linux page link, opened only after the switch.
    await leaseTo(t, '3c:32:00:00:03:02', '10.32.3.2');
    const register = formOf(await call('GET', '/portal', { ip: '10.32.3.2', ua: LINUX_UA }));
    const enrolled = await call('POST', '/portal/enroll', { ip: '10.32.3.2', ua: LINUX_UA, cookie: register.cookie, form: { _csrf: register.csrf, username: 'employee', password: t.employeePassword } });
    const linuxPage = pathOf(enrolled.headers.location);

    await t.reconfigure((doc) => {
      doc.enrollment = { ...(doc.enrollment ?? {}), platforms: { chromeos: false, linux: false, android: false } };
    });
    expect((await call('GET', cros.path, { ip: '10.32.3.1', ua: CHROMEBOOK_UA })).status).toBe(403);
    expect((await downloadFile(t, onc, '10.32.3.1', CHROMEBOOK_UA)).status).toBe(403);
    expect((await call('GET', linuxPage, { ip: '10.32.3.2', ua: LINUX_UA })).status).toBe(403);
    for (const [ua, name] of [[CHROMEBOOK_UA, 'Chromebook'], [LINUX_UA, 'Linux'], [ANDROID_UA, 'Android']] as const) {
      await leaseTo(t, '3c:32:00:00:03:09', '10.32.3.9');
      const start = await call('GET', '/portal', { ip: '10.32.3.9', ua });
      expect(start.body).toContain(`This Wi-Fi is not open to ${name} devices.`);
      expect(start.body).not.toContain('name="password"');
    }
  });

  it('with android.agent set, an Android phone gets the agent page again, not the registration', async () => {
    await t.reconfigure((doc) => {
      doc.enrollment = { ...(doc.enrollment ?? {}), platforms: {} };
      doc.android = { agent: { version: '1.0.0', url: 'https://downloads.example.org/agent' } };
    });
    await leaseTo(t, '3c:32:00:00:04:01', '10.32.4.1');
    const start = await call('GET', '/portal', { ip: '10.32.4.1', ua: ANDROID_UA });
    expect(start.body).toContain('<h1>Set up this Android device</h1>');
    expect(start.body).toContain('Download the agent');
    expect(start.body).not.toContain('name="password"');
  });
});
