import type { Config } from '../../config/load.js';
import { BadInputError } from '../../errors.js';
import { walledGarden, type WalledGarden } from '../../walled-garden/catalogue.js';
import { renderIptables } from '../../walled-garden/iptables.js';
import { walledGardenJson } from '../../walled-garden/json.js';
import { renderNftables } from '../../walled-garden/nftables.js';
import { renderTable } from '../../walled-garden/table.js';

/** The `ports` command's help (printed by `enrollgate help`; one line of the usage text, no newline at the end). */
export const PORTS_USAGE = `  enrollgate ports [--format table|json|nftables|iptables|ip6tables] [--config FILE]
      What devices that are not enrolled yet must reach (the portal, DNS, Apple and Google
      push, the Play Store), from the walled_garden section of the config: a table to read
      (default), JSON, or a firewall file for nft -f, iptables-restore or ip6tables-restore.`;

const RENDERERS: Record<string, (garden: WalledGarden) => string> = {
  table: renderTable,
  json: (garden) => `${JSON.stringify(walledGardenJson(garden), null, 2)}\n`,
  nftables: renderNftables,
  iptables: (garden) => renderIptables(garden, 4),
  ip6tables: (garden) => renderIptables(garden, 6),
};

export const PORTS_FORMATS = Object.keys(RENDERERS);

/**
 * `enrollgate ports`: the walled garden in one format, handed to `write` as it is
 * (it ends with a newline already). Throws BadInputError for an unknown format (the
 * CLI checks the format first and exits 2).
 */
export function portsCommand(config: Config, format: string | undefined, write: (text: string) => void): void {
  const name = format ?? 'table';
  if (!Object.hasOwn(RENDERERS, name)) throw new BadInputError(`--format: got ${JSON.stringify(name)}; expected one of ${PORTS_FORMATS.join(', ')}`);
  write(RENDERERS[name]!(walledGarden(config)));
}
