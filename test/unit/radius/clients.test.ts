import { describe, expect, it } from 'vitest';
import { validateConfig, type NasClientConfig } from '../../../src/config/load.js';
import { NasTable, unmapIpv4 } from '../../../src/radius/clients.js';

function nas(name: string, address: string, extra: Record<string, unknown> = {}): NasClientConfig {
  const raw = validateConfig({ radius: { clients: [{ name, address, secret: `${name}-secret-0123456789`, ...extra }] } }).radius.clients[0]!;
  return { ...raw, secret: `${name}-secret-0123456789`, uam: undefined };
}

const name = (table: NasTable, address: string) => table.find(address)?.name;

describe('NasTable', () => {
  it('finds a router by its exact IPv4 address, and nothing for its neighbours', () => {
    const table = new NasTable([nas('ap', '10.0.0.7')]);
    expect(name(table, '10.0.0.7')).toBe('ap');
    expect(name(table, '10.0.0.6')).toBeUndefined();
    expect(name(table, '10.0.0.8')).toBeUndefined();
  });

  it('replace() takes a reloaded list at once: an address seen before is looked up again, a removed router is gone', () => {
    const table = new NasTable([nas('old', '10.0.0.7'), nas('kept', '10.0.0.8')]);
    expect(name(table, '10.0.0.7')).toBe('old');
    expect(name(table, '10.0.0.9')).toBeUndefined();
    table.replace([nas('kept', '10.0.0.8'), nas('new', '10.0.0.9')]);
    expect(name(table, '10.0.0.7')).toBeUndefined();
    expect(name(table, '10.0.0.9')).toBe('new');
    expect(table.all().map((c) => c.name).sort()).toEqual(['kept', 'new']);
  });

  it('carries the settings the RADIUS code needs', () => {
    const table = new NasTable([nas('sw', '10.0.0.1', { require_message_authenticator: false, no_session: { answer: 'vlan', vlan: '99' } })]);
    expect(table.find('10.0.0.1')).toEqual({
      name: 'sw',
      secret: 'sw-secret-0123456789',
      requireMessageAuthenticator: false,
      profile: 'generic',
      noSession: { answer: 'vlan', vlan: '99' },
      withSession: { terminate_time: false },
    });
  });

  it('fills in dynamic authorization from the profile: port 1700 and CoA for a Cisco WLC, 3799 and Disconnect otherwise', () => {
    const table = new NasTable([
      nas('wlc', '10.0.0.2', { profile: 'cisco-wlc', dynamic_authorization: { enabled: true } }),
      nas('chilli', '10.0.0.3', { profile: 'coovachilli', dynamic_authorization: { enabled: true } }),
      nas('aps', '10.2.0.0/24', { dynamic_authorization: { enabled: true, address: '10.2.0.1', port: 3800, on_session: 'coa' } }),
      nas('off', '10.0.0.4'),
    ]);
    expect(table.byName('wlc')?.dynamicAuthorization).toEqual({ address: '10.0.0.2', port: 1700, onSession: 'coa', timeoutMs: 1000, retries: 3 });
    expect(table.byName('chilli')?.dynamicAuthorization).toEqual({ address: '10.0.0.3', port: 3799, onSession: 'disconnect', timeoutMs: 1000, retries: 3 });
    expect(table.byName('aps')?.dynamicAuthorization).toEqual({ address: '10.2.0.1', port: 3800, onSession: 'coa', timeoutMs: 1000, retries: 3 });
    expect(table.byName('off')?.dynamicAuthorization).toBeUndefined();
    expect(table.all().map((c) => c.name).sort()).toEqual(['aps', 'chilli', 'off', 'wlc']);
  });

  it('matches a CIDR range, bounds included', () => {
    const table = new NasTable([nas('aps', '10.1.0.0/23')]);
    for (const inside of ['10.1.0.0', '10.1.0.1', '10.1.1.255']) expect(name(table, inside), inside).toBe('aps');
    for (const outside of ['10.0.255.255', '10.1.2.0', '11.1.0.1']) expect(name(table, outside), outside).toBeUndefined();
  });

  it('the most specific entry wins, whatever the order of the list', () => {
    const entries = [nas('site', '10.0.0.0/16'), nas('floor', '10.0.3.0/24'), nas('ap', '10.0.3.9')];
    for (const list of [entries, [...entries].reverse(), [entries[1]!, entries[2]!, entries[0]!]]) {
      const table = new NasTable(list);
      expect(name(table, '10.0.3.9')).toBe('ap');
      expect(name(table, '10.0.3.10')).toBe('floor');
      expect(name(table, '10.0.4.1')).toBe('site');
      expect(name(table, '10.1.0.1')).toBeUndefined();
    }
  });

  it('recognises an IPv4 source reported by a dual-stack socket as ::ffff:a.b.c.d', () => {
    const table = new NasTable([nas('ap', '10.0.0.7'), nas('aps', '192.168.0.0/24')]);
    expect(name(table, '::ffff:10.0.0.7')).toBe('ap');
    expect(name(table, '::ffff:192.168.0.200')).toBe('aps');
    expect(name(table, '::ffff:10.0.0.8')).toBeUndefined();
  });

  it('matches IPv6 addresses and CIDRs, most specific first', () => {
    const table = new NasTable([nas('v6-site', '2001:db8::/32'), nas('v6-ap', '2001:db8:0:1::5'), nas('loop6', '::1')]);
    expect(name(table, '2001:db8:0:1::5')).toBe('v6-ap');
    expect(name(table, '2001:db8:ffff::1')).toBe('v6-site');
    expect(name(table, '2001:0db8:0000:0001:0000:0000:0000:0005')).toBe('v6-ap');
    expect(name(table, '2001:db9::1')).toBeUndefined();
    expect(name(table, '::1')).toBe('loop6');
    expect(name(table, '127.0.0.1')).toBeUndefined();
  });

  it('an IPv4 entry does not match IPv6 sources, nor an IPv6 entry IPv4 ones', () => {
    const table = new NasTable([nas('v4-all', '0.0.0.0/0')]);
    expect(name(table, '203.0.113.1')).toBe('v4-all');
    expect(name(table, '2001:db8::1')).toBeUndefined();
    const v6 = new NasTable([nas('v6', '2001:db8::/32')]);
    expect(name(v6, '10.0.0.1')).toBeUndefined();
  });

  it('compares IPv4 and IPv6 prefixes on one scale: an IPv4 /32 beats an IPv4-mapped ::ffff:0:0/96 range', () => {
    // ::ffff:0:0/96 covers every IPv4 address (as IPv4-mapped IPv6): it is as broad as 0.0.0.0/0.
    for (const list of [
      [nas('all-mapped', '::ffff:0:0/96'), nas('ap', '10.0.0.7')],
      [nas('ap', '10.0.0.7'), nas('all-mapped', '::ffff:0:0/96')],
    ]) {
      const table = new NasTable(list);
      expect(name(table, '10.0.0.7')).toBe('ap');
      expect(name(table, '::ffff:10.0.0.7')).toBe('ap');
    }
    const ranges = new NasTable([nas('mapped-24', '::ffff:10.0.0.0/120'), nas('v4-16', '10.0.0.0/16')]);
    expect(name(ranges, '10.0.0.9')).toBe('mapped-24');
    expect(name(ranges, '10.0.1.9')).toBe('v4-16');
  });

  it('an unknown source, and an empty table, give undefined', () => {
    expect(new NasTable([]).find('127.0.0.1')).toBeUndefined();
    expect(name(new NasTable([nas('ap', '10.0.0.7')]), '127.0.0.1')).toBeUndefined();
  });

  it('answers the same for an address asked again, also after a flood of unknown sources has filled its memory', () => {
    const table = new NasTable([nas('site', '10.1.0.0/16'), nas('ap', '10.1.2.3')]);
    for (let round = 0; round < 2; round++) {
      expect(name(table, '10.1.2.3')).toBe('ap');
      expect(name(table, '10.1.9.9')).toBe('site');
      expect(name(table, '10.2.0.1')).toBeUndefined();
    }
    for (let i = 0; i < 10_000; i++) expect(table.find(`192.0.${i >> 8}.${i & 255}`)).toBeUndefined();
    expect(name(table, '10.1.2.3')).toBe('ap');
    expect(name(table, '10.1.9.9')).toBe('site');
    expect(name(table, '10.2.0.1')).toBeUndefined();
  });
});

describe('unmapIpv4', () => {
  it('unmaps only IPv4-mapped addresses', () => {
    expect(unmapIpv4('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(unmapIpv4('10.0.0.7')).toBe('10.0.0.7');
    expect(unmapIpv4('::ffff:abcd')).toBe('::ffff:abcd');
    expect(unmapIpv4('2001:db8::1')).toBe('2001:db8::1');
  });
});
