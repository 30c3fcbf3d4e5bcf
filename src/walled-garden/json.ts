import type { WalledGarden } from './catalogue.js';

/**
 * The walled garden as JSON (`enrollgate ports --format json`, GET /api/walled-garden).
 * A stable shape, documented in docs/walled-garden.md: add fields, never rename or remove them
 * without raising `version`.
 */
export function walledGardenJson(garden: WalledGarden) {
  return {
    version: 1,
    registration_networks: garden.registrationNetworks,
    entries: garden.entries.map((e) => ({
      id: e.id,
      service: e.service,
      status: e.status,
      open: e.open,
      protocols: e.protocols,
      ports: e.ports,
      cidrs: e.cidrs,
      hostnames: e.hostnames,
      why: e.why,
      source: e.source,
    })),
    warnings: garden.warnings,
  };
}
