import type { Context } from 'koa';
import type { Device } from '../../devices/device.js';
import { manualSettings } from '../../profiles/eap-settings.js';
import type { PortalDeps } from '../deps.js';
import type { ProfileLink } from '../profile-links.js';
import { openFilesPage } from './device-files.js';

/**
 * An Android device's page where no agent is configured: Android 11 and later install no
 * Wi-Fi settings from a web page, so the page gives the CA (.crt) and, for EAP-TLS, the
 * device's PKCS#12 (with a password: Android's installer wants one) behind one-time links,
 * and per network the values to enter in Settings by hand (profiles/eap-settings.ts).
 */
export async function androidFilesPage(ctx: Context, deps: PortalDeps, id: string, link: ProfileLink, device: Device): Promise<void> {
  await openFilesPage(ctx, deps, id, link, device, 'android', 'phone', (page) => {
    const networks = page.profiles.networksFor('android').map((n) => manualSettings(n, device.owner));
    page.show('android-settings.njk', { networks });
  });
}
