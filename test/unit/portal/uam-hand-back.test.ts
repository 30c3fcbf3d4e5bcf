import { Writable } from 'node:stream';
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { resolveConfig, validateConfig } from '../../../src/config/load.js';
import { LoginTokenStore } from '../../../src/devices/login-token-store.js';
import { BadInputError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { parseMac } from '../../../src/mac.js';
import { uamChapResponse, uamPapPassword, type ChilliLogin } from '../../../src/portal/uam/coovachilli.js';
import { mikrotikChapPassword, type MikrotikLogin } from '../../../src/portal/uam/mikrotik.js';
import { openNdsTok, type OpenNdsLogin } from '../../../src/portal/uam/opennds.js';
import { UamHandBack } from '../../../src/portal/uam/hand-back.js';
import { NasTable } from '../../../src/radius/clients.js';

/** The service the login and enroll actions call to hand a login back to a UAM router, with a memory store and a fixed clock. */

const UAM_SECRET = 'chilli-uam-secret-0123';
const FASKEY = 'faskey1234567890';
const config = resolveConfig(
  validateConfig({
    radius: {
      clients: [
        { name: 'chilli', address: '192.0.2.10', secret: 'chilli-secret-0123456789', profile: 'coovachilli', uam: { secret: UAM_SECRET, address: '10.1.0.1' } },
        { name: 'chilli-pap', address: '192.0.2.11', secret: 'chilli-secret-0123456789', profile: 'coovachilli', uam: { secret: UAM_SECRET, address: '10.2.0.1', method: 'pap' } },
        { name: 'hotspot', address: '192.0.2.20', secret: 'hotspot-secret-0123456789', profile: 'mikrotik', uam: { kind: 'mikrotik', address: '10.5.50.1' } },
        { name: 'nds', address: '192.0.2.30', secret: 'nds-radius-secret-0123456789', uam: { kind: 'opennds', opennds: { faskey: FASKEY, gateway_address: '10.7.0.1' } } },
        { name: 'plain', address: '192.0.2.40', secret: 'plain-secret-0123456789' },
      ],
    },
  }),
  '/nonexistent/enrollgate.yaml',
  {},
);

const NOW = new Date('2026-11-26T08:00:00Z');
const MAC = parseMac('aa:bb:cc:dd:ee:01')!;
const DONE = 'https://wifi.example.org/portal?done=enrolled';
const CHALLENGE = '0123456789abcdef0123456789abcdef';
const CHILLI: ChilliLogin = { kind: 'coovachilli', nas: 'chilli', uamip: '10.1.0.1', uamport: 3990, challenge: CHALLENGE };
const MIKROTIK: MikrotikLogin = { kind: 'mikrotik', nas: 'hotspot', loginUrl: 'http://10.5.50.1/login', chapId: 'f9', chapChallenge: CHALLENGE };
const OPENNDS: OpenNdsLogin = { kind: 'opennds', nas: 'nds', hid: 'c0ffee'.padEnd(64, '0') };

function setup() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const loginTokens = new LoginTokenStore(new Keyv());
  const handBack = new UamHandBack({ nas: new NasTable(config.radius.clients), loginTokens, clock: { now: () => NOW }, log: createLogger('info', sink) });
  const events = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { handBack, loginTokens, events, lines };
}

describe('UamHandBack.logonUrl', () => {
  it.each([
    ['chilli', 'chap', 'response', (secret: string) => uamChapResponse(secret, CHALLENGE, UAM_SECRET)],
    ['chilli-pap', 'pap', 'password', (secret: string) => uamPapPassword(secret, CHALLENGE, UAM_SECRET)],
  ])('CoovaChilli (%s): a one-time login for this device, at the router’s logon URL, logged by reference only', async (nas, method, param, hidden) => {
    const { handBack, loginTokens, events, lines } = setup();
    const uamip = nas === 'chilli' ? '10.1.0.1' : '10.2.0.1';
    const url = new URL(await handBack.logonUrl({ ...CHILLI, nas, uamip }, { mac: MAC, user: 'anne', done: DONE }));
    expect(`${url.origin}${url.pathname}`).toBe(`http://${uamip}:3990/logon`);
    const id = url.searchParams.get('username')!;
    const token = await loginTokens.get(id, NOW);
    expect(token).toMatchObject({ mac: MAC, user: 'anne', nas });
    expect(token!.enroll).toBeUndefined();
    expect(Date.parse(token!.expiresAt)).toBeGreaterThan(NOW.getTime());
    expect(url.searchParams.get(param)).toBe(hidden(token!.secret));
    expect(url.searchParams.get('userurl')).toBe(DONE);
    expect(events()).toEqual([expect.objectContaining({ event: 'portal.uam_token_issued', mac: MAC, user: 'anne', nas, method })]);
    for (const secret of [id, token!.secret, UAM_SECRET]) expect(lines.join('\n')).not.toContain(secret);
  });

  it('MikroTik: the login carries the enrollment the redemption records, with the CHAP password', async () => {
    const { handBack, loginTokens, events } = setup();
    const enroll = { platform: 'ios', osVersion: '17.5', limit: 3 } as const;
    const url = new URL(await handBack.logonUrl(MIKROTIK, { mac: MAC, user: 'anne', done: DONE, enroll }));
    expect(`${url.origin}${url.pathname}`).toBe('http://10.5.50.1/login');
    const token = await loginTokens.get(url.searchParams.get('username')!, NOW);
    expect(token).toMatchObject({ mac: MAC, user: 'anne', nas: 'hotspot', enroll });
    expect(url.searchParams.get('password')).toBe(mikrotikChapPassword('f9', token!.secret, CHALLENGE));
    expect(url.searchParams.get('dst')).toBe(DONE);
    expect(events()[0]).toMatchObject({ event: 'portal.uam_token_issued', method: 'chap' });
  });

  it('openNDS: the gateway’s authorisation, no token', async () => {
    const { handBack, events } = setup();
    const url = new URL(await handBack.logonUrl(OPENNDS, { mac: MAC, user: 'anne', done: DONE }));
    expect(`${url.origin}${url.pathname}`).toBe('http://10.7.0.1:2050/opennds_auth/');
    expect(url.searchParams.get('tok')).toBe(openNdsTok(OPENNDS.hid, FASKEY));
    expect(url.searchParams.get('redir')).toBe(DONE);
    expect(events()).toEqual([expect.objectContaining({ event: 'portal.opennds_authorised', mac: MAC, user: 'anne', nas: 'nds' })]);
  });

  it.each([
    ['a router no longer configured', { ...CHILLI, nas: 'gone' }],
    ['a router no longer a UAM router', { ...CHILLI, nas: 'plain' }],
    ['a router now of another kind', { ...CHILLI, nas: 'hotspot' }],
  ])('refuses %s, and issues nothing', async (_, uam) => {
    const { handBack, events } = setup();
    const refused = handBack.logonUrl(uam, { mac: MAC, user: 'anne', done: DONE });
    await expect(refused).rejects.toBeInstanceOf(BadInputError);
    await expect(refused).rejects.toThrow(/no longer set up for portal logins/);
    expect(events()).toEqual([]);
  });
});
