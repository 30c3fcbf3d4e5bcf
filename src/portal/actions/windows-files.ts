import type { Context } from 'koa';
import type { WifiConfig } from '../../config/load.js';
import type { Device } from '../../devices/device.js';
import type { PortalDeps } from '../deps.js';
import { networkAsks } from '../next-steps.js';
import type { Translator } from '../languages/languages.js';
import type { ProfileLink } from '../profile-links.js';
import { openFilesPage } from './device-files.js';

/**
 * Windows' files: one WLAN profile per network (for `netsh wlan add profile … user=current`),
 * the root CA as a .cer to put in the user's Trusted Root Certification Authorities, and for
 * EAP-TLS the device's PKCS#12. Each has its own one-time link, issued when the page is
 * shown; the page's own link is used up then, because the PKCS#12's password is on it and
 * is shown once (device-files.ts).
 */

/** What Windows asks when it joins the network with its WLAN profile added, in the page's words. */
function asks(security: WifiConfig['security'], words: Translator): string {
  switch (security) {
    case 'eap-tls':
      return words.text('windows.asks.eap_tls');
    case 'eap-ttls':
    case 'eap-peap':
      return words.text('windows.asks.password');
    case 'wpa2-personal':
    case 'wpa3-personal':
    case 'open':
      return networkAsks(security, words);
  }
}

/** GET /portal/profile?d=… for a Windows PC: uses the page's link up and shows one link per file. */
export async function windowsFilesPage(ctx: Context, deps: PortalDeps, id: string, link: ProfileLink, device: Device): Promise<void> {
  await openFilesPage(ctx, deps, id, link, device, 'windows', 'pc', async (page) => {
    const networks = [];
    for (const n of page.profiles.wlanProfiles()) networks.push({ ssid: n.ssid, filename: n.filename, url: await page.issue({ kind: 'wlan', ssid: n.ssid }), asks: asks(n.security, page.words) });
    page.show('windows-files.njk', { networks });
  });
}
