import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../../helpers/audit-records.js';
import { call as httpCall, type CallOptions, EDGE_UA, formOf, type Reply } from '../../helpers/http.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { download as downloadFile, leaseTo, linkOnPage, macAuthReply, pathOf as pathIn, enrollAndOpen as enrollAndOpenAs } from '../../helpers/device-requests.js';

/**
 * The Windows path over real HTTP against a real gateway (SQLite file, users file, radclient
 * as the router): the registration page, the page with one one-time link per file, and the
 * files themselves checked by their own tools: each WLAN profile by xmllint against the
 * WLAN_profile v1 schema, the CA and the PKCS#12 by openssl. enrollment.platforms.windows:
 * false refuses every way in with 403.
 */

const SCHEMA = join(process.cwd(), 'test', 'fixtures', 'windows-wlan', 'wlan-profile-v1.xsd');

let t: TestGateway;
const work = mkdtempSync(join(tmpdir(), 'enrollgate-windows-'));

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

const pathOf = (location: unknown): string => pathIn(t, location);

/** GET returning the raw bytes. */
const download = (path: string, ip: string) => downloadFile(t, path, ip, EDGE_UA);

const lease = (mac: string, ip: string) => leaseTo(t, mac, ip);

const radiusAnswer = (mac: string) => macAuthReply(t, mac);

/** Writes bytes to a file of the work directory. */
function saved(name: string, body: Buffer): string {
  const file = join(work, `${Math.random().toString(36).slice(2)}-${name}`);
  writeFileSync(file, body);
  return file;
}

