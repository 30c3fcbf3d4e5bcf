import { familyOf, type GardenEntry, type WalledGarden } from './catalogue.js';
import { commentLines } from './comment.js';
import { portsText, statusLabel } from './table.js';

export const NFT_TABLE = 'enrollgate_walled_garden';
const CHAIN = 'walled_garden';

/**
 * A complete ruleset file for `nft -f`: a table of its own (loading it again replaces
 * only that table), with the forwarded traffic of the registration network sent to a
 * chain that accepts the walled garden and drops the rest. Host names cannot be
 * matched by nft: they are written as comments saying what to do instead.
 */
export function renderNftables(garden: WalledGarden): string {
  const sets: string[] = [];
  const addSet = (name: string, family: 4 | 6, cidrs: readonly string[]): string | undefined => {
    const elements = cidrs.filter((c) => familyOf(c) === family);
    if (elements.length === 0) return undefined;
    // interval: networks; auto-merge: overlapping networks (10.0.0.0/8 and 10.1.0.0/16) are not an error.
    sets.push(`\tset ${name} {`, `\t\ttype ipv${family}_addr`, '\t\tflags interval', '\t\tauto-merge', `\t\telements = { ${elements.join(', ')} }`, '\t}', '');
    return name;
  };

  const forward = ['\t\ttype filter hook forward priority filter; policy accept;'];
  const registration = { 4: addSet('registration_v4', 4, garden.registrationNetworks), 6: addSet('registration_v6', 6, garden.registrationNetworks) };
  if (garden.registrationNetworks.length === 0) {
    forward.push(
      ...commentLines(
        'walled_garden.registration_networks is not configured, so no traffic is sent to the walled_garden chain yet. Add a line for each network unenrolled devices use, for example:',
        '\t\t# ',
      ),
      `\t\t#   ip saddr 10.99.0.0/24 jump ${CHAIN}`,
    );
  }
  for (const family of [4, 6] as const) {
    const set = registration[family];
    if (set) forward.push(`\t\t${family === 4 ? 'ip' : 'ip6'} saddr @${set} jump ${CHAIN}`);
    else if (garden.registrationNetworks.length > 0) {
      // A registration network with IPv6 routed but only its IPv4 prefix listed would let devices around the garden.
      forward.push(
        ...commentLines(
          `No IPv${family} registration network: IPv${family} traffic is not filtered here. If the registration network routes IPv${family}, add its prefix to walled_garden.registration_networks.`,
          '\t\t# ',
        ),
      );
    }
  }

  const chain: string[] = [];
  for (const e of garden.entries) {
    chain.push(...commentLines(`${e.service} ${statusLabel(e)}: ${e.why}.`, '\t\t# '), ...commentLines(`Source: ${e.source}.`, '\t\t# '));
    if (e.open) {
      const rules = ([4, 6] as const).flatMap((family) => {
        const set = addSet(`${e.id.replaceAll('-', '_')}_v${family}`, family, e.cidrs);
        return set ? e.protocols.map((p) => `\t\t${family === 4 ? 'ip' : 'ip6'} daddr @${set} ${p} dport ${portsOf(e)} accept`) : [];
      });
      chain.push(...rules, ...hostnameComments(e, rules.length > 0));
    }
    chain.push('');
  }
  chain.push('\t\t# Everything else from devices that are not enrolled.', '\t\tdrop');

  return [
    '#!/usr/sbin/nft -f',
    '# enrollgate walled garden: what devices that are not enrolled yet may reach from the',
    '# registration network. Written by `enrollgate ports --format nftables`.',
    '# Check it with `nft -c -f FILE`, load it with `nft -f FILE`: loading replaces this table',
    '# and nothing else. Forwarded traffic from the registration network goes to the chain',
    `# ${CHAIN}, which accepts what is listed and drops the rest. Other traffic, and traffic`,
    '# to this machine itself (the input hook), is not touched here.',
    '',
    // Declaring the table first makes the delete succeed on the first load too.
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    '',
    `table inet ${NFT_TABLE} {`,
    ...sets,
    '\tchain forward {',
    ...forward,
    '\t}',
    '',
    `\tchain ${CHAIN} {`,
    ...chain,
    '\t}',
    '}',
    ...(garden.warnings.length > 0 ? ['', '# Warnings:', ...garden.warnings.flatMap((w) => commentLines(w, '#   '))] : []),
    '',
  ].join('\n');
}

/** `443` or `{ 5223, 443 }`. */
function portsOf(e: GardenEntry): string {
  return e.ports.length === 1 ? String(e.ports[0]) : `{ ${e.ports.join(', ')} }`;
}

/** What to do about the host names of an open entry, which a packet filter cannot match. */
function hostnameComments(e: GardenEntry, hasRules: boolean): string[] {
  if (e.hostnames.length === 0) {
    return hasRules ? [] : [`\t\t# Nothing to open: no address is configured (${e.source}).`];
  }
  const names = commentLines(e.hostnames.join(', '), '\t\t#   ');
  if (hasRules) return ['\t\t# Also known by name:', ...names];
  return [
    ...commentLines(
      `By host name only (${portsText(e)}); nft cannot match names. Allow them in the router's walled garden by name (DNS or TLS SNI), or let the DNS server fill a set with their addresses (dnsmasq's nftset=) and accept ${e.protocols.join('/')} dport ${portsOf(e)} to that set here:`,
      '\t\t# ',
    ),
    ...names,
  ];
}
