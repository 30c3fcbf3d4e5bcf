import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICTIONARY_DIR, parseDictionary } from '../../../src/radius/dictionary.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient, type RadclientResult } from '../../helpers/radclient.js';
import { Backdoor } from '../../helpers/raw-nas.js';

/**
 * Each vendor profile answered to FreeRADIUS's radclient, which prints vendor attributes
 * by name from its own dictionaries (/usr/share/freeradius): what a router of that vendor
 * would read off the wire. One gateway per profile (radclient always sends from 127.0.0.1).
 */

const ZONE = 'Europe/Berlin';
/** with_session with every option on. */
const EVERYTHING = { vlan: '20', role: 'employee', idle_timeout_seconds: 900, terminate_time: true };

const PROFILES = {
  'generic-reject': { profile: 'generic', no_session: { answer: 'reject' }, with_session: EVERYTHING },
  'generic-vlan': { profile: 'generic', no_session: { answer: 'vlan', vlan: '99' } },
  'cisco-wlc': { profile: 'cisco-wlc', no_session: { answer: 'redirect', redirect_acl: 'ACL-PORTAL-ONLY', airespace_acl: 'PRE-AUTH' }, with_session: EVERYTHING },
  aruba: { profile: 'aruba', no_session: { answer: 'role', role: 'unregistered' }, with_session: EVERYTHING },
  coovachilli: { profile: 'coovachilli', no_session: { answer: 'reject' }, with_session: EVERYTHING },
  mikrotik: { profile: 'mikrotik', no_session: { answer: 'vlan', vlan: '99' }, with_session: EVERYTHING },
} as const;
type Name = keyof typeof PROFILES;

interface Running {
  readonly t: TestGateway;
  readonly db: Backdoor;
}

