import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveConfig, validateConfig } from '../../../src/config/load.js';
import { isMikrotikLoginUrl, mikrotikChapPassword, mikrotikLoginUrl, parseOctalEscaped } from '../../../src/portal/uam/mikrotik.js';
import { openNdsAuthUrl, openNdsTok } from '../../../src/portal/uam/opennds.js';
import { checkedUamLogon, readUamRedirect } from '../../../src/portal/uam/read-redirect.js';
import { NasTable } from '../../../src/radius/clients.js';
import { BAD_DESTINATIONS, DONE } from './destinations.js';

/**
 * The MikroTik hotspot and openNDS FAS level 1 variants of "logins that come from the
 * router". Known answers are computed here with node:crypto from the published formulas:
 * MikroTik: password = MD5(chap-id ‖ password ‖ chap-challenge) (RouterOS manual, HTTP-CHAP);
 * openNDS: tok = SHA-256(hid ‖ faskey), both as text (fas.rst level 1, fas-hid.php).
 */

const FASKEY = 'faskey1234567890';
const HID = 'c0ffee'.padEnd(64, '0');
// RouterOS manual's example values for $(chap-id) and $(chap-challenge).
const CHAP_ID = '\\371';
const CHAP_CHALLENGE = '\\357\\015\\330\\013\\021\\234\\145\\245\\303\\253\\142\\246\\133\\175\\375\\316';
const CHALLENGE_HEX = 'ef0dd80b119c65a5c3ab62a65b7dfdce';

const config = resolveConfig(
  validateConfig({
    radius: {
      clients: [
        { name: 'hotspot', address: '192.0.2.20', secret: 'hotspot-secret-0123456789', profile: 'mikrotik', uam: { kind: 'mikrotik', address: '10.5.50.1' } },
        { name: 'hotspot-lan', address: '10.6.0.0/24', secret: 'hotspot-secret-0123456789', profile: 'mikrotik', uam: { kind: 'mikrotik' } },
        { name: 'nds', address: '192.0.2.30', secret: 'nds-radius-secret-0123456789', uam: { kind: 'opennds', opennds: { faskey: FASKEY, gateway_address: '10.7.0.1' } } },
        { name: 'chilli', address: '192.0.2.10', secret: 'chilli-secret-0123456789', profile: 'coovachilli', uam: { secret: 'chilli-uam-secret-0123', address: '10.1.0.1' } },
      ],
    },
  }),
  '/nonexistent/enrollgate.yaml',
  {},
);
const table = new NasTable(config.radius.clients);
const lookup = (address: string, nasid?: string) => table.uamNas(address, nasid);
const read = (q: Record<string, string>) => {
  const raw = new URLSearchParams(q).toString();
  return readUamRedirect(Object.fromEntries(new URLSearchParams(raw)), raw, ['http://portal.example/portal'], lookup);
};

describe('MikroTik hotspot encodings', () => {
  it('reads the octal escapes of $(chap-id) and $(chap-challenge) as octets', () => {
    expect(parseOctalEscaped(CHAP_ID)?.toString('hex')).toBe('f9');
    expect(parseOctalEscaped(CHAP_CHALLENGE)?.toString('hex')).toBe(CHALLENGE_HEX);
    for (const bad of ['', 'abc', '\\9', '\\12', '\\400', '\\123x', 'f9']) expect(parseOctalEscaped(bad), bad).toBeUndefined();
  });

  it('computes the password md5.js sends: hex MD5(chap-id ‖ password ‖ chap-challenge)', () => {
    const want = createHash('md5')
      .update(Buffer.from([0o371]))
      .update('abcdefghijklmnop')
      .update(Buffer.from([0o357, 0o015, 0o330, 0o013, 0o021, 0o234, 0o145, 0o245, 0o303, 0o253, 0o142, 0o246, 0o133, 0o175, 0o375, 0o316]))
      .digest('hex');
    expect(mikrotikChapPassword('f9', 'abcdefghijklmnop', CHALLENGE_HEX)).toBe(want);
  });

  it('builds the GET login on link-login-only with username, CHAP password and dst', () => {
    const login = { kind: 'mikrotik', nas: 'hotspot', loginUrl: 'http://10.5.50.1/login', chapId: 'f9', chapChallenge: CHALLENGE_HEX, dst: 'http://example.com/a?b=c' } as const;
    const url = new URL(mikrotikLoginUrl(login, 'uam-id', 'abcdefghijklmnop', DONE));
    expect(`${url.origin}${url.pathname}`).toBe('http://10.5.50.1/login');
    expect(url.searchParams.get('username')).toBe('uam-id');
    expect(url.searchParams.get('password')).toBe(mikrotikChapPassword('f9', 'abcdefghijklmnop', CHALLENGE_HEX));
    expect(url.searchParams.get('dst')).toBe('http://example.com/a?b=c');
  });

  it.each(BAD_DESTINATIONS)('sends the portal success page as dst instead of link-orig %j', (dst) => {
    const login = { kind: 'mikrotik', nas: 'hotspot', loginUrl: 'http://10.5.50.1/login', chapId: 'f9', chapChallenge: CHALLENGE_HEX, dst } as const;
    expect(new URL(mikrotikLoginUrl(login, 'uam-id', 'abcdefghijklmnop', DONE)).searchParams.get('dst')).toBe(DONE);
  });

  it('sends the portal success page as dst when the hotspot gave no link-orig', () => {
    const login = { kind: 'mikrotik', nas: 'hotspot', loginUrl: 'http://10.5.50.1/login', chapId: 'f9', chapChallenge: CHALLENGE_HEX } as const;
    expect(new URL(mikrotikLoginUrl(login, 'uam-id', 'abcdefghijklmnop', DONE)).searchParams.get('dst')).toBe(DONE);
  });
});

