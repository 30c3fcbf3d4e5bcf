import { familyOf, type GardenEntry, type WalledGarden } from './catalogue.js';
import { commentLines } from './comment.js';
import { portsText, statusLabel } from './table.js';

export const IPTABLES_CHAIN = 'ENROLLGATE-WALLED-GARDEN';

/**
 * An `iptables-restore` (family 4) or `ip6tables-restore` (family 6) file for the
 * filter table: one chain of its own, replaced on every load with --noflush, that
 * accepts the walled garden and drops the rest. Every rule matches only the
 * registration network (-s) when it is configured, so one unconditional jump from
 * FORWARD is enough. Host names are written as comments: iptables would resolve them
 * once, at load time, and the push services' addresses change.
 */
export function renderIptables(garden: WalledGarden, family: 4 | 6): string {
  const tool = family === 4 ? 'iptables' : 'ip6tables';
  const other = family === 4 ? 'ip6tables' : 'iptables';
  const sources = garden.registrationNetworks.filter((c) => familyOf(c) === family);
  const from = sources.length > 0 ? `-s ${sources.join(',')} ` : '';
  const hook =
    sources.length > 0
      ? [`#   ${tool} -C FORWARD -j ${IPTABLES_CHAIN} 2>/dev/null || ${tool} -I FORWARD -j ${IPTABLES_CHAIN}`]
      : [
          ...commentLines(
            `WARNING: walled_garden.registration_networks has no IPv${family} network, so the rules below match every source: jump to the chain only for the registration network, replacing REGISTRATION_NETWORK:`,
            '# ',
          ),
          `#   ${tool} -C FORWARD -s REGISTRATION_NETWORK -j ${IPTABLES_CHAIN} 2>/dev/null || ${tool} -I FORWARD -s REGISTRATION_NETWORK -j ${IPTABLES_CHAIN}`,
        ];

  const rules: string[] = [];
  for (const e of garden.entries) {
    rules.push(...commentLines(`${e.service} ${statusLabel(e)}: ${e.why}.`, '# '), ...commentLines(`Source: ${e.source}.`, '# '));
    if (e.open) {
      const to = e.cidrs.filter((c) => familyOf(c) === family);
      const lines = to.length > 0 ? e.protocols.map((p) => `-A ${IPTABLES_CHAIN} ${from}-d ${to.join(',')} -p ${p} ${portMatch(e)} -j ACCEPT`) : [];
      rules.push(...lines, ...hostnameComments(e, family, lines.length > 0));
    }
  }

  return [
    `# enrollgate walled garden (IPv${family}): what devices that are not enrolled yet may reach from`,
    `# the registration network. Written by \`enrollgate ports --format ${tool}\`. Load it with`,
    `#   ${tool}-restore --noflush < FILE`,
    `# (--noflush keeps your other rules; the chain ${IPTABLES_CHAIN} is emptied and refilled`,
    '# on every load). Then, once, send forwarded traffic to the chain:',
    ...hook,
    `# For IPv${family === 4 ? 6 : 4}: \`enrollgate ports --format ${other}\`, loaded with ${other}-restore --noflush.`,
    '*filter',
    `:${IPTABLES_CHAIN} - [0:0]`,
    ...rules,
    '# Everything else from devices that are not enrolled.',
    `-A ${IPTABLES_CHAIN} ${from}-j DROP`,
    'COMMIT',
    ...(garden.warnings.length > 0 ? ['# Warnings:', ...garden.warnings.flatMap((w) => commentLines(w, '#   '))] : []),
    '',
  ].join('\n');
}

/** `--dport 53` or `-m multiport --dports 5223,443` (at most 15 ports, far more than any entry has). */
function portMatch(e: GardenEntry): string {
  return e.ports.length === 1 ? `--dport ${e.ports[0]}` : `-m multiport --dports ${e.ports.join(',')}`;
}

/** What to do about the host names of an open entry, and about an entry with nothing to open in this family. */
function hostnameComments(e: GardenEntry, family: 4 | 6, hasRules: boolean): string[] {
  const names = e.hostnames.length > 0 ? commentLines(e.hostnames.join(', '), '#   ') : [];
  if (hasRules) return names.length > 0 ? ['# Also known by name:', ...names] : [];
  if (names.length === 0) {
    const hasOtherFamily = e.cidrs.length > 0;
    return [hasOtherFamily ? `# No IPv${family} address to open.` : `# Nothing to open: no address is configured (${e.source}).`];
  }
  return [
    ...commentLines(
      `By host name only (${portsText(e)}): allow them in the router's walled garden by name (DNS or TLS SNI), or fill an ipset from DNS answers (dnsmasq's ipset=) and match it here with -m set --match-set:`,
      '# ',
    ),
    ...names,
  ];
}