/** Every reply attribute in order, repeated ones included (Message-Authenticator left out). */
function reply(r: RadclientResult): Array<[string, string]> {
  const at = r.stdout.indexOf(`Received ${r.reply}`);
  if (at < 0) return [];
  return [...r.stdout.slice(at).matchAll(/^\t(\S+) = (.*)$/gm)]
    .map((m): [string, string] => [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')])
    .filter(([name]) => name !== 'Message-Authenticator');
}

/** radclient prints Session-Timeout as whole seconds; a second may pass between giving the session and asking. */
function expectSessionTimeout(attrs: Array<[string, string]>, endsAt: Date): void {
  const seconds = Number(attrs.find(([n]) => n === 'Session-Timeout')?.[1]);
  const expected = Math.floor((endsAt.getTime() - Date.now()) / 1000);
  expect(seconds).toBeGreaterThanOrEqual(expected - 2);
  expect(seconds).toBeLessThanOrEqual(expected + 1);
}

const wispr = (end: Date) => DateTime.fromJSDate(end, { zone: ZONE }).toFormat("yyyy-MM-dd'T'HH:mm:ssZZ");

describe('RADIUS vendor profiles, as radclient reads the answers', () => {
  const running = {} as Record<Name, Running>;
  let mac = 0;
  /** A fresh device per test, so sessions never leak between them. */
  const nextMac = () => `02:00:00:00:0a:${(++mac).toString(16).padStart(2, '0')}`;
  const ask = (name: Name, device: string, extra: readonly string[] = []) => radclient(running[name].t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(device, extra));

  beforeAll(async () => {
    await Promise.all(
      (Object.keys(PROFILES) as Name[]).map(async (name) => {
        const t = await startTestGateway({
          configure: (doc) => {
            doc.session = { daily_cutoff: '04:00', time_zone: ZONE };
            Object.assign(doc.radius.clients[0], PROFILES[name]);
          },
        });
        running[name] = { t, db: await Backdoor.open(t) };
      }),
    );
  });

  afterAll(async () => {
    const all = Object.values(running);
    const failed = all.flatMap(({ t }) => t.logs.events().filter((e) => e.event === 'radius.handler_failed'));
    const leaked = all.some(({ t }) => t.logs.text().includes(TEST_NAS_SECRET));
    await Promise.allSettled(
      all.map(async ({ t, db }) => {
        await db.close();
        await t.close();
      }),
    );
    expect(failed).toEqual([]);
    expect(leaked).toBe(false);
  });

  describe('a device without a session', () => {
    it('generic: Access-Reject', async () => {
      const r = await ask('generic-reject', nextMac());
      expect(r.reply).toBe('Access-Reject');
      expect(reply(r)).toEqual([]);
    });

    it('generic with a registration VLAN: Tunnel-Type, Tunnel-Medium-Type, Tunnel-Private-Group-Id, tag 0', async () => {
      const r = await ask('generic-vlan', nextMac());
      expect(r.reply).toBe('Access-Accept');
      expect(reply(r)).toEqual([
        ['Tunnel-Type:0', 'VLAN'],
        ['Tunnel-Medium-Type:0', 'IEEE-802'],
        ['Tunnel-Private-Group-Id:0', '99'],
      ]);
    });

    it('cisco-wlc: Access-Accept with Cisco-AVPair url-redirect (the configured portal) and url-redirect-acl, and Airespace-ACL-Name', async () => {
      const { t } = running['cisco-wlc'];
      const r = await ask('cisco-wlc', nextMac());
      expect(r.reply).toBe('Access-Accept');
      expect(reply(r)).toEqual([
        ['Cisco-AVPair', `url-redirect=${t.baseUrl}/portal`],
        ['Cisco-AVPair', 'url-redirect-acl=ACL-PORTAL-ONLY'],
        ['Airespace-ACL-Name', 'PRE-AUTH'],
      ]);
      expect(t.logs.events().filter((e) => e.event === 'radius.access').at(-1)).toMatchObject({ outcome: 'portal_redirect' });
    });

    it('cisco-wlc: a request full of other URLs (and unknown attributes) still gets only the configured portal URL', async () => {
      const { t } = running['cisco-wlc'];
      const r = await ask('cisco-wlc', nextMac(), [
        'Called-Station-Id = "https://evil.example/phish"',
        'NAS-Identifier = "url-redirect=https://evil.example/"',
        'Cisco-AVPair = "url-redirect=https://evil.example/"',
        'WISPr-Redirection-URL = "https://evil.example/"',
        'Attr-26.99999.1 = 0x6869',
        'Attr-192 = 0x010203',
      ]);
      expect(r.reply).toBe('Access-Accept');
      expect(reply(r).filter(([n]) => n === 'Cisco-AVPair')).toEqual([
        ['Cisco-AVPair', `url-redirect=${t.baseUrl}/portal`],
        ['Cisco-AVPair', 'url-redirect-acl=ACL-PORTAL-ONLY'],
      ]);
      expect(r.stdout.slice(r.stdout.indexOf('Received'))).not.toContain('evil.example');
    });

    it('aruba: Access-Accept with Aruba-User-Role = no_session.role', async () => {
      const r = await ask('aruba', nextMac());
      expect(r.reply).toBe('Access-Accept');
      expect(reply(r)).toEqual([['Aruba-User-Role', 'unregistered']]);
    });

    it('coovachilli: Access-Reject (it falls back to its own portal)', async () => {
      const r = await ask('coovachilli', nextMac());
      expect(r.reply).toBe('Access-Reject');
      expect(reply(r)).toEqual([]);
    });

    it('mikrotik with a registration VLAN: the tunnel attributes', async () => {
      const r = await ask('mikrotik', nextMac());
      expect(r.reply).toBe('Access-Accept');
      expect(reply(r).map(([n]) => n)).toEqual(['Tunnel-Type:0', 'Tunnel-Medium-Type:0', 'Tunnel-Private-Group-Id:0']);
    });
  });

  describe('a device with a session (with_session: vlan 20, role, Idle-Timeout 900, terminate_time)', () => {
    it.each(['generic-reject', 'cisco-wlc', 'aruba', 'coovachilli', 'mikrotik'] as const)('%s', async (name) => {
      const device = nextMac();
      const endsAt = await running[name].db.giveSession(device, 5 * 3_600_000);
      const r = await ask(name, device);
      expect(r.reply).toBe('Access-Accept');
      const attrs = reply(r);
      expectSessionTimeout(attrs, endsAt);
      expect(attrs.filter(([n]) => n !== 'Session-Timeout')).toEqual([
        ['Idle-Timeout', '900'],
        ['Tunnel-Type:0', 'VLAN'],
        ['Tunnel-Medium-Type:0', 'IEEE-802'],
        ['Tunnel-Private-Group-Id:0', '20'],
        ...(name === 'aruba' ? [['Aruba-User-Role', 'employee']] : []),
        ['WISPr-Session-Terminate-Time', wispr(endsAt)],
      ]);
      expect(wispr(endsAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    });

    it('generic without with_session options: only Session-Timeout', async () => {
      const device = nextMac();
      const endsAt = await running['generic-vlan'].db.giveSession(device, 3_600_000);
      const attrs = reply(await ask('generic-vlan', device));
      expect(attrs.map(([n]) => n)).toEqual(['Session-Timeout']);
      expectSessionTimeout(attrs, endsAt);
    });

    it('a request with an unknown vendor attribute and an unknown standard attribute is answered normally', async () => {
      const device = nextMac();
      const endsAt = await running['coovachilli'].db.giveSession(device, 3_600_000);
      const r = await ask('coovachilli', device, ['Attr-26.99999.1 = 0x6869', 'Attr-26.9.200 = 0x6869', 'Attr-192 = 0x010203', 'ChilliSpot-Version = "1.6"']);
      expect(r.reply).toBe('Access-Accept');
      expectSessionTimeout(reply(r), endsAt);
    });
  });
});

describe('radius-dictionaries/ agrees with the FreeRADIUS dictionaries radclient uses', () => {
  /** vendor id → attribute number → [names, types] as FreeRADIUS installs them. */
  function freeradius(): Map<number, Map<number, Array<{ name: string; type: string }>>> {
    const out = new Map<number, Map<number, Array<{ name: string; type: string }>>>();
    const vendors = new Map<string, number>();
    const dir = '/usr/share/freeradius';
    for (const file of readdirSync(dir).filter((f) => f.startsWith('dictionary.'))) {
      let vendor: number | undefined;
      for (const raw of readFileSync(join(dir, file), 'latin1').split('\n')) {
        const [keyword, a, b, c] = raw.replace(/#.*/, '').trim().split(/\s+/);
        if (keyword === 'VENDOR' && a && b) vendors.set(a, Number(b));
        else if (keyword === 'BEGIN-VENDOR' && a) vendor = vendors.get(a);
        else if (keyword === 'END-VENDOR') vendor = undefined;
        else if (keyword === 'ATTRIBUTE' && vendor !== undefined && a && b && c) {
          const byId = out.get(vendor) ?? new Map();
          out.set(vendor, byId);
          byId.set(Number(b), [...(byId.get(Number(b)) ?? []), { name: a, type: c.replace(/\[.*$/, '') }]);
        }
      }
    }
    return out;
  }

  it('same vendor number, attribute number, name and type wherever FreeRADIUS 3 has the attribute', () => {
    const theirs = freeradius();
    let compared = 0;
    for (const file of readdirSync(DICTIONARY_DIR).filter((f) => f.startsWith('dictionary.'))) {
      for (const a of parseDictionary(readFileSync(join(DICTIONARY_DIR, file), 'utf8'), file).attributes) {
        const known = theirs.get(a.vendor!.id)?.get(a.id);
        // FreeRADIUS 3.2 has no Ubiquiti dictionary and knows CoovaChilli 1-9 only (as ChilliSpot).
        if (!known) {
          expect(['Ubiquiti', 'CoovaChilli'], `${a.at}: ${a.name} unknown to FreeRADIUS`).toContain(a.vendor!.name);
          continue;
        }
        compared++;
        expect(known.map((k) => k.name.replace(/^ChilliSpot-/, 'CoovaChilli-')), a.at).toContain(a.name);
        expect(known.map((k) => k.type), a.at).toContain(a.type);
      }
    }
    expect(compared).toBeGreaterThan(60);
  });
});
