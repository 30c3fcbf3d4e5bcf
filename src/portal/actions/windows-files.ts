import type { Context } from 'koa';
import type { WifiConfig } from '../../config/load.js';
import type { Device } from '../../devices/device.js';
import { LinkExpiredError } from '../../errors.js';
import type { PortalDeps } from '../deps.js';
import { networkAsks, nextSteps } from '../next-steps.js';
import type { Translator } from '../languages/languages.js';
import { minutesLeft, type LinkedFile, type ProfileLink } from '../profile-links.js';
import { clientIp, pageWords, render } from '../respond.js';
import { downloaded } from '../download-audit.js';

/**
 * Windows' files: one WLAN profile per network (for `netsh wlan add profile … user=current`),
 * the root CA as a .cer to put in the user's Trusted Root Certification Authorities, and for
 * EAP-TLS the device's PKCS#12. Each has its own one-time link, issued when the page is
 * shown; the page's own link is used up then, because the PKCS#12's password is on it and
 * is shown once.
 */

/** RFC 2585 §4.1: a DER certificate. */
const CER_TYPE = 'application/pkix-cert';
const P12_TYPE = 'application/x-pkcs12';
/** RFC 7303. */
const XML_TYPE = 'application/xml';

/** "<ssid>.xml", the name the page's netsh command uses: characters that are no trouble in a file name, a command line or the header. */
export function wlanFilename(ssid: string): string {
  const name = ssid.replace(/[^A-Za-z0-9 ._-]/g, '_').replace(/^[ .]+|[ .]+$/g, '');
  return `${name === '' ? 'wifi' : name}.xml`;
}

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
  const profiles = deps.profiles;
  if (!profiles) throw new LinkExpiredError();
  const ip = clientIp(ctx);
  await deps.profileLinks.take(id, ip, deps.clock.now());
  const issue = async (file: LinkedFile) => {
    const { id: fileId } = await deps.profileLinks.issue({ mac: device.mac, owner: device.owner, ip, file }, deps.clock.now());
    return ctx.urls.route('portal.profile_download', { id: fileId });
  };
  const identity = profiles.windowsNeedsIdentity() ? await profiles.deviceIdentity(device) : undefined;
  const words = pageWords(ctx, deps);
  const networks = [];
  for (const n of profiles.wlanProfiles()) networks.push({ ssid: n.ssid, filename: wlanFilename(n.ssid), url: await issue({ kind: 'wlan', ssid: n.ssid }), asks: asks(n.security, words) });
  const next = nextSteps(deps.config, words, 'pc');
  render(ctx, deps, 'windows-files.njk', {
    user: link.owner,
    mac: device.mac,
    ca: { url: await issue({ kind: 'ca' }), filename: profiles.caCertificate().filename },
    ...(identity ? { identity: { url: await issue({ kind: 'p12', p12: identity.body.toString('base64') }), filename: identity.filename, password: identity.password } } : {}),
    networks,
    cutoff_text: next.cutoff_text,
    morning_text: next.morning_text,
    minutes: minutesLeft(link, deps.clock.now()),
    devices_url: ctx.urls.route('portal.devices'),
    // This page uses its link up: asked again in another language, it would be gone.
  }, 200, { languageLinks: false });
}

/** GET /portal/profile/:id for a link that names one file: that file, as an attachment, audited. */
export async function windowsFileDownload(ctx: Context, deps: PortalDeps, file: LinkedFile, device: Device): Promise<void> {
  const profiles = deps.profiles;
  if (!profiles || device.platform !== 'windows') throw new LinkExpiredError();
  let sent: { filename: string; type: string; body: Buffer };
  switch (file.kind) {
    case 'ca':
      sent = { ...profiles.caCertificate(), type: CER_TYPE };
      break;
    case 'p12':
      sent = { filename: profiles.deviceIdentityFilename(), type: P12_TYPE, body: Buffer.from(file.p12, 'base64') };
      break;
    case 'wlan': {
      // The network may have been taken out of the configuration since the page was shown.
      const profile = profiles.wlanProfiles().find((p) => p.ssid === file.ssid);
      if (!profile) throw new LinkExpiredError();
      sent = { filename: wlanFilename(profile.ssid), type: XML_TYPE, body: profile.body };
      break;
    }
  }
  downloaded(deps, device, sent.filename);
  ctx.status = 200;
  ctx.type = sent.type;
  ctx.set('Content-Disposition', `attachment; filename="${sent.filename}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = sent.body;
}
