import { describe, expect, it } from 'vitest';
import { validateConfig, type NasClientConfig } from '../../../src/config/load.js';
import { chilliMd, uamChallenge, uamChapResponse, uamLogonUrl, uamPapPassword } from '../../../src/portal/uam/coovachilli.js';
import { checkedUamLogon, readUamRedirect } from '../../../src/portal/uam/read-redirect.js';
import { NasTable } from '../../../src/radius/clients.js';
import { BAD_DESTINATIONS, DONE } from './destinations.js';

// Known answers computed independently (Python hashlib) from CoovaChilli's redir.c formulas.
const CHALLENGE = '00112233445566778899aabbccddeeff';
const UAM_SECRET = 'uamsecret';
const TOKEN = 'abcdefghijklmnop';
const PORTAL = 'http://portal.example/portal';
const SIGNED = 'res=notyet&uamip=10.1.0.1&uamport=3990&challenge=00112233445566778899aabbccddeeff&mac=AA-BB-CC-DD-EE-01&ip=10.1.0.5&nasid=chilli';
const MD = '59247E63EEB6758ACAC464BF05467FCE';

function nas(name: string, address: string, extra: Record<string, unknown> = {}): NasClientConfig {
  const raw = validateConfig({ radius: { clients: [{ name, address, secret: `${name}-secret-0123456789`, ...extra }] } }).radius.clients[0]!;
  const { secret: uamSecret, opennds, ...uamRest } = raw.uam ?? { kind: 'coovachilli' as const, method: 'chap' as const, allow_short_secret: false };
  const uam = raw.uam
    ? {
        ...uamRest,
        ...(uamSecret !== undefined ? { secret: String(uamSecret) } : {}),
        ...(opennds ? { opennds: { ...opennds, faskey: String(opennds.faskey) } } : {}),
      }
    : undefined;
  return { ...raw, secret: `${name}-secret-0123456789`, uam };
}

const table = new NasTable([
  nas('chilli', '192.0.2.10', { profile: 'coovachilli', uam: { secret: UAM_SECRET, address: '10.1.0.1' } }),
  nas('chilli-lan', '10.2.0.0/24', { profile: 'coovachilli', uam: { secret: UAM_SECRET, method: 'pap' } }),
  nas('plain', '10.3.0.1'),
]);
const lookup = (uamip: string, nasid?: string) => table.uamNas(uamip, nasid);

function query(raw: string): Record<string, string | string[]> {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const had = q[k];
    q[k] = had === undefined ? v : ([] as string[]).concat(had, v);
  }
  return q;
}
const read = (raw: string) => readUamRedirect(query(raw), raw, [PORTAL], lookup);

describe('CoovaChilli UAM encodings', () => {
  it('md is the upper-case hex MD5 of the URL before "&md=" and the UAM secret', () => {
    expect(chilliMd(`${PORTAL}?${SIGNED}`, UAM_SECRET)).toBe(MD);
  });

  it('newchal, PAP and CHAP match the known answers', () => {
    expect(uamChallenge(CHALLENGE, UAM_SECRET).toString('hex')).toBe('5123f6c2e8e2f1326c60bc84bbcc1b7f');
    expect(uamPapPassword(TOKEN, CHALLENGE, UAM_SECRET)).toBe('304195a68d84965a050ad7e8d6a2740f');
    expect(uamChapResponse(TOKEN, CHALLENGE, UAM_SECRET)).toBe('3dd37cc83dd510b76951f0d4c5c7b177');
  });

  it('PAP pads a short password with NULs and repeats the key over longer ones', () => {
    const key = uamChallenge(CHALLENGE, UAM_SECRET);
    expect(uamPapPassword('abc', CHALLENGE, UAM_SECRET)).toHaveLength(32);
    const long = Buffer.from(uamPapPassword('x'.repeat(20), CHALLENGE, UAM_SECRET), 'hex');
    expect(long).toHaveLength(32);
    expect(long[16]! ^ key[0]!).toBe('x'.charCodeAt(0));
    expect(long[31]! ^ key[15]!).toBe(0);
  });

  it('builds the logon URL for each method', () => {
    const uam = { kind: 'coovachilli' as const, nas: 'chilli', uamip: '10.1.0.1', uamport: 3990, challenge: CHALLENGE, userurl: 'http://example.com/a?b=c' };
    const chap = new URL(uamLogonUrl(uam, 'chap', 'uam-id', TOKEN, UAM_SECRET, DONE));
    expect(`${chap.origin}${chap.pathname}`).toBe('http://10.1.0.1:3990/logon');
    expect(chap.searchParams.get('username')).toBe('uam-id');
    expect(chap.searchParams.get('response')).toBe('3dd37cc83dd510b76951f0d4c5c7b177');
    expect(chap.searchParams.get('userurl')).toBe('http://example.com/a?b=c');
    const pap = new URL(uamLogonUrl(uam, 'pap', 'uam-id', TOKEN, UAM_SECRET, DONE));
    expect(pap.searchParams.get('password')).toBe('304195a68d84965a050ad7e8d6a2740f');
    expect(pap.searchParams.get('response')).toBeNull();
  });

  it.each([...BAD_DESTINATIONS, undefined])('hands Chilli the portal success page as userurl instead of %j', (userurl) => {
    const uam = { kind: 'coovachilli' as const, nas: 'chilli', uamip: '10.1.0.1', uamport: 3990, challenge: CHALLENGE, ...(userurl === undefined ? {} : { userurl }) };
    expect(new URL(uamLogonUrl(uam, 'chap', 'uam-id', TOKEN, UAM_SECRET, DONE)).searchParams.get('userurl')).toBe(DONE);
  });
});

