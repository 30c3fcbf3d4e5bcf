import { createHash, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { accountingStart, radclient } from '../helpers/radclient.js';
import { Backdoor } from '../helpers/raw-nas.js';

/**
 * A UAM router's whole exchange in a real browser: the router (a small HTTP listener in
 * this test, playing CoovaChilli, a MikroTik hotspot or openNDS from their published
 * formulas) sends the browser to the portal with its parameters; the person logs in or
 * registers; the portal hands the login back; the router checks what arrives (over RADIUS
 * for CoovaChilli and MikroTik, the openNDS token by its formula) and lets the browser
 * through to where it wanted to go. Chromium enforces the portal's CSP, which a plain
 * HTTP client does not: a 303 from the login form's POST to the router was blocked by
 * `form-action 'self'` in Chromium, and so in Android's captive-portal WebView.
 *
 * Each router family is driven as an Android phone in its captive-portal WebView (an
 * enrolled device logging in for the day), an iPhone (registration) and an iPad, whose
 * Safari says "Macintosh" (the "this is an iPad" choice, then registration).
 */

const ANDROID_WEBVIEW_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36';
const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const IPAD_UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

const UAM_SECRET = 'chilli-uam-secret-0123456789';
const FASKEY = 'opennds-faskey-0123456789';
/** How long a whole exchange may take in the browser: generous for a slow machine. */
const EXCHANGE_MS = 30_000;

type Visitor = 'android' | 'iphone' | 'ipad';
const VISITORS: readonly Visitor[] = ['android', 'iphone', 'ipad'];
const USER_AGENTS: Readonly<Record<Visitor, string>> = { android: ANDROID_WEBVIEW_UA, iphone: IPHONE_UA, ipad: IPAD_UA };

const md5 = (...parts: Array<Buffer | string>): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};
const sha256hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A loopback address of its own for each router (127.0.0.0/8 all reaches this machine). */
const loopback = (): string => `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** What the router saw of one visit. */
interface Visit {
  /** The login request from the browser (the portal's hand-off), as the router read it. */
  login?: URL;
  /** The router's verdict on it: the RADIUS reply, or the openNDS token check. */
  verdict?: string;
}

/**
 * The router: GET / (any captive page) redirects to the portal with the router's
 * parameters; the login path checks the hand-off; /welcome is where the person wanted to go.
 */
class FakeRouter {
  readonly visits = new Map<string, Visit>();
  private server!: Server;
  address = '';
  port = 0;

  constructor(
    private readonly redirect: (router: FakeRouter, mac: string) => string,
    private readonly loginPath: string,
    private readonly check: (router: FakeRouter, url: URL, visit: Visit) => Promise<string | undefined>,
  ) {}

  async listen(port: number): Promise<void> {
    // Another loopback address if this one's port is taken.
    for (let tries = 0; ; tries++) {
      this.address = loopback();
      this.server = createServer((req, res) => void this.handle(req, res));
      try {
        await new Promise<void>((resolve, reject) => {
          this.server.once('error', reject);
          this.server.listen(port, this.address, () => resolve());
        });
        const a = this.server.address();
        this.port = typeof a === 'object' && a ? a.port : port;
        return;
      } catch (err) {
        if (tries >= 5) throw err;
      }
    }
  }

  /** http://address[:port] as the router names itself. */
  get origin(): string {
    return `http://${this.address}${this.port === 80 ? '' : `:${this.port}`}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const mac = url.searchParams.get('mac');
    if (url.pathname === '/captive' && mac) {
      res.writeHead(302, { Location: this.redirect(this, mac), 'Cache-Control': 'no-store' }).end();
    } else if (url.pathname === this.loginPath) {
      const visit: Visit = { login: url };
      const key = randomBytes(4).toString('hex');
      this.visits.set(key, visit);
      const next = await this.check(this, url, visit).catch((err: unknown) => {
        visit.verdict = `check failed: ${(err as Error).message}`;
        return undefined;
      });
      if (next) res.writeHead(302, { Location: next, 'Cache-Control': 'no-store' }).end();
      else res.writeHead(403, { 'Content-Type': 'text/plain' }).end(`login refused: ${visit.verdict}`);
    } else if (url.pathname === '/welcome') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Welcome</title><h1>You are through</h1>');
    } else {
      res.writeHead(404).end();
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Which device each gateway's accounting says holds the browser's address now. */
const browserLeases = new Map<TestGateway, { mac: string; sessionId: string }>();

/** The router's accounting names the browser's address (127.0.0.1) for this device: the portal's first way to know it. */
async function leaseToBrowser(t: TestGateway, mac: string): Promise<void> {
  const sessionId = randomBytes(6).toString('hex');
  await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, mac, '127.0.0.1', sessionId);
  browserLeases.set(t, { mac, sessionId });
}

