import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { walledGarden } from '../../../src/walled-garden/catalogue.js';
import { commentLines } from '../../../src/walled-garden/comment.js';
import { IPTABLES_CHAIN, renderIptables } from '../../../src/walled-garden/iptables.js';
import { walledGardenJson } from '../../../src/walled-garden/json.js';
import { NFT_TABLE, renderNftables } from '../../../src/walled-garden/nftables.js';
import { renderTable } from '../../../src/walled-garden/table.js';

/**
 * The renderers' output, read as text. Whether nft and iptables-restore accept it is
 * checked with the real tools in test/integration/walled-garden.
 */

const gardenOf = (wg: Record<string, unknown> = {}, more: Record<string, unknown> = {}) =>
  walledGarden(validateConfig({ portal: { base_url: 'https://wifi.example.org' }, walled_garden: wg, ...more }));

const FULL = {
  portal_addresses: ['10.99.0.1', 'fd00:99::1'],
  dns_servers: ['10.99.0.53', 'fd00:99::53'],
  registration_networks: ['10.99.0.0/24', '10.98.0.0/24', 'fd00:99::/64'],
};

/** The certificate checks on, with addresses of both families and names. */
const CHECKS = { enabled: true, revocation_hosts: ['ocsp.ca.example.com', '192.0.2.80'], ntp_servers: ['10.99.0.123', 'fd00:99::123', 'time.apple.com'] };

/** The lines that are not comments or blank. */
const code = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));

describe('renderTable', () => {
  const text = renderTable(gardenOf(FULL));

  it('shows each entry with its status, ports, destinations, reason and source', () => {
    expect(text).toContain('From: 10.99.0.0/24, 10.98.0.0/24, fd00:99::/64');
    expect(text).toMatch(/^\[open\]  Apple push \(APNs\), devices\n {4}ports: {2}tcp 5223, 443\n {4}to: {5}17\.0\.0\.0\/8, 2620:149:a44::\/48/m);
    expect(text).toMatch(/^\[open\]  DNS\n {4}ports: {2}udp\+tcp 53$/m);
    expect(text).toContain('[not opened: informational]  APNs provider API');
    expect(text).toContain('[not opened: retired]  APNs legacy binary API');
    expect(text).toContain('source: Apple support article 102266');
    expect(text).not.toContain('Warnings:');
  });

  it('wraps long lines under their label', () => {
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(96);
    expect(text).toMatch(/^ {4}names: {2}mtalk\.google\.com, .*\n {12}\S/m);
  });

  it('ends with the warnings when the config lacks something', () => {
    expect(renderTable(gardenOf())).toMatch(/\nWarnings:\n {2}- walled_garden\.portal_addresses/);
    expect(renderTable(gardenOf())).toContain('From: not configured (walled_garden.registration_networks)');
  });
});

