import type { Context } from 'koa';
import type { Device } from '../../devices/device.js';
import { LinkExpiredError } from '../../errors.js';
import { WIFI_CONFIG_TYPE } from '../../profiles/passpoint.js';
import type { PortalDeps } from '../deps.js';
import { downloaded } from '../download-audit.js';
import { minutesLeft, type ProfileLink } from '../profile-links.js';
import { render } from '../respond.js';

/**
 * Android's Passpoint profile (passpoint.enabled): the page with the one-time link, and the
 * download. Chrome on Android hands the download to the system's Wi-Fi installer only for
 * a GET it started from a tap on a link (not a redirect), answered with exactly these
 * headers: Content-Type application/x-wifi-config, Content-Transfer-Encoding base64, and no
 * Content-Disposition (source.android.com, "Passpoint R1"; docs/passpoint.md).
 */

/** GET /portal/profile?d=… for an Android device: the page with the link (it does not use it up). */
export function passpointPage(ctx: Context, deps: PortalDeps, id: string, link: ProfileLink): void {
  if (!deps.profiles || !deps.config.passpoint.enabled) throw new LinkExpiredError();
  render(ctx, deps, 'passpoint-ready.njk', {
    download_url: ctx.urls.route('portal.profile_download', { id }),
    provider_name: deps.profiles.passpointProviderName(),
    mac: link.mac,
    user: link.owner,
    minutes: minutesLeft(link, deps.clock.now()),
    devices_url: ctx.urls.route('portal.devices'),
  });
}

/** GET /portal/profile/:id for an Android device: its Passpoint profile, with a new certificate, audited. */
export async function passpointDownload(ctx: Context, deps: PortalDeps, device: Device): Promise<void> {
  if (!deps.profiles || !deps.config.passpoint.enabled) throw new LinkExpiredError();
  const profile = await deps.profiles.passpointProfile({ mac: device.mac, owner: device.owner });
  downloaded(deps, device, profile.filename);
  ctx.status = 200;
  ctx.type = WIFI_CONFIG_TYPE;
  ctx.set('Content-Transfer-Encoding', 'base64');
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = profile.body;
}
