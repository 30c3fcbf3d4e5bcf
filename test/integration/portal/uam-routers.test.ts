import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call as httpCall, handoffTarget, formOf, type CallOptions, type Reply } from '../../helpers/http.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { accountingStart, radclient } from '../../helpers/radclient.js';
import { Backdoor } from '../../helpers/raw-nas.js';
import { parseMac } from '../../../src/mac.js';

/**
 * The MikroTik hotspot and openNDS FAS level 1 logins end to end. The test plays the
 * router from the published formulas, with node:crypto only and no src imports:
 * - MikroTik (RouterOS manual, HTTP-CHAP): login.html passes $(chap-id) and $(chap-challenge)
 *   octal-escaped; md5.js sends password = hex MD5(chap-id ‖ password ‖ chap-challenge); the
 *   router then sends an Access-Request with CHAP-Password = chap-id ‖ that MD5 and
 *   CHAP-Challenge = chap-challenge.
 * - openNDS (fas.rst level 1, fas-hid.php): the redirect carries hid; the FAS authorises with
 *   http://<gatewayaddress>/<authdir>/?tok=<hex SHA-256(hid ‖ faskey)>&redir=…
 */

function call(t: TestGateway, method: string, path: string, o: CallOptions): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

/** Opens the registration form the router's redirect leads to and enrolls as "employee". */
async function enrollFrom(t: TestGateway, path: string, ip: string): Promise<Reply> {
  const page = await call(t, 'GET', path, { ip });
  expect(page.status).toBe(200);
  const form = formOf(page);
  return call(t, 'POST', '/portal/enroll', { ip, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
}

/** The router's accounting: this device has `ip` (what the portal trusts first). */
const lease = (t: TestGateway, mac: string, ip: string) => accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, ip);

function leaving(reply: Reply): URL {
  return handoffTarget(reply);
}

/** RouterOS's $(chap-id) / $(chap-challenge): every octet as a three-digit octal escape. */
const octal = (b: Buffer): string => [...b].map((o) => `\\${o.toString(8).padStart(3, '0')}`).join('');

describe('MikroTik hotspot with an external login page (HTTP-CHAP)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      configure: (doc) => {
        doc.portal.trust_proxy = true;
        doc.radius.clients = [{ name: 'hotspot', address: '127.0.0.1', secret: TEST_NAS_SECRET, profile: 'mikrotik', uam: { kind: 'mikrotik', address: '10.5.50.1' } }];
      },
    });
  });
  afterAll(async () => t?.close());

  function redirect(p: { mac: string; ip: string; chapId: Buffer; challenge: Buffer; linkLogin?: string }): string {
    const q = new URLSearchParams({
      mac: p.mac,
      ip: p.ip,
      'link-login-only': p.linkLogin ?? 'http://10.5.50.1/login',
      'link-orig': 'http://example.com/news',
      'chap-id': octal(p.chapId),
      'chap-challenge': octal(p.challenge),
    });
    return `/portal?${q}`;
  }

  function chapRequest(username: string, mac: string, ident: Buffer, md5hex: string, challenge: Buffer): string[] {
    return [
      `User-Name = "${username}"`,
      `CHAP-Password = 0x${ident.toString('hex')}${md5hex}`,
      `CHAP-Challenge = 0x${challenge.toString('hex')}`,
      `Calling-Station-Id = "${mac}"`,
      'Service-Type = Login-User',
      'Message-Authenticator = 0x00',
    ];
  }

  it('sends the browser to link-login-only with the CHAP password; the router redeems it once', async () => {
    const mac = 'AA-BB-CC-30-00-01';
    const ip = '10.5.50.21';
    // radclient re-encodes a 17-octet CHAP-Password as a cleartext password when no octet is
    // below 32 (radclient.c, already_hex): an ident below 32 keeps what the router computed.
    const chapId = Buffer.from([randomBytes(1)[0]! % 32]);
    const challenge = randomBytes(16);
    const url = leaving(await enrollFrom(t, redirect({ mac, ip, chapId, challenge }), ip));
    expect(`${url.origin}${url.pathname}`).toBe('http://10.5.50.1/login');
    expect(url.searchParams.get('dst')).toBe('http://example.com/news');
    const username = url.searchParams.get('username')!;
    const password = url.searchParams.get('password')!;
    expect(username).toMatch(/^uam-/);
    // What md5.js produces: 32 hex digits (the token itself never leaves in the clear).
    expect(password).toMatch(/^[0-9a-f]{32}$/);

    // The router: CHAP ident = chap-id, CHAP-Challenge = chap-challenge, the response = the password.
    const otherIdent = Buffer.from([(chapId[0]! + 1) % 32]);
    const wrongIdent = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, mac, otherIdent, password, challenge));
    expect(wrongIdent.reply).toBe('Access-Reject');
    const wrongChallenge = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, mac, chapId, password, randomBytes(16)));
    expect(wrongChallenge.reply).toBe('Access-Reject');
    const otherDevice = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, 'AA-BB-CC-30-00-99', chapId, password, challenge));
    expect(otherDevice.reply).toBe('Access-Reject');
    // The hotspot's redirect signs nothing: until the router proves the device, nothing is enrolled.
    expect(await Backdoor.with(t, (b) => b.ownerOf(mac))).toBeUndefined();
    expect(await Backdoor.with(t, (b) => b.ownerOf('AA-BB-CC-30-00-99'))).toBeUndefined();

    const accept = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, mac, chapId, password, challenge));
    expect(accept.reply).toBe('Access-Accept');
    expect(await Backdoor.with(t, (b) => b.ownerOf(mac))).toBe('employee');
    expect(Number(accept.attributes['Session-Timeout'])).toBeGreaterThan(0);
    const replay = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, mac, chapId, password, challenge));
    expect(replay.reply).toBe('Access-Reject');

    expect(t.logs.events().filter((e) => e.event === 'radius.uam_login').map((e) => e.reason)).toEqual([
      'wrong login token password',
      'wrong login token password',
      'login token issued for another device',
      'one-time login token, device enrolled',
      'unknown, expired or already used login token',
    ]);
    expect(t.logs.text()).not.toContain(username);
    // The token is traced by its reference: the same in the portal's and RADIUS's lines, never redacted.
    const issued = t.logs.events().find((e) => e.event === 'portal.uam_token_issued' && e.mac === parseMac(mac));
    expect(issued?.tokenRef).toMatch(/^[0-9a-f]{8}$/);
    expect(t.logs.events().filter((e) => e.event === 'radius.uam_login' && e.tokenRef === issued?.tokenRef)).toHaveLength(5);
  });

  it('refuses, at the redemption, an enrollment the device no longer allows: enrolled to somebody else meanwhile', async () => {
    const mac = 'AA-BB-CC-30-00-05';
    const ip = '10.5.50.25';
    const chapId = Buffer.from([7]);
    const challenge = randomBytes(16);
    const url = leaving(await enrollFrom(t, redirect({ mac, ip, chapId, challenge }), ip));
    await Backdoor.with(t, (b) => b.enrollByAgent(mac, 'alice'));
    const r = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(url.searchParams.get('username')!, mac, chapId, url.searchParams.get('password')!, challenge));
    expect(r.reply).toBe('Access-Reject');
    expect(await Backdoor.with(t, (b) => b.ownerOf(mac))).toBe('alice');
    expect(t.logs.events().filter((e) => e.event === 'radius.uam_login' && e.mac === parseMac(mac)).map((e) => e.reason)).toEqual(['the device is enrolled to somebody else']);
  });

  it('refuses a link-login-only that is not the configured router: the ordinary done page', async () => {
    const ip = '10.5.50.22';
    // Ignored, the MAC is only a claim that nothing will prove: no registration form.
    const r = await call(t, 'GET', redirect({ mac: 'AA-BB-CC-30-00-02', ip, chapId: randomBytes(1), challenge: randomBytes(16), linkLogin: 'http://10.9.9.9/login' }), { ip });
    expect(r.body).toContain('We could not confirm this device');
    expect(r.body).not.toContain('name="_csrf"');
    expect(t.logs.events().filter((e) => e.event === 'portal.uam_ignored').map((e) => e.problem)).toContain(
      'link-login-only is not the hotspot address of a configured MikroTik router',
    );
  });
});