describe('walledGardenJson', () => {
  const json = walledGardenJson(gardenOf(FULL, { android: { agent: { version: '1', url: 'https://dl.example.com/a.apk' } } }));

  it('has the documented shape, version 1', () => {
    expect(Object.keys(json)).toEqual(['version', 'registration_networks', 'entries', 'warnings']);
    expect(json.version).toBe(1);
    expect(json.registration_networks).toEqual(FULL.registration_networks);
    for (const e of json.entries) {
      expect(Object.keys(e)).toEqual(['id', 'service', 'status', 'open', 'protocols', 'ports', 'cidrs', 'hostnames', 'why', 'source']);
    }
    expect(json.entries.map((e) => e.id)).toEqual([
      'portal',
      'dns',
      'apple-apns',
      'google-fcm',
      'google-play',
      'agent-download',
      'certificate-revocation',
      'ntp',
      'apple-apns-provider',
      'apple-apns-legacy',
    ]);
    expect(json.entries.find((e) => e.id === 'ntp')).toMatchObject({ status: 'optional', open: false });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe('renderNftables', () => {
  const text = renderNftables(gardenOf(FULL));
  const lines = code(text);

  it('replaces a table of its own: declare, delete, define', () => {
    expect(lines.slice(0, 3)).toEqual([`table inet ${NFT_TABLE}`, `delete table inet ${NFT_TABLE}`, `table inet ${NFT_TABLE} {`]);
    expect(text.startsWith('#!/usr/sbin/nft -f\n')).toBe(true);
    expect(text.split('{').length).toBe(text.split('}').length);
  });

  it('sends only the registration networks to the walled_garden chain', () => {
    expect(text).toMatch(/set registration_v4 \{\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\tauto-merge\n\t\telements = \{ 10\.99\.0\.0\/24, 10\.98\.0\.0\/24 \}\n/);
    expect(text).toContain('elements = { fd00:99::/64 }');
    expect(text).toContain('\t\ttype filter hook forward priority filter; policy accept;\n\t\tip saddr @registration_v4 jump walled_garden\n\t\tip6 saddr @registration_v6 jump walled_garden\n');
  });

  it('accepts the open entries by address and port, and drops the rest', () => {
    expect(lines).toContain('\t\tip daddr @apple_apns_v4 tcp dport { 5223, 443 } accept');
    expect(lines).toContain('\t\tip6 daddr @apple_apns_v6 tcp dport { 5223, 443 } accept');
    expect(lines).toContain('\t\tip daddr @dns_v4 udp dport 53 accept');
    expect(lines).toContain('\t\tip6 daddr @dns_v6 tcp dport 53 accept');
    expect(lines).toContain('\t\tip daddr @portal_v4 tcp dport { 8080, 8443, 443 } accept');
    const chain = lines.slice(lines.indexOf('\tchain walled_garden {'));
    expect(chain.slice(-3)).toEqual(['\t\tdrop', '\t}', '}']);
  });

  it('writes host names and closed entries as comments only', () => {
    for (const l of lines) {
      expect(l, l).not.toMatch(/google|apple\.com|\*\./);
      expect(l, l).not.toMatch(/\b(2195|2196|2197|5228)\b/);
    }
    expect(text.replace(/\n\t\t# /g, ' ')).toContain("nft cannot match names. Allow them in the router's walled garden by name");
    expect(text).toMatch(/#\s+mtalk\.google\.com, mtalk4\.google\.com/);
  });

  it('opens the retired ports only when asked, saying they are retired', () => {
    const retired = renderNftables(gardenOf({ ...FULL, include_retired_apns: true }));
    expect(code(retired)).toContain('\t\tip daddr @apple_apns_legacy_v4 tcp dport { 2195, 2196 } accept');
    expect(retired).toContain('# APNs legacy binary API (gateway 2195, feedback 2196) [opened: retired service]: retired by\n\t\t# Apple on 31 March 2021');
  });

  it('opens the certificate checks (RFC 8908 §4.1) only when asked: NTP and OCSP/CRL addresses by rule, names as comments', () => {
    expect(code(text).join('\n')).not.toMatch(/dport (80|123)\b/);
    expect(text).toContain('# NTP (time) [not opened: optional]');
    const on = renderNftables(gardenOf({ ...FULL, certificate_checks: CHECKS }));
    expect(code(on)).toContain('\t\tip daddr @ntp_v4 udp dport 123 accept');
    expect(code(on)).toContain('\t\tip6 daddr @ntp_v6 udp dport 123 accept');
    expect(code(on)).toContain('\t\tip daddr @certificate_revocation_v4 tcp dport 80 accept');
    expect(on).toContain('elements = { 10.99.0.123 }');
    expect(on).toMatch(/# NTP \(time\) \[opened: optional\]/);
    expect(on).toMatch(/#\s+time\.apple\.com/);
    for (const l of code(on)) expect(l, l).not.toMatch(/example\.com|apple\.com/);
  });

  it('without registration networks: no jump, an example instead', () => {
    const bare = renderNftables(gardenOf());
    expect(bare).not.toMatch(/^\s*ip6? saddr/m);
    expect(bare).toContain(`#   ip saddr 10.99.0.0/24 jump walled_garden`);
    expect(bare).toContain('# Warnings:');
  });

  it('with an IPv4 registration network only, IPv6 is left alone', () => {
    const v4 = renderNftables(gardenOf({ registration_networks: ['10.99.0.0/24'] }));
    expect(v4).not.toContain('registration_v6');
    expect(v4).toContain('# No IPv6 registration network: IPv6 traffic is not filtered here. If the registration');
  });
});

describe('renderIptables', () => {
  const v4 = renderIptables(gardenOf(FULL), 4);
  const v6 = renderIptables(gardenOf(FULL), 6);
  const rules = (text: string) => code(text).filter((l) => l.startsWith('-A '));

  it('is one filter-table chain of its own, for iptables-restore --noflush', () => {
    expect(code(v4)[0]).toBe('*filter');
    expect(code(v4)[1]).toBe(`:${IPTABLES_CHAIN} - [0:0]`);
    expect(code(v4).at(-1)).toBe('COMMIT');
    expect(v4).toContain('#   iptables-restore --noflush < FILE');
    expect(v4).toContain(`#   iptables -C FORWARD -j ${IPTABLES_CHAIN} 2>/dev/null || iptables -I FORWARD -j ${IPTABLES_CHAIN}`);
    for (const r of [...rules(v4), ...rules(v6)]) expect(r.startsWith(`-A ${IPTABLES_CHAIN} `), r).toBe(true);
  });

  it('restricts every rule to the registration network of its family and ends with DROP', () => {
    for (const r of rules(v4)) expect(r, r).toMatch(/^-A \S+ -s 10\.99\.0\.0\/24,10\.98\.0\.0\/24 /);
    for (const r of rules(v6)) expect(r, r).toMatch(/^-A \S+ -s fd00:99::\/64 /);
    expect(rules(v4).at(-1)).toBe(`-A ${IPTABLES_CHAIN} -s 10.99.0.0/24,10.98.0.0/24 -j DROP`);
    expect(rules(v6).at(-1)).toBe(`-A ${IPTABLES_CHAIN} -s fd00:99::/64 -j DROP`);
  });

  it('keeps each family to its own addresses', () => {
    expect(rules(v4)).toContain(`-A ${IPTABLES_CHAIN} -s 10.99.0.0/24,10.98.0.0/24 -d 17.0.0.0/8 -p tcp -m multiport --dports 5223,443 -j ACCEPT`);
    expect(rules(v4)).toContain(`-A ${IPTABLES_CHAIN} -s 10.99.0.0/24,10.98.0.0/24 -d 10.99.0.53 -p udp --dport 53 -j ACCEPT`);
    expect(rules(v6)).toContain(`-A ${IPTABLES_CHAIN} -s fd00:99::/64 -d 2620:149:a44::/48,2403:300:a42::/48,2403:300:a51::/48,2a01:b740:a42::/48 -p tcp -m multiport --dports 5223,443 -j ACCEPT`);
    for (const r of rules(v4)) expect(r).not.toMatch(/-d \S*:/);
    for (const r of rules(v6)) expect(r).not.toMatch(/-d \S*\d+\.\d+\.\d+\.\d+/);
    expect(v4).toContain('For IPv6: `enrollgate ports --format ip6tables`');
  });

  it('opens the certificate checks only when asked, each family to its own NTP addresses', () => {
    for (const r of [...rules(v4), ...rules(v6)]) expect(r).not.toMatch(/--dports? (80|123)\b/);
    const on4 = rules(renderIptables(gardenOf({ ...FULL, certificate_checks: CHECKS }), 4));
    const on6 = rules(renderIptables(gardenOf({ ...FULL, certificate_checks: CHECKS }), 6));
    expect(on4).toContain(`-A ${IPTABLES_CHAIN} -s 10.99.0.0/24,10.98.0.0/24 -d 10.99.0.123 -p udp --dport 123 -j ACCEPT`);
    expect(on4).toContain(`-A ${IPTABLES_CHAIN} -s 10.99.0.0/24,10.98.0.0/24 -d 192.0.2.80 -p tcp --dport 80 -j ACCEPT`);
    expect(on6).toContain(`-A ${IPTABLES_CHAIN} -s fd00:99::/64 -d fd00:99::123 -p udp --dport 123 -j ACCEPT`);
    expect(on6.join('\n')).not.toMatch(/--dport 80\b/);
  });

  it('writes host names as comments: iptables would resolve them once, at load time', () => {
    for (const r of [...rules(v4), ...rules(v6)]) expect(r).not.toMatch(/google|apple\.com|2195|2197|5228/);
    expect(v4).toMatch(/^# {3}play\.google\.com, android\.clients\.google\.com/m);
  });

  it('without a registration network of its family: a warning and a hook that must be edited', () => {
    const bare = renderIptables(gardenOf(), 4);
    expect(bare).toContain('WARNING: walled_garden.registration_networks has no IPv4 network');
    expect(bare).toContain(`iptables -I FORWARD -s REGISTRATION_NETWORK -j ${IPTABLES_CHAIN}`);
    expect(rules(bare).at(-1)).toBe(`-A ${IPTABLES_CHAIN} -j DROP`);
  });
});

describe('commentLines', () => {
  it('wraps at the width with the first and the next prefixes', () => {
    expect(commentLines('aaa bbb ccc ddd', '# ', 9)).toEqual(['# aaa bbb', '# ccc ddd']);
    expect(commentLines('aaa bbb ccc', 'x: ', 10, '   ')).toEqual(['x: aaa bbb', '   ccc']);
    expect(commentLines('averyveryverylongword short', '# ', 8)).toEqual(['# averyveryverylongword', '# short']);
    expect(commentLines('', '# ')).toEqual([]);
  });
});