describe('readUamRedirect: MikroTik', () => {
  const good = { mac: 'AA:BB:CC:DD:EE:0B', ip: '10.5.50.2', 'link-login-only': 'http://10.5.50.1/login', 'link-orig': 'http://example.com/', 'chap-id': CHAP_ID, 'chap-challenge': CHAP_CHALLENGE };

  it('accepts a redirect whose link-login-only is a configured MikroTik router', () => {
    expect(read(good)).toEqual({
      kind: 'uam',
      mac: 'aa:bb:cc:dd:ee:0b',
      uam: { kind: 'mikrotik', nas: 'hotspot', loginUrl: 'http://10.5.50.1/login', chapId: 'f9', chapChallenge: CHALLENGE_HEX, dst: 'http://example.com/' },
    });
    const lan = read({ ...good, 'link-login-only': 'https://10.6.0.1/login' });
    expect(lan.kind === 'uam' && lan.uam).toMatchObject({ nas: 'hotspot-lan', loginUrl: 'https://10.6.0.1/login' });
  });

  it.each([
    ['an unknown router', { 'link-login-only': 'http://10.9.9.9/login' }, 'not the hotspot address'],
    ['a CoovaChilli router', { 'link-login-only': 'http://10.1.0.1/login' }, 'not the hotspot address'],
    ['an openNDS router', { 'link-login-only': 'http://10.7.0.1/login' }, 'not the hotspot address'],
    ['another path', { 'link-login-only': 'http://10.5.50.1/logout' }, 'link-login-only'],
    ['a port', { 'link-login-only': 'http://10.5.50.1:8080/login' }, 'link-login-only'],
    ['a host name', { 'link-login-only': 'http://evil.example/login' }, 'link-login-only'],
    ['a query', { 'link-login-only': 'http://10.5.50.1/login?dst=x' }, 'link-login-only'],
    ['credentials', { 'link-login-only': 'http://a:b@10.5.50.1/login' }, 'link-login-only'],
    ['no chap-id (HTTP-CHAP off)', { 'chap-id': '' }, 'chap-id'],
    ['a short challenge', { 'chap-challenge': '\\001\\002' }, 'chap-challenge'],
    ['a bad MAC', { mac: 'ZZ' }, 'mac'],
  ])('ignores %s', (_why, change, problem) => {
    const r = read({ ...good, ...change });
    expect(r.kind).toBe('ignored');
    expect(r.kind === 'ignored' && r.problem).toContain(problem);
  });
});

describe('openNDS FAS level 1 encodings', () => {
  it('tok is the hex SHA-256 of the hid text followed by the faskey', () => {
    const want = createHash('sha256').update(`${HID}${FASKEY}`).digest('hex');
    expect(openNdsTok(HID, FASKEY)).toBe(want);
  });

  it('builds http://<gateway_address>:<gateway_port>/<authdir>/?tok=…&redir=…', () => {
    const nds = config.radius.clients.find((c) => c.name === 'nds')!.uam!.opennds!;
    const url = new URL(openNdsAuthUrl({ kind: 'opennds', nas: 'nds', hid: HID, redir: 'http://example.com/' }, nds, DONE));
    expect(`${url.origin}${url.pathname}`).toBe('http://10.7.0.1:2050/opennds_auth/');
    expect(url.searchParams.get('tok')).toBe(createHash('sha256').update(HID + FASKEY).digest('hex'));
    expect(url.searchParams.get('redir')).toBe('http://example.com/');
  });

  it.each([...BAD_DESTINATIONS, undefined])('sends the portal success page as redir instead of %j', (redir) => {
    const nds = config.radius.clients.find((c) => c.name === 'nds')!.uam!.opennds!;
    const url = new URL(openNdsAuthUrl({ kind: 'opennds', nas: 'nds', hid: HID, ...(redir === undefined ? {} : { redir }) }, nds, DONE));
    expect(url.searchParams.get('redir')).toBe(DONE);
  });
});