describe('readUamRedirect', () => {
  it('accepts a well-formed, correctly signed redirect from a configured UAM router (md in either case)', () => {
    for (const md of [MD, MD.toLowerCase()]) {
      const r = read(`${SIGNED}&md=${md}`);
      expect(r).toEqual({ kind: 'uam', mac: 'aa:bb:cc:dd:ee:01', uam: { kind: 'coovachilli', nas: 'chilli', uamip: '10.1.0.1', uamport: 3990, challenge: CHALLENGE } });
    }
  });

  it('is "none" without UAM parameters', () => {
    expect(read('mac=AA-BB-CC-DD-EE-01&ip=10.1.0.5').kind).toBe('none');
  });

  it.each([
    ['a wrong md', `${SIGNED}&md=${'0'.repeat(32)}`, 'md does not match'],
    ['no md', SIGNED, 'md is missing'],
    ['a changed parameter', `${SIGNED.replace('10.1.0.5', '10.1.0.6')}&md=${MD}`, 'md does not match'],
    ['uamip not an IPv4 address', `${SIGNED.replace('uamip=10.1.0.1', 'uamip=evil.example')}&md=${MD}`, 'uamip'],
    ['a bad port', `${SIGNED.replace('uamport=3990', 'uamport=70000')}&md=${MD}`, 'uamport'],
    ['a short challenge', `${SIGNED.replace(CHALLENGE, 'abcd')}&md=${MD}`, 'challenge'],
    ['a bad MAC', `${SIGNED.replace('AA-BB-CC-DD-EE-01', 'ZZ')}&md=${MD}`, 'mac'],
    ['a repeated uamip', `uamip=10.1.0.1&${SIGNED}&md=${MD}`, 'uamip'],
    ['an unknown router address', `${SIGNED.replace('uamip=10.1.0.1', 'uamip=10.9.9.9')}&md=${MD}`, 'not the UAM address'],
  ])('ignores %s', (_why, raw, problem) => {
    const r = read(raw);
    expect(r.kind).toBe('ignored');
    expect(r.kind === 'ignored' && r.problem).toContain(problem);
  });
});

describe('NasTable.uamNas and the logon redirect check', () => {
  it('finds the router by its UAM address, or by nasid only when uamip is its UAM address', () => {
    expect(table.uamNas('10.1.0.1')?.name).toBe('chilli');
    expect(table.uamNas('10.2.0.1')?.name).toBe('chilli-lan');
    expect(table.uamNas('192.0.2.10', 'chilli')).toBeUndefined(); // its RADIUS address is not its UAM address
    expect(table.uamNas('10.9.9.9', 'chilli')).toBeUndefined();
    expect(table.uamNas('10.3.0.1', 'plain')).toBeUndefined(); // not a UAM router
  });

  it('allows only http://<uamip>:<port>/logon of the flow\'s configured UAM router', () => {
    const ok = 'http://10.1.0.1:3990/logon?username=a&response=b';
    expect(checkedUamLogon(ok, 'chilli', lookup)).toBe(ok);
    for (const bad of [
      'http://10.9.9.9:3990/logon?username=a', // not a configured NAS
      'http://10.2.0.1:3990/logon?username=a', // another router's address
      'https://10.1.0.1:3990/logon',
      'http://10.1.0.1:3990/logoff',
      'http://user:pw@10.1.0.1:3990/logon',
      'http://evil.example:3990/logon',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(() => checkedUamLogon(bad, 'chilli', lookup), bad).toThrow(/refusing to redirect/);
    }
  });
});
