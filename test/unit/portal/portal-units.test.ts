import { describe, expect, it } from 'vitest';
import type { Context } from 'koa';
import { sendAttachment } from '../../../src/portal/actions/device-files.js';
import type { AccountingStore, Lease } from '../../../src/accounting/accounting-store.js';
import { parseMac } from '../../../src/mac.js';
import { decideStartPage, type VisitorState } from '../../../src/portal/decide.js';
import { identifyDevice } from '../../../src/portal/identify.js';
import type { UamRedirect } from '../../../src/portal/uam/read-redirect.js';
import { PortalUrls } from '../../../src/portal/urls.js';
import { detectOs } from '../../../src/portal/user-agent.js';

describe('decideStartPage (the decision table)', () => {
  const cases: Array<[Partial<VisitorState>, string]> = [
    [{ identified: false, hasSession: true, enrolled: true, platform: 'ios' }, 'unidentified'],
    [{ hasSession: true, enrolled: false, platform: 'other' }, 'online'],
    [{ hasSession: true, enrolled: true, platform: 'android' }, 'online'],
    [{ hasSession: false, enrolled: true, platform: 'ios' }, 'login'],
    [{ hasSession: false, enrolled: true, platform: 'other' }, 'login'],
    [{ hasSession: false, enrolled: false, platform: 'android', androidAgent: true }, 'android-agent'],
    [{ hasSession: false, enrolled: false, platform: 'android', androidAgent: false }, 'register'],
    [{ hasSession: false, enrolled: false, platform: 'chromeos' }, 'register'],
    [{ hasSession: false, enrolled: false, platform: 'ios' }, 'register'],
    [{ hasSession: false, enrolled: false, platform: 'macos' }, 'register'],
    [{ hasSession: false, enrolled: false, platform: 'other' }, 'unsupported'],
    [{ hasSession: false, enrolled: false, platform: 'windows' }, 'register'],
    [{ hasSession: false, enrolled: false, platform: 'linux' }, 'register'],
    [{ hasSession: false, enrolled: true, platform: 'android', androidAgent: false }, 'login'],
    [{ hasSession: false, enrolled: true, platform: 'windows' }, 'login'],
  ];
  it.each(cases)('%j → %s', (partial, page) => {
    expect(decideStartPage({ identified: true, hasSession: false, enrolled: false, platform: 'other', androidAgent: true, ...partial })).toBe(page);
  });
});

