import type { Config } from '../../config/load.js';
import { BadInputError } from '../../errors.js';
import { walledGarden, type WalledGarden } from '../../walled-garden/catalogue.js';
import { renderIptables } from '../../walled-garden/iptables.js';
import { walledGardenJson } from '../../walled-garden/json.js';
import { renderNftables } from '../../walled-garden/nftables.js';
import { renderTable } from '../../walled-garden/table.js';
import { isPortsFormat, PORTS_FORMATS, type PortsFormat } from '../usage.js';


const RENDERERS: Readonly<Record<PortsFormat, (garden: WalledGarden) => string>> = {
  table: renderTable,
  json: (garden) => `${JSON.stringify(walledGardenJson(garden), null, 2)}\n`,
  nftables: renderNftables,
  iptables: (garden) => renderIptables(garden, 4),
  ip6tables: (garden) => renderIptables(garden, 6),
};

/**
 * `enrollgate ports`: the walled garden in one format, handed to `write` as it is
 * (it ends with a newline already). Throws BadInputError for an unknown format (the
 * CLI checks the format first and exits 2).
 */
export function portsCommand(config: Config, format: string | undefined, write: (text: string) => void): void {
  const name = format ?? 'table';
  if (!isPortsFormat(name)) throw new BadInputError(`--format: got ${JSON.stringify(name)}; expected one of ${PORTS_FORMATS.join(', ')}`);
  write(RENDERERS[name](walledGarden(config)));
}
