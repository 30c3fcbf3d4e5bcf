import type { Context } from 'koa';
import type { Device } from '../../devices/device.js';
import { LinkExpiredError } from '../../errors.js';
import { ONC_TYPE } from '../../profiles/chromeos-onc.js';
import type { PortalDeps } from '../deps.js';
import type { ProfileLink } from '../profile-links.js';
import { pageWords, render } from '../respond.js';
import { devicePageFacts, sendFile } from './device-files.js';

/**
 * A Chromebook's page and its one file: an ONC file (profiles/chromeos-onc.ts) to import at
 * chrome://network. As with Apple's profile, the page shows its own link without using it
 * up, and the download builds the file (and, for EAP-TLS, issues the certificate it holds,
 * as PKCS#12 with the empty passphrase ONC requires), once.
 */
export function chromeosPage(ctx: Context, deps: PortalDeps, id: string, link: ProfileLink, device: Device): void {
  render(ctx, deps, 'chromeos-onc.njk', {
    ...devicePageFacts(ctx, deps, pageWords(ctx, deps), link, device, 'chromebook'),
    download_url: ctx.urls.route('portal.profile_download', { id }),
    ssids: deps.profiles ? deps.profiles.networksFor('chromeos').map((n) => n.ssid) : [],
  });
}

/** GET /portal/profile/:id for a Chromebook: its ONC file, audited. */
export async function chromeosDownload(ctx: Context, deps: PortalDeps, device: Device): Promise<void> {
  if (!deps.profiles) throw new LinkExpiredError();
  const onc = await deps.profiles.chromeosOnc(device);
  sendFile(ctx, deps, device, { ...onc, type: ONC_TYPE });
}