describe('detectOs', () => {
  it.each([
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15', 'ios', 'iOS', '17.5'],
    ['Mozilla/5.0 (iPad; CPU OS 16_1_2 like Mac OS X) AppleWebKit/605.1.15', 'ios', 'iPadOS', '16.1.2'],
    ['CaptiveNetworkSupport-481.0.1 wispr', 'ios', 'iOS', undefined],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile', 'android', 'Android', '14'],
    ['Mozilla/5.0 (Linux; Android 9; SM-G960F) AppleWebKit/537.36', 'android', 'Android', '9'],
    // Chrome's reduced User-Agent says "Android 10; K" on every version: no version at all.
    ['Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/126 Mobile', 'android', 'Android', undefined],
    ['Mozilla/5.0 (Linux; Android 10; Pixel 3) AppleWebKit/537.36', 'android', 'Android', '10'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126', 'windows', 'Windows', undefined],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) Chrome/126', 'chromeos', 'ChromeOS', undefined],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15', 'macos', 'macOS', undefined],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'linux', 'Linux', undefined],
    ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64) AppleWebKit/537.36 Chrome/126 Safari/537.36', 'linux', 'Linux', undefined],
    ['', 'other', 'this device', undefined],
  ])('%j', (ua, platform, name, version) => {
    const os = detectOs(ua);
    expect([os.platform, os.name, os.version]).toEqual([platform, name, version]);
  });

  it.each([
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15', 'iPhone'],
    ['Mozilla/5.0 (iPad; CPU OS 16_1_2 like Mac OS X) AppleWebKit/605.1.15', 'iPad'],
    ['Mozilla/5.0 (iPod touch; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15', 'iPod touch'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile', 'Pixel 8'],
    // The captive-portal WebView: the model before Build/, then "wv".
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 Version/4.0 Chrome/126 Mobile', 'Pixel 8'],
    ['Mozilla/5.0 (Linux; Android 9; SM-G960F) AppleWebKit/537.36', 'SM-G960F'],
    // Chrome 110+ sends a reduced User-Agent: "K" names no model.
    ['Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/126 Mobile', undefined],
    ['Mozilla/5.0 (Linux; U; Android 4.4; en-us) AppleWebKit/534.30', undefined],
    ['CaptiveNetworkSupport-481.0.1 wispr', undefined],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15', undefined],
    [`Mozilla/5.0 (Linux; Android 14; ${'X'.repeat(41)}) AppleWebKit/537.36`, undefined],
  ])('names the model of %j as %j', (ua, model) => {
    expect(detectOs(ua).model).toBe(model);
  });

  it('flags a Mac user agent as a possible iPad (iPadOS asks for desktop pages)', () => {
    expect(detectOs('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15').maybeIpad).toBe(true);
  });

  it.each([
    // iPadOS's Safari carries the system's version: the iPadOS version, should it be an iPad.
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', '17.5'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Safari/605.1.15', '18.1.1'],
    // Other browsers' versions are their own, not the system's.
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', undefined],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15 Edg/126.0', undefined],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0', undefined],
  ])('reads the possible iPadOS version of %j as %j', (ua, version) => {
    expect(detectOs(ua).ipadVersion).toBe(version);
  });
});

describe('PortalUrls', () => {
  const urls = new PortalUrls('https://wifi.example.org/guest');

  it('builds absolute URLs under the base path', () => {
    expect(urls.to('/portal')).toBe('https://wifi.example.org/guest/portal');
    expect(urls.to('/portal', { done: 'a&b' })).toBe('https://wifi.example.org/guest/portal?done=a%26b');
  });

  it('refuses to build anything that is not a local path', () => {
    expect(() => urls.to('//evil.example/x')).toThrow();
    expect(() => urls.to('https://evil.example/')).toThrow();
  });

  it.each([
    'https://evil.example/guest/portal',
    'http://wifi.example.org/guest/portal',
    'https://wifi.example.org.evil.example/guest/portal',
    'https://wifi.example.org/other',
    'https://wifi.example.org/guestbook',
    'javascript:alert(1)',
    '/guest/portal',
    'not a url',
  ])('refuses to redirect to %s', (target) => {
    expect(urls.isOurs(target)).toBe(false);
    expect(() => urls.checked(target)).toThrow(/outside the portal/);
  });

  it('accepts its own URLs', () => {
    expect(urls.checked('https://wifi.example.org/guest/portal?done=enrolled')).toBe('https://wifi.example.org/guest/portal?done=enrolled');
  });
});