/** The router's accounting Stop for the browser's address: from now on only the router's redirect names the device (a claim). */
async function releaseBrowserLease(t: TestGateway): Promise<void> {
  const held = browserLeases.get(t);
  if (!held) return;
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, [
    'Acct-Status-Type = Stop',
    `Acct-Session-Id = "${held.sessionId}"`,
    `Calling-Station-Id = "${held.mac}"`,
    'Framed-IP-Address = 127.0.0.1',
  ]);
  expect(r.reply).toBe('Accounting-Response');
  browserLeases.delete(t);
}

/** An Android phone is enrolled by its MDM agent; what the portal serves it is the daily login. */
function enrollAndroid(t: TestGateway, mac: string): Promise<void> {
  return Backdoor.with(t, (b) => b.enrollByAgent(mac));
}

function newMac(): string {
  return ['AA', 'BB', 'CC', ...Array.from({ length: 3 }, () => randomInt(0, 256).toString(16).padStart(2, '0').toUpperCase())].join('-');
}

/**
 * One person's visit in Chromium: from the router's captive redirect through the portal's
 * form to the router's login and on to /welcome. Returns what the router saw.
 */
async function walk(t: TestGateway, router: FakeRouter, visitor: Visitor, o: { claimOnly?: boolean } = {}): Promise<{ visit: Visit; cspViolations: string[]; mac: string }> {
  const mac = newMac();
  if (o.claimOnly) await releaseBrowserLease(t);
  else await leaseToBrowser(t, mac);
  if (visitor === 'android') await enrollAndroid(t, mac);
  const context = await browser.newContext({ userAgent: USER_AGENTS[visitor], isMobile: visitor !== 'ipad', hasTouch: true, viewport: { width: 390, height: 844 } });
  const cspViolations: string[] = [];
  try {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    const before = new Set(router.visits.keys());
    await page.goto(`${router.origin}/captive?mac=${mac}`);
    if (visitor === 'ipad') {
      expect(await page.locator('h1').innerText()).toBe('Set up this Mac');
      await submit(page, 'This is an iPad');
    }
    expect(await page.locator('h1').innerText()).toBe(visitor === 'android' ? 'Log in to the Wi-Fi' : 'Set up this iPhone or iPad');
    await page.fill('input[name=username]', 'employee');
    await page.fill('input[name=password]', t.employeePassword);
    await page.click('button[type=submit]');
    await page.waitForURL(`${router.origin}/welcome`, { timeout: EXCHANGE_MS });
    expect(await page.locator('h1').innerText()).toBe('You are through');
    const seen = [...router.visits.entries()].filter(([k]) => !before.has(k)).map(([, v]) => v);
    expect(seen).toHaveLength(1);
    return { visit: seen[0]!, cspViolations, mac };
  } catch (err) {
    throw new Error(`${visitor}: ${(err as Error).message}\nCSP violations: ${cspViolations.join('\n') || 'none'}`);
  } finally {
    await context.close();
  }
}

async function submit(page: Page, button: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(`button:has-text("${button}")`)]);
}

