import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call as httpCall, handoffTarget, type CallOptions, type Reply } from '../../helpers/http.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { radclient } from '../../helpers/radclient.js';

/**
 * The CoovaChilli UAM login end to end: the test plays the router from CoovaChilli's
 * published formulas (redir.c), with node:crypto only and no src imports for the crypto:
 * - redirect: md = upper-case hex MD5(URL up to "&md=" ‖ uamsecret)
 * - logon: newchal = MD5(challenge ‖ uamsecret); PAP User-Password = password XOR newchal;
 *   CHAP-Challenge = newchal, CHAP-Password = ident ‖ response
 * then sends the Access-Request with radclient, as Chilli would.
 */

const UAM_SECRET = 'chilli-uam-secret-42';

function call(t: TestGateway, method: string, path: string, o: CallOptions): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

const md5 = (...parts: Array<Buffer | string>): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The redirect URL CoovaChilli builds (redir_buildurl), signed with `secret`. */
function chilliRedirect(t: TestGateway, p: { uamip: string; mac: string; ip: string; challenge: string; nasid: string }, secret = UAM_SECRET): string {
  const url =
    `${t.baseUrl}/portal?res=notyet&uamip=${p.uamip}&uamport=3990&challenge=${p.challenge}` +
    `&mac=${p.mac}&ip=${p.ip}&called=00-11-22-33-44-55&nasid=${p.nasid}&userurl=${encodeURIComponent('http://example.com/news')}`;
  const md = md5(url, secret).toString('hex').toUpperCase();
  return `${url}&md=${md}`.slice(t.baseUrl.length);
}

/** Opens the registration form from a Chilli redirect and enrolls as "employee"; returns the answer to the POST. */
async function enrollFrom(t: TestGateway, path: string, ip: string): Promise<Reply> {
  const page = await call(t, 'GET', path, { ip });
  expect(page.status).toBe(200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  const cookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((c) => c.startsWith('eg_flow='))?.split(';')[0];
  expect(csrf && cookie, 'a registration form').toBeTruthy();
  return call(t, 'POST', '/portal/enroll', { ip, cookie: cookie!, form: { _csrf: csrf!, username: 'employee', password: t.employeePassword } });
}

/** What the router reads from the logon URL. */
function logon(reply: Reply): URL {
  return handoffTarget(reply);
}

function chapRequest(username: string, mac: string, response: string, challenge: string): string[] {
  const newchal = md5(Buffer.from(challenge, 'hex'), UAM_SECRET).toString('hex');
  return [
    `User-Name = "${username}"`,
    `CHAP-Password = 0x00${response}`,
    `CHAP-Challenge = 0x${newchal}`,
    `Calling-Station-Id = "${mac}"`,
    'Service-Type = Login-User',
    'Message-Authenticator = 0x00',
  ];
}

function papRequest(username: string, mac: string, password: string): string[] {
  return [`User-Name = "${username}"`, `User-Password = "${password}"`, `Calling-Station-Id = "${mac}"`, 'Service-Type = Login-User', 'Message-Authenticator = 0x00'];
}

let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

describe('CHAP: a CoovaChilli router with its own UAM address', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      clock,
      configure: (doc) => {
        doc.portal.trust_proxy = true;
        doc.radius.clients = [
          { name: 'chilli', address: '127.0.0.1', secret: TEST_NAS_SECRET, profile: 'coovachilli', uam: { secret: UAM_SECRET, address: '10.1.0.1' } },
        ];
      },
    });
  });
  afterAll(async () => t?.close());

  it('hands the login to the router, which opens the session once, for that device only, and only within 2 minutes', async () => {
    const mac = 'AA-BB-CC-10-00-01';
    const ip = '10.1.0.21';
    const challenge = randomBytes(16).toString('hex');
    const reply = await enrollFrom(t, chilliRedirect(t, { uamip: '10.1.0.1', mac, ip, challenge, nasid: 'chilli' }), ip);
    const url = logon(reply);
    expect(`${url.origin}${url.pathname}`).toBe('http://10.1.0.1:3990/logon');
    expect(url.searchParams.get('userurl')).toBe('http://example.com/news');
    expect(url.searchParams.get('password')).toBeNull();
    const username = url.searchParams.get('username')!;
    const response = url.searchParams.get('response')!;
    expect(response).toMatch(/^[0-9a-f]{32}$/);

    // Bound to the device: another MAC is refused, and does not use the token up.
    const other = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, 'AA-BB-CC-10-00-99', response, challenge));
    expect(other.reply).toBe('Access-Reject');
    // A response computed for another challenge is refused.
    const wrongChallenge = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, mac, response, randomBytes(16).toString('hex')));
    expect(wrongChallenge.reply).toBe('Access-Reject');

    const accept = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, mac, response, challenge));
    expect(accept.reply).toBe('Access-Accept');
    expect(Number(accept.attributes['Session-Timeout'])).toBeGreaterThan(0);

    const replay = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(username, mac, response, challenge));
    expect(replay.reply).toBe('Access-Reject');

    const events = t.logs.events().filter((e) => e.event === 'radius.uam_login');
    expect(events.map((e) => e.reason)).toEqual([
      'login token issued for another device',
      'wrong login token password',
      'one-time login token',
      'unknown, expired or already used login token',
    ]);
    expect(t.logs.text()).not.toContain(username);
  });

  it('refuses a token redeemed after 2 minutes', async () => {
    const mac = 'AA-BB-CC-10-00-02';
    const ip = '10.1.0.22';
    const challenge = randomBytes(16).toString('hex');
    const url = logon(await enrollFrom(t, chilliRedirect(t, { uamip: '10.1.0.1', mac, ip, challenge, nasid: 'chilli' }), ip));
    offsetMs += 2 * 60 * 1000;
    try {
      const late = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapRequest(url.searchParams.get('username')!, mac, url.searchParams.get('response')!, challenge));
      expect(late.reply).toBe('Access-Reject');
      expect(t.logs.events().filter((e) => e.event === 'radius.uam_login').at(-1)?.reason).toBe('unknown, expired or already used login token');
    } finally {
      offsetMs = 0;
    }
  });

  it('ignores the UAM parameters when md does not match, or when uamip is not the router: then the MAC is only a claim, and nothing is enrolled', async () => {
    const challenge = randomBytes(16).toString('hex');
    const wrongMd = chilliRedirect(t, { uamip: '10.1.0.1', mac: 'AA-BB-CC-10-00-03', ip: '10.1.0.23', challenge, nasid: 'chilli' }, 'another-uam-secret');
    const r1 = await call(t, 'GET', wrongMd, { ip: '10.1.0.23' });
    expect(r1.body).toContain('We could not confirm this device');
    expect(r1.body).not.toContain('name="_csrf"');

    // Signed correctly, but uamip is not this router's UAM address: the portal never sends a login there.
    const elsewhere = chilliRedirect(t, { uamip: '10.9.9.9', mac: 'AA-BB-CC-10-00-04', ip: '10.1.0.24', challenge, nasid: 'chilli' });
    const r2 = await call(t, 'GET', elsewhere, { ip: '10.1.0.24' });
    expect(r2.body).toContain('We could not confirm this device');

    const problems = t.logs.events().filter((e) => e.event === 'portal.uam_ignored').map((e) => e.problem);
    expect(problems).toContain('md does not match (wrong UAM secret, or the parameters were changed)');
    expect(problems).toContain('uamip is not the UAM address of a configured UAM router');
  });
});

