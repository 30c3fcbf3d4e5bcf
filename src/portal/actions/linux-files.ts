import type { Context } from 'koa';
import type { Device } from '../../devices/device.js';
import { manualSettings } from '../../profiles/eap-settings.js';
import { nmcliCommand, nmcliUp } from '../../profiles/networkmanager.js';
import type { PortalDeps } from '../deps.js';
import type { ProfileLink } from '../profile-links.js';
import { openFilesPage } from './device-files.js';

/**
 * A Linux computer's page: the CA as PEM and, for EAP-TLS, the device's PKCS#12 behind
 * one-time links, then per network its settings written out and an `nmcli connection add`
 * line for NetworkManager that names those files in ~/Downloads (profiles/networkmanager.ts).
 */
export async function linuxFilesPage(ctx: Context, deps: PortalDeps, id: string, link: ProfileLink, device: Device): Promise<void> {
  await openFilesPage(ctx, deps, id, link, device, 'linux', 'computer', (page) => {
    const files = { caFilename: page.ca.filename, ...(page.identity ? { p12: { filename: page.identity.filename, password: page.identity.password } } : {}) };
    const networks = page.profiles.networksFor('linux').map((n) => ({ ...manualSettings(n, device.owner), command: nmcliCommand(n, device.owner, files), up: nmcliUp(n.ssid) }));
    page.show('linux-files.njk', { networks });
  });
}