function chapLines(username: string, mac: string, chapPassword: Buffer, challenge: Buffer): string[] {
  return [
    `User-Name = "${username}"`,
    `CHAP-Password = 0x${chapPassword.toString('hex')}`,
    `CHAP-Challenge = 0x${challenge.toString('hex')}`,
    `Calling-Station-Id = "${mac}"`,
    'Service-Type = Login-User',
    'Message-Authenticator = 0x00',
  ];
}

/** Runs each visitor through `router` in `t` and checks what the router saw. */
function walksThrough(get: () => { t: TestGateway; router: FakeRouter }): void {
  it.each(VISITORS)(
    'an %s gets through the router, in Chromium, with no CSP violation',
    async (visitor) => {
      const { t, router } = get();
      const { visit, cspViolations } = await walk(t, router, visitor);
      expect(visit.verdict).toBe('Access-Accept');
      expect(cspViolations).toEqual([]);
    },
    EXCHANGE_MS * 3,
  );
}

describe('CoovaChilli (UAM, signed redirect, CHAP)', () => {
  let t: TestGateway;
  const challenges = new Map<string, Buffer>();
  const router = new FakeRouter(
    (r, mac) => {
      const challenge = randomBytes(16);
      challenges.set(mac, challenge);
      // redir.c: md = upper-case hex MD5(the URL up to "&md=" ‖ uamsecret).
      const url =
        `${t.baseUrl}/portal?res=notyet&uamip=${r.address}&uamport=${r.port}&challenge=${challenge.toString('hex')}` +
        `&mac=${mac}&ip=127.0.0.1&called=00-11-22-33-44-55&nasid=chilli&userurl=${encodeURIComponent(`${r.origin}/welcome`)}`;
      return `${url}&md=${md5(url, UAM_SECRET).toString('hex').toUpperCase()}`;
    },
    '/logon',
    async (_r, url, visit) => {
      const username = url.searchParams.get('username') ?? '';
      const response = url.searchParams.get('response') ?? '';
      // Chilli knows the device by its own state; the test finds it by the challenge it issued.
      const [mac, challenge] = [...challenges.entries()].at(-1)!;
      // redir.c: CHAP-Challenge = MD5(challenge ‖ uamsecret), CHAP-Password = ident 0 ‖ response.
      const reply = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapLines(username, mac, Buffer.from(`00${response}`, 'hex'), md5(challenge, UAM_SECRET)));
      visit.verdict = reply.reply ?? 'no reply';
      return reply.reply === 'Access-Accept' ? url.searchParams.get('userurl') ?? undefined : undefined;
    },
  );
  beforeAll(async () => {
    await router.listen(0);
    t = await startTestGateway({
      configure: (doc) => {
        doc.radius.clients = [{ name: 'chilli', address: '127.0.0.1', secret: TEST_NAS_SECRET, profile: 'coovachilli', uam: { secret: UAM_SECRET, address: router.address, method: 'chap' } }];
      },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await router.close();
  });
  walksThrough(() => ({ t, router }));
});

describe('MikroTik hotspot (external login page, HTTP-CHAP)', () => {
  let t: TestGateway;
  const issued = new Map<string, { id: Buffer; challenge: Buffer }>();
  /** RouterOS's $(chap-id) / $(chap-challenge): every octet as a three-digit octal escape. */
  const octal = (b: Buffer): string => [...b].map((o) => `\\${o.toString(8).padStart(3, '0')}`).join('');
  const router = new FakeRouter(
    (r, mac) => {
      // An ident below 32: radclient would take a 17-octet CHAP-Password of printable octets for a cleartext password.
      const chap = { id: Buffer.from([randomInt(0, 32)]), challenge: randomBytes(16) };
      issued.set(mac, chap);
      const q = new URLSearchParams({ mac, ip: '127.0.0.1', 'link-login-only': `${r.origin}/login`, 'link-orig': `${r.origin}/welcome`, 'chap-id': octal(chap.id), 'chap-challenge': octal(chap.challenge) });
      return `${t.baseUrl}/portal?${q}`;
    },
    '/login',
    async (_r, url, visit) => {
      const [mac, chap] = [...issued.entries()].at(-1)!;
      // md5.js sent hex MD5(chap-id ‖ password ‖ chap-challenge); the router asks RADIUS with CHAP-Password = chap-id ‖ that.
      const password = Buffer.from(url.searchParams.get('password') ?? '', 'hex');
      const reply = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, chapLines(url.searchParams.get('username') ?? '', mac, Buffer.concat([chap.id, password]), chap.challenge));
      visit.verdict = reply.reply ?? 'no reply';
      return reply.reply === 'Access-Accept' ? url.searchParams.get('dst') ?? undefined : undefined;
    },
  );
  beforeAll(async () => {
    // link-login-only carries no port: the hotspot answers on port 80.
    await router.listen(80);
    t = await startTestGateway({
      configure: (doc) => {
        doc.radius.clients = [{ name: 'hotspot', address: '127.0.0.1', secret: TEST_NAS_SECRET, profile: 'mikrotik', uam: { kind: 'mikrotik', address: router.address } }];
      },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await router.close();
  });
  walksThrough(() => ({ t, router }));

  it(
    'an iPhone only the hotspot names (no accounting) is enrolled when the hotspot redeems its login, for the device it asks about',
    async () => {
      const { visit, cspViolations, mac } = await walk(t, router, 'iphone', { claimOnly: true });
      expect(visit.verdict).toBe('Access-Accept');
      expect(cspViolations).toEqual([]);
      expect(await Backdoor.with(t, (b) => b.ownerOf(mac))).toBe('employee');
    },
    EXCHANGE_MS * 3,
  );
});

describe('openNDS (FAS level 1)', () => {
  let t: TestGateway;
  const hids = new Map<string, string>();
  const router = new FakeRouter(
    (r, mac) => {
      // hid: hex SHA-256 of the client's token, which only the router knows.
      const hid = sha256hex(randomBytes(8).toString('hex'));
      hids.set(mac, hid);
      const q = new URLSearchParams({ hid, gatewayname: 'openNDS Node', gatewayaddress: `${r.address}:${r.port}`, clientip: '127.0.0.1', clientmac: mac, redir: `${r.origin}/welcome` });
      return `${t.baseUrl}/portal?${q}`;
    },
    '/opennds_auth/',
    async (_r, url, visit) => {
      const hid = [...hids.values()].at(-1)!;
      // fas-hid.php: tok = sha256(hid ‖ faskey).
      visit.verdict = url.searchParams.get('tok') === sha256hex(hid + FASKEY) ? 'Access-Accept' : 'wrong tok';
      return visit.verdict === 'Access-Accept' ? url.searchParams.get('redir') ?? undefined : undefined;
    },
  );
  beforeAll(async () => {
    await router.listen(0);
    t = await startTestGateway({
      configure: (doc) => {
        doc.radius.clients = [
          { name: 'nds', address: '127.0.0.1', secret: TEST_NAS_SECRET, uam: { kind: 'opennds', opennds: { faskey: FASKEY, gateway_address: router.address, gateway_port: router.port } } },
        ];
      },
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await router.close();
  });
  walksThrough(() => ({ t, router }));

  it('a phone only openNDS names (no accounting) gets the page that says the device cannot be confirmed, and no form', async () => {
    await releaseBrowserLease(t);
    const mac = newMac();
    const context = await browser.newContext({ userAgent: IPHONE_UA });
    try {
      const page = await context.newPage();
      await page.goto(`${router.origin}/captive?mac=${mac}`);
      expect(await page.locator('h1').innerText()).toBe('We could not confirm this device');
      expect(await page.locator('input[name=password]').count()).toBe(0);
    } finally {
      await context.close();
    }
    expect(await Backdoor.with(t, (b) => b.ownerOf(mac))).toBeUndefined();
  }, EXCHANGE_MS);
});