/** xmllint's verdict on a WLAN profile: '' when it validates. */
function xmllint(file: string): string {
  try {
    execFileSync('xmllint', ['--noout', '--schema', SCHEMA, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    return '';
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}

/** The link whose text is `text` on a page. */
const linkTo = (page: Reply, text: string): string => linkOnPage(t, page.body, text);

function downloadsAudited(mac: string): Array<Record<string, unknown>> {
  return auditRecords(t).filter((r) => r.type === 'profile.downloaded' && r.mac === mac) as unknown as Array<Record<string, unknown>>;
}

/** Enrolls the PC at `ip` through its registration page; returns the page with its files. */
const enrollAndOpenFiles = (ip: string, mac: string) => enrollAndOpenAs(t, EDGE_UA, ip, mac, 'Set up this Windows PC');

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.portal.organisation_name = 'Example Org';
      doc.ios = {
        profile: { identifier: 'org.example.test' },
        wifi: [
          { ssid: 'Staff', security: 'eap-peap', server_names: ['radius.example.org'] },
          { ssid: 'Staff Secure', security: 'eap-tls', server_names: ['radius.example.org'] },
          // No Windows profile for SAE (v1 schema): not offered.
          { ssid: 'Guest-WPA3', security: 'wpa3-personal', password: 'a-long-guest-passphrase' },
        ],
      };
    },
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('Windows: WLAN profiles, the CA and the PKCS#12 through one-time links', () => {
  const ip = '10.31.0.1';
  const mac = '3c:31:00:00:00:01';
  let page: Reply;
  let path: string;

  it('an Edge on Windows registers and gets a page with one link per file, the netsh steps and the password once', async () => {
    ({ page, path } = await enrollAndOpenFiles(ip, mac));
    expect(page.body).toContain('<h1>Set up the Wi-Fi on this PC</h1>');
    expect(page.body).toContain('netsh wlan add profile filename="Staff.xml" user=current');
    expect(page.body).toContain('netsh wlan add profile filename="Staff Secure.xml" user=current');
    expect(page.body).not.toContain('Guest-WPA3');
    expect(page.body).toContain('certutil -user -addstore Root "example-org-root-ca.cer"');
    expect(page.body).toContain('<b>Trusted Root Certification Authorities</b>');
    expect(page.body).toContain(`<dt>Device</dt>\n<dd class="mono">${mac}</dd>`);
    expect(page.body).toMatch(/<p class="small"><a href="[^"]*\/portal\/devices">My devices<\/a><\/p>/);
    expect(page.body).toMatch(/<label for="p12-password">Certificate password[^<]*<\/label>\n<input type="text" id="p12-password" class="mono" value="[A-Za-z0-9_-]{24}" readonly/);
    expect(page.body).not.toMatch(/<script/i);
    expect(await radiusAnswer(mac)).toBe('Access-Accept');
    // The password is shown once: the page's own link is used up.
    expect((await call('GET', path, { ip, ua: EDGE_UA })).status).toBe(410);
  });

  it('each WLAN profile is an attachment named <ssid>.xml that validates against the WLAN_profile v1 schema, once', async () => {
    for (const ssid of ['Staff', 'Staff Secure']) {
      const link = linkTo(page, `Download ${ssid}.xml`);
      const first = await download(link, ip);
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toBe('application/xml');
      expect(first.headers['content-disposition']).toBe(`attachment; filename="${ssid}.xml"`);
      expect(xmllint(saved('wlan.xml', first.body))).toBe('');
      expect(first.body.toString()).toContain(`<name>${ssid}</name>`);
      expect((await download(link, ip)).status).toBe(410);
    }
  });

  it('the CA is the gateway CA in DER, once', async () => {
    const link = linkTo(page, 'Download the CA certificate');
    const first = await download(link, ip);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/pkix-cert');
    expect(first.headers['content-disposition']).toBe('attachment; filename="example-org-root-ca.cer"');
    const fingerprint = (file: string, form: string) => execFileSync('openssl', ['x509', '-inform', form, '-in', file, '-noout', '-fingerprint', '-sha256']).toString();
    expect(fingerprint(saved('ca.cer', first.body), 'der')).toBe(fingerprint(t.config.pki.ca_cert_file, 'pem'));
    expect((await download(link, ip)).status).toBe(410);
  });

  it('the PKCS#12 opens with the password shown on the page (openssl pkcs12 -info), holds this PC\'s certificate, once', async () => {
    const password = /id="p12-password" class="mono" value="([A-Za-z0-9_-]{24})"/.exec(page.body)![1]!;
    const link = linkTo(page, 'Download this PC\'s certificate');
    const first = await download(link, ip);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/x-pkcs12');
    expect(first.headers['content-disposition']).toBe('attachment; filename="example-org-wifi-identity.p12"');
    const file = saved('id.p12', first.body);
    const info = execFileSync('openssl', ['pkcs12', '-info', '-nokeys', '-in', file, '-passin', `pass:${password}`], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    expect(info).toMatch(/subject=CN ?= ?employee\n/);
    expect(info).toContain('friendlyName: employee (3c:31:00:00:00:01)');
    expect(() => execFileSync('openssl', ['pkcs12', '-info', '-nokeys', '-in', file, '-passin', 'pass:wrong'], { stdio: ['ignore', 'pipe', 'pipe'] })).toThrow();
    expect((await download(link, ip)).status).toBe(410);
  });

  it('every download is audited as profile.downloaded with its file name', () => {
    expect(downloadsAudited(mac).map((r) => r.file).sort()).toEqual(['Staff Secure.xml', 'Staff.xml', 'example-org-root-ca.cer', 'example-org-wifi-identity.p12']);
    expect(downloadsAudited(mac).every((r) => r.user === 'employee' && r.platform === 'windows')).toBe(true);
  });

  it('a link works only from the address that logged in', async () => {
    const again = await call('GET', '/portal', { ip, ua: EDGE_UA });
    const form = formOf(again);
    expect(pathOf(form.action)).toBe('/portal/profile');
    const r = await call('POST', '/portal/profile', { ip, ua: EDGE_UA, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
    expect(r.status).toBe(303);
    const other = await call('GET', pathOf(r.headers.location), { ip: '10.31.0.99', ua: EDGE_UA });
    expect(other.status).toBe(410);
  });
});

describe('Windows switched off (enrollment.platforms.windows: false): 403 on every way in', () => {
  it('the enrollment form, the new-link login, the page and a file link of an enrolled PC are refused', async () => {
    // On the way: a registration form, and an enrolled PC with a page link and a file link.
    const ip = '10.31.1.1';
    const mac = '3c:31:00:00:01:01';
    const { page } = await enrollAndOpenFiles(ip, mac);
    const fileLink = linkTo(page, 'Download Staff.xml');
    const online = await call('GET', '/portal', { ip, ua: EDGE_UA });
    const newLink = formOf(online);
    const pageAgain = await call('POST', '/portal/profile', { ip, ua: EDGE_UA, cookie: newLink.cookie, form: { _csrf: newLink.csrf, username: 'employee', password: t.employeePassword } });
    const pageLink = pathOf(pageAgain.headers.location);
    const online2 = await call('GET', '/portal', { ip, ua: EDGE_UA });
    const newLink2 = formOf(online2);
    await lease('3c:31:00:00:01:02', '10.31.1.2');
    const register = formOf(await call('GET', '/portal', { ip: '10.31.1.2', ua: EDGE_UA }));

    await t.reconfigure((doc) => {
      doc.enrollment = { ...(doc.enrollment ?? {}), platforms: { windows: false } };
    });

    await lease('3c:31:00:00:01:03', '10.31.1.3');
    const refusedStart = await call('GET', '/portal', { ip: '10.31.1.3', ua: EDGE_UA });
    expect(refusedStart.body).toContain('This Wi-Fi is not open to Windows devices.');
    expect(refusedStart.body).not.toContain('name="password"');

    const enroll = await call('POST', '/portal/enroll', { ip: '10.31.1.2', ua: EDGE_UA, cookie: register.cookie, form: { _csrf: register.csrf, username: 'employee', password: t.employeePassword } });
    expect(enroll.status).toBe(403);
    expect(await radiusAnswer('3c:31:00:00:01:02')).toBe('Access-Reject');

    const login = await call('POST', '/portal/profile', { ip, ua: EDGE_UA, cookie: newLink2.cookie, form: { _csrf: newLink2.csrf, username: 'employee', password: t.employeePassword } });
    expect(login.status).toBe(403);
    expect((await call('GET', pageLink, { ip, ua: EDGE_UA })).status).toBe(403);
    expect((await download(fileLink, ip)).status).toBe(403);
    // The online page of the enrolled PC offers no new files.
    expect((await call('GET', '/portal', { ip, ua: EDGE_UA })).body).not.toContain('Get the profile');
  });
});
