import type { GardenEntry, WalledGarden } from './catalogue.js';
import { commentLines } from './comment.js';

/** `enrollgate ports` (the default format): the walled garden for a person to read. */
export function renderTable(garden: WalledGarden): string {
  const from = garden.registrationNetworks.length > 0 ? garden.registrationNetworks.join(', ') : 'not configured (walled_garden.registration_networks)';
  const out = ['What devices that are not enrolled yet must reach (the walled garden)', `From: ${from}`, ''];
  for (const e of garden.entries) {
    out.push(`${statusLabel(e)}  ${e.service}`, ...field('ports', portsText(e)));
    if (e.cidrs.length > 0) out.push(...field('to', e.cidrs.join(', ')));
    if (e.hostnames.length > 0) out.push(...field('names', e.hostnames.join(', ')));
    if (e.cidrs.length === 0 && e.hostnames.length === 0) out.push(...field('to', 'nothing configured'));
    out.push(...field('why', e.why), ...field('source', e.source), '');
  }
  if (garden.warnings.length > 0) {
    out.push('Warnings:');
    for (const w of garden.warnings) out.push(...commentLines(w, '  - ', 96, '    '));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** One labelled field of an entry, wrapped under its value. */
function field(label: string, value: string): string[] {
  return commentLines(value, `    ${`${label}:`.padEnd(8)}`, 96, ' '.repeat(12));
}

/** "tcp 5223, 443", "udp+tcp 53". */
export function portsText(e: Pick<GardenEntry, 'protocols' | 'ports'>): string {
  return `${e.protocols.join('+')} ${e.ports.join(', ')}`;
}

/** How an entry stands: what the firewall renderers do with it. */
export function statusLabel(e: Pick<GardenEntry, 'status' | 'open'>): string {
  if (e.status === 'open') return '[open]';
  if (e.status === 'informational') return '[not opened: informational]';
  if (e.status === 'optional') return e.open ? '[opened: optional]' : '[not opened: optional]';
  return e.open ? '[opened: retired service]' : '[not opened: retired]';
}
