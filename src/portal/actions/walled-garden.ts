import type { Context } from 'koa';
import { walledGarden, type WalledGarden } from '../../walled-garden/catalogue.js';
import { walledGardenJson } from '../../walled-garden/json.js';
import { portsText } from '../../walled-garden/table.js';
import type { PortalDeps } from '../deps.js';
import { render } from '../respond.js';

/**
 * GET /portal/walled-garden: what devices that are not enrolled yet must reach, for
 * the people setting up the router. Nothing on it is secret: the vendors publish their
 * lists, and a device on the registration network sees the portal and DNS addresses.
 */
export function walledGardenPageAction(ctx: Context, deps: PortalDeps): void {
  render(ctx, deps, 'walled-garden.njk', walledGardenPage(walledGarden(deps.config)));
}

/** GET /api/walled-garden: the same list as JSON, the shape of `enrollgate ports --format json`. */
export function walledGardenApiAction(ctx: Context, deps: PortalDeps): void {
  ctx.set('Cache-Control', 'no-cache');
  ctx.body = walledGardenJson(walledGarden(deps.config));
}

/** What walled-garden.njk shows: each entry with its ports and destinations as one line of text. */
export function walledGardenPage(garden: WalledGarden) {
  return {
    registration_networks: garden.registrationNetworks,
    entries: garden.entries.map((e) => ({ ...e, ports_text: portsText(e), to: [...e.cidrs, ...e.hostnames].join(', ') || 'nothing configured' })),
    warnings: garden.warnings,
  };
}