describe('readUamRedirect: openNDS', () => {
  const good = { hid: HID, gatewayname: 'openNDS Node', gatewayaddress: '10.7.0.1:2050', clientip: '10.7.0.20', clientmac: '02:00:00:00:00:01', redir: 'http://example.com/' };

  it('accepts a redirect whose gatewayaddress is a configured openNDS gateway', () => {
    expect(read(good)).toEqual({ kind: 'uam', mac: '02:00:00:00:00:01', uam: { kind: 'opennds', nas: 'nds', hid: HID, redir: 'http://example.com/' } });
    const { clientmac: _, ...noMac } = good;
    expect(read(noMac)).toEqual({ kind: 'uam', uam: { kind: 'opennds', nas: 'nds', hid: HID, redir: 'http://example.com/' } });
  });

  it.each([
    ['an unknown gateway', { gatewayaddress: '10.9.9.9:2050' }, 'not the gateway'],
    ['another port', { gatewayaddress: '10.7.0.1:2051' }, 'not the gateway'],
    ['a MikroTik router', { gatewayaddress: '10.5.50.1:2050' }, 'not the gateway'],
    ['no gatewayaddress', { gatewayaddress: '' }, 'gatewayaddress'],
    ['a host name', { gatewayaddress: 'evil.example:2050' }, 'gatewayaddress'],
    ['a short hid', { hid: 'abcd' }, 'hid'],
    ['a bad clientmac', { clientmac: 'ZZ' }, 'clientmac'],
  ])('ignores %s', (_why, change, problem) => {
    const r = read({ ...good, ...change });
    expect(r.kind).toBe('ignored');
    expect(r.kind === 'ignored' && r.problem).toContain(problem);
  });
});

describe('checkedUamLogon for MikroTik and openNDS', () => {
  it('allows only the configured router\'s login URL', () => {
    for (const ok of ['http://10.5.50.1/login?username=a&password=b', 'https://10.5.50.1/login?username=a']) {
      expect(checkedUamLogon(ok, 'hotspot', lookup)).toBe(ok);
    }
    for (const bad of [
      'http://10.5.50.1/logon?username=a',
      'http://10.5.50.1:8080/login',
      'http://10.6.0.1/login', // another router
      'http://10.9.9.9/login',
      'ftp://10.5.50.1/login',
      'http://10.5.50.1/login#x',
    ]) {
      expect(() => checkedUamLogon(bad, 'hotspot', lookup), bad).toThrow(/refusing to redirect/);
    }
  });

  it('allows only the configured openNDS gateway\'s authdir', () => {
    const ok = 'http://10.7.0.1:2050/opennds_auth/?tok=x&redir=y';
    expect(checkedUamLogon(ok, 'nds', lookup)).toBe(ok);
    for (const bad of [
      'http://10.7.0.1:2051/opennds_auth/?tok=x',
      'http://10.7.0.1:2050/other/?tok=x',
      'http://10.7.0.1:2050/opennds_auth?tok=x',
      'https://10.7.0.1:2050/opennds_auth/?tok=x',
      'http://10.9.9.9:2050/opennds_auth/?tok=x',
      'http://10.5.50.1/login', // the MikroTik router's URL is not the openNDS router's
    ]) {
      expect(() => checkedUamLogon(bad, 'nds', lookup), bad).toThrow(/refusing to redirect/);
    }
  });
});

describe('uam configuration', () => {
  const nas = (uam: Record<string, unknown>) => () => validateConfig({ radius: { clients: [{ name: 'r', address: '10.0.0.1', secret: 'r-secret-0123456789', uam }] } });

  it('needs a secret for coovachilli and an opennds section for opennds, and nothing else', () => {
    expect(nas({})).toThrow(/uam\.secret/);
    expect(nas({ kind: 'opennds' })).toThrow(/uam\.opennds/);
    expect(nas({ kind: 'mikrotik', opennds: { faskey: 'k', gateway_address: '10.0.0.1' } })).toThrow(/uam\.opennds/);
    expect(nas({ kind: 'mikrotik' })).not.toThrow();
    const c = nas({ kind: 'opennds', opennds: { faskey: 'k', gateway_address: '10.0.0.1' } })().radius.clients[0]!;
    expect(c.uam?.opennds).toEqual({ faskey: 'k', gateway_address: '10.0.0.1', gateway_port: 2050, authdir: 'opennds_auth' });
  });
});