describe('PAP: a CoovaChilli router whose UAM address is its RADIUS address', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      clock,
      configure: (doc) => {
        doc.portal.trust_proxy = true;
        doc.radius.clients = [{ name: 'chilli-pap', address: '127.0.0.1', secret: TEST_NAS_SECRET, profile: 'coovachilli', uam: { secret: UAM_SECRET, method: 'pap' } }];
      },
    });
  });
  afterAll(async () => t?.close());

  it('hides the token as Chilli expects, and the router redeems it once', async () => {
    const mac = 'AA-BB-CC-20-00-01';
    const ip = '10.2.0.21';
    const challenge = randomBytes(16).toString('hex');
    const url = logon(await enrollFrom(t, chilliRedirect(t, { uamip: '127.0.0.1', mac, ip, challenge, nasid: 'whatever' }), ip));
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:3990/logon');
    const username = url.searchParams.get('username')!;
    const hidden = Buffer.from(url.searchParams.get('password')!, 'hex');
    expect(hidden.length).toBe(16);
    // The router: password XOR MD5(challenge ‖ uamsecret), one 16-octet block, NULs stripped.
    const key = md5(Buffer.from(challenge, 'hex'), UAM_SECRET);
    const plain = Buffer.from(hidden.map((b, i) => b ^ key[i]!));
    const password = plain.subarray(0, plain.indexOf(0) < 0 ? plain.length : plain.indexOf(0)).toString('utf8');

    const wrong = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, papRequest(username, mac, `${password.slice(0, -1)}${password.endsWith('x') ? 'y' : 'x'}`));
    expect(wrong.reply).toBe('Access-Reject');
    const other = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, papRequest(username, 'AA-BB-CC-20-00-99', password));
    expect(other.reply).toBe('Access-Reject');
    const accept = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, papRequest(username, mac, password));
    expect(accept.reply).toBe('Access-Accept');
    expect(Number(accept.attributes['Session-Timeout'])).toBeGreaterThan(0);
    const replay = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, papRequest(username, mac, password));
    expect(replay.reply).toBe('Access-Reject');

    expect(t.logs.text()).not.toContain(password);
    expect(t.logs.text()).not.toContain(username);
  });

  it('still answers plain MAC authentication for the device (the session was issued at login)', async () => {
    const r = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, [
      'User-Name = "AA-BB-CC-20-00-01"',
      'Calling-Station-Id = "AA-BB-CC-20-00-01"',
      'Message-Authenticator = 0x00',
    ]);
    expect(r.reply).toBe('Access-Accept');
  });
});