describe('openNDS FAS level 1', () => {
  const FASKEY = 'nds-faskey-2468-0123';
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      configure: (doc) => {
        doc.portal.trust_proxy = true;
        doc.radius.clients = [
          // RADIUS from 127.0.0.1: the accounting that names the device comes from radclient here.
          { name: 'nds', address: '127.0.0.1', secret: TEST_NAS_SECRET, uam: { kind: 'opennds', opennds: { faskey: FASKEY, gateway_address: '10.7.0.1' } } },
        ];
      },
    });
  });
  afterAll(async () => t?.close());

  /** openNDS's redirect: hid = hex SHA-256 of the client's token, which only the router knows. */
  function redirect(p: { hid: string; mac: string; ip: string; gatewayaddress: string }): string {
    const q = new URLSearchParams({ hid: p.hid, gatewayname: 'openNDS Node', gatewayaddress: p.gatewayaddress, clientip: p.ip, clientmac: p.mac, redir: 'http://example.com/news' });
    return `/portal?${q}`;
  }

  it('sends the browser to the gateway with tok = sha256(hid ‖ faskey), and the device has its session', async () => {
    const mac = 'AA-BB-CC-40-00-01';
    const ip = '10.7.0.21';
    const clientToken = randomBytes(8).toString('hex');
    const hid = createHash('sha256').update(clientToken).digest('hex');
    // openNDS proves nothing about the device: the router's accounting names it.
    await lease(t, mac, ip);
    const url = leaving(await enrollFrom(t, redirect({ hid, mac, ip, gatewayaddress: '10.7.0.1:2050' }), ip));
    expect(`${url.origin}${url.pathname}`).toBe('http://10.7.0.1:2050/opennds_auth/');
    // The router's check: tok must equal sha256(hid ‖ faskey).
    expect(url.searchParams.get('tok')).toBe(createHash('sha256').update(hid + FASKEY).digest('hex'));
    expect(url.searchParams.get('redir')).toBe('http://example.com/news');

    const online = await call(t, 'GET', `/portal?clientmac=${mac}&clientip=${ip}`, { ip });
    expect(online.status).toBe(200);
    expect(online.body).toContain('connected to the Wi-Fi until');
    expect(t.logs.text()).not.toContain(FASKEY);
  });

  it('enrolls nothing that only its unsigned clientmac names: openNDS cannot prove the device', async () => {
    const ip = '10.7.0.41';
    const hid = createHash('sha256').update('y').digest('hex');
    const r = await call(t, 'GET', redirect({ hid, mac: 'AA-BB-CC-40-00-41', ip, gatewayaddress: '10.7.0.1:2050' }), { ip });
    expect(r.body).toContain('We could not confirm this device');
    expect(r.body).not.toContain('name="_csrf"');
    expect(await Backdoor.with(t, (b) => b.ownerOf('AA-BB-CC-40-00-41'))).toBeUndefined();
  });

  it('refuses a redirect naming a gateway that is not configured: the ordinary done page', async () => {
    const hid = createHash('sha256').update('x').digest('hex');
    for (const [n, gatewayaddress] of ['10.9.9.9:2050', '10.7.0.1:9999'].entries()) {
      const ip = `10.7.0.${30 + n}`;
      await lease(t, `AA-BB-CC-40-00-1${n}`, ip);
      const r = await enrollFrom(t, redirect({ hid, mac: `AA-BB-CC-40-00-1${n}`, ip, gatewayaddress }), ip);
      expect(r.status).toBe(303);
      expect(r.headers.location).toBe(`${t.baseUrl}/portal?done=enrolled`);
    }
    expect(t.logs.events().filter((e) => e.event === 'portal.uam_ignored').map((e) => e.problem)).toContain(
      'gatewayaddress is not the gateway of a configured openNDS router',
    );
  });
});