describe('identifyDevice', () => {
  const known = parseMac('aa:bb:cc:00:00:01')!;
  const accounting = {
    leaseFor: async (ip: string): Promise<Lease | undefined> => (ip === '10.0.0.1' ? { ip, mac: known, nas: 'n', updatedAt: '' } : undefined),
  } as unknown as AccountingStore;

  it('prefers the router accounting over any parameter', async () => {
    expect(await identifyDevice('10.0.0.1', { mac: 'aa:bb:cc:00:00:02' }, accounting, true)).toEqual({ mac: known, source: 'accounting' });
  });

  it('uses parameters only when allowed, well-formed and for this address', async () => {
    expect(await identifyDevice('10.0.0.2', { client_mac: 'AA-BB-CC-00-00-02', client_ip: '10.0.0.2' }, accounting, true)).toEqual({
      mac: 'aa:bb:cc:00:00:02',
      source: 'claimed',
    });
    expect(await identifyDevice('10.0.0.2', { mac: 'aa:bb:cc:00:00:02' }, accounting, false)).toHaveProperty('problem');
    expect(await identifyDevice('10.0.0.2', { mac: 'aa:bb:cc:00:00:02', ip: '10.0.0.3' }, accounting, true)).toHaveProperty('problem');
    expect(await identifyDevice('10.0.0.2', { mac: ['aa:bb:cc:00:00:02', 'aa:bb:cc:00:00:03'] }, accounting, true)).toHaveProperty('problem');
    expect(await identifyDevice('10.0.0.2', { mac: '<script>' }, accounting, true)).toHaveProperty('problem');
    expect(await identifyDevice('10.0.0.2', {}, accounting, true)).toHaveProperty('problem');
  });

  describe('trusts the accounting lease, then a signed router redirect, then (a claim) unsigned parameters', () => {
    const signed = parseMac('aa:bb:cc:00:00:03')!;
    const chilli: UamRedirect = { kind: 'uam', mac: signed, uam: { kind: 'coovachilli', nas: 'c', uamip: '10.1.0.1', uamport: 3990, challenge: '0'.repeat(32) } };
    const mikrotik: UamRedirect = { kind: 'uam', mac: signed, uam: { kind: 'mikrotik', nas: 'm', loginUrl: 'http://10.5.50.1/login', chapId: '01', chapChallenge: '0'.repeat(32) } };
    const opennds: UamRedirect = { kind: 'uam', mac: signed, uam: { kind: 'opennds', nas: 'o', hid: '0'.repeat(64) } };

    it('the lease over a signed redirect', async () => {
      expect(await identifyDevice('10.0.0.1', { mac: 'aa:bb:cc:00:00:03' }, accounting, true, chilli)).toEqual({ mac: known, source: 'accounting' });
    });

    it('a CoovaChilli redirect (md verified) is the router\'s word, even where parameters are not allowed', async () => {
      expect(await identifyDevice('10.0.0.2', { mac: 'aa:bb:cc:00:00:03' }, accounting, false, chilli)).toEqual({ mac: signed, source: 'signed-redirect' });
    });

    it.each([
      ['MikroTik', mikrotik],
      ['openNDS', opennds],
    ])('a %s redirect signs nothing: a claim', async (_name, redirect) => {
      expect(await identifyDevice('10.0.0.2', { mac: 'aa:bb:cc:00:00:03' }, accounting, true, redirect)).toEqual({ mac: signed, source: 'claimed' });
      expect(await identifyDevice('10.0.0.2', { mac: 'aa:bb:cc:00:00:03' }, accounting, false, redirect)).toHaveProperty('problem');
    });
  });
});

describe('sendAttachment (every enrollment file and the root profile)', () => {
  /** The headers and body a Koa context is given. */
  function sent(filename: string): { headers: Record<string, string>; ctx: Record<string, unknown> } {
    const headers: Record<string, string> = {};
    const ctx = { set: (name: string, value: string) => void (headers[name] = value) };
    sendAttachment(ctx as unknown as Context, { filename, type: 'application/xml', body: Buffer.from('x') });
    return { headers, ctx };
  }

  it('names the file in a quoted Content-Disposition, never cached nor sniffed', () => {
    const { headers, ctx } = sent('Staff Secure.xml');
    expect(headers).toEqual({ 'Content-Disposition': 'attachment; filename="Staff Secure.xml"', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    expect(ctx).toMatchObject({ status: 200, type: 'application/xml' });
  });

  it('a name with a quote, a backslash, a line break or non-ASCII cannot end the quoted name nor break the header', () => {
    expect(sent('a"b\\c\r\nX-Evil: 1é.xml').headers['Content-Disposition']).toBe('attachment; filename="a_b_c__X-Evil: 1_.xml"');
  });

  it('a name cannot smuggle a path or a percent-encoded character a browser would decode', () => {
    expect(sent('..%2F..%2Fetc/passwd%0A.xml').headers['Content-Disposition']).toBe('attachment; filename=".._2F.._2Fetc_passwd_0A.xml"');
  });
});
