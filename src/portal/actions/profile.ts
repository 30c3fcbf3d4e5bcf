import type { Context } from 'koa';
import type { Device, Platform } from '../../devices/device.js';
import { sameUser } from '../../devices/device-registry.js';
import { minutesLeft, type ProfileLink } from '../profile-links.js';
import { DeviceOwnedByOtherError, GatewayError, LinkExpiredError } from '../../errors.js';
import { MOBILECONFIG_TYPE } from '../../profiles/profile-service.js';
import type { PortalDeps } from '../deps.js';
import type { Flow } from '../flow.js';
import { clientIp, clientOf, formProblem, formRefusal, loadFlow, MISSING_FIELDS, pageWords, redirectInside, render, renderForm, type FormRefusal } from '../respond.js';
import { credentials } from './credentials.js';
import { nextSteps } from '../next-steps.js';
import { openAfterWifiLogin } from './self-service.js';
import { windowsSupports } from '../../profiles/windows-wlan-profile.js';
import { chromeosSupports } from '../../profiles/chromeos-onc.js';
import { windowsFilesPage } from './windows-files.js';
import { linuxFilesPage } from './linux-files.js';
import { androidFilesPage } from './android-files.js';
import { chromeosDownload, chromeosPage } from './chromeos-files.js';
import { fileDownload, sendAttachment, sendFile } from './device-files.js';
import { passpointDownload, passpointPage } from './passpoint.js';

/**
 * The iOS enrollment profile: a signed .mobileconfig with the root CA and the
 * configured Wi-Fi networks, built for one device and its owner. The portal never
 * links to a profile directly: the owner logs in (at enrollment, or again from the
 * "online" page), gets a one-time link (profile-links.ts) and the page that offers it
 * explains why Apple's captive sheet cannot install it (open the link in Safari).
 */

/** Issues a link for the device's owner and sends the browser to the page that offers it. */
export async function offerProfile(ctx: Context, deps: PortalDeps, flow: Pick<Flow, 'mac'>, owner: string): Promise<string> {
  const { id } = await deps.profileLinks.issue({ mac: flow.mac, owner, ip: clientIp(ctx) }, deps.clock.now());
  deps.log.info({ event: 'profile.link_issued', mac: flow.mac, user: owner }, 'profile link issued');
  return ctx.urls.route('portal.profile_page', { d: id });
}

/** Whether enrolled devices of the platform get files after a login (there is something to configure, in a form the platform takes). */
export function downloadsOffered(deps: Pick<PortalDeps, 'config' | 'profiles' | 'agent'>, platform: Platform): boolean {
  if (deps.profiles === undefined) return false;
  // Android gets a Passpoint profile (profiles/passpoint.ts) where that is on, which needs no ios.wifi network.
  if (platform === 'android' && deps.config.passpoint.enabled) return true;
  if (deps.config.ios.wifi.length === 0) return false;
  switch (platform) {
    // Macs install the same signed .mobileconfig as iPhones and iPads.
    case 'ios':
    case 'macos':
      return true;
    // WLAN profiles (windows-files.ts) and an ONC file (chromeos-files.ts), for the networks they can describe.
    case 'windows':
      return deps.config.ios.wifi.some(windowsSupports);
    case 'chromeos':
      return deps.config.ios.wifi.some(chromeosSupports);
    // The settings written out (linux-files.ts).
    case 'linux':
      return true;
    // With an agent, the agent sets the phone up; without one, the settings to enter by hand (android-files.ts).
    case 'android':
      return deps.agent === undefined;
    case 'other':
      return false;
  }
}

/** POST /portal/profile: the owner of an enrolled iOS device logs in again for a new link. */
export async function profileLoginAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'profile');
  const device = await deps.devices.get(flow.mac);
  if (!device || !downloadsOffered(deps, device.platform)) return redirectInside(ctx, ctx.urls.route('portal.start'));
  // New files carry a new certificate: only for a platform that may still enroll.
  deps.enrollment.checkPlatform(device.platform);
  const again = (refusal: FormRefusal) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const username = typeof body.username === 'string' ? body.username.slice(0, 256) : '';
    renderForm(ctx, deps, 'profile-login.njk', flow, { error: refusal.error, invalid: refusal.invalid, username, owner: device.owner }, refusal.status);
  };
  const creds = credentials(ctx.request.body, clientOf(ctx, 'portal'));
  if (!creds) return again(formProblem(ctx, deps, MISSING_FIELDS));
  let target: string;
  try {
    const user = await deps.enrollment.authenticate(creds);
    if (!sameUser(user.username, device.owner)) throw new DeviceOwnedByOtherError();
    target = await offerProfile(ctx, deps, flow, device.owner);
    await openAfterWifiLogin(ctx, deps, device.owner, flow.mac);
  } catch (err) {
    if (err instanceof GatewayError && err.expose) return again(formRefusal(ctx, deps, err));
    throw err;
  }
  await deps.flows.finish(flow);
  redirectInside(ctx, target);
}

/**
 * GET /portal/profile?d=…: the page with the one-time link (it does not use the link up;
 * the pages of Windows, Linux and Android, which show a PKCS#12's password, do: device-files.ts).
 */
export async function profilePageAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const id = typeof ctx.query.d === 'string' ? ctx.query.d : '';
  const link = await deps.profileLinks.peek(id, clientIp(ctx), deps.clock.now());
  // A link to one file (device-files.ts) is not a page's: opened as one, it would use itself up for a new page and a new certificate.
  if (link.file) throw new LinkExpiredError();
  const device = await linkedDevice(deps, link);
  switch (device.platform) {
    case 'windows':
      return windowsFilesPage(ctx, deps, id, link, device);
    case 'linux':
      return linuxFilesPage(ctx, deps, id, link, device);
    // Passpoint where it is on (the phone needs no settings typed in), else the settings by hand.
    case 'android':
      return deps.config.passpoint.enabled ? passpointPage(ctx, deps, id, link) : androidFilesPage(ctx, deps, id, link, device);
    case 'chromeos':
      return chromeosPage(ctx, deps, id, link, device);
  }
  const download = ctx.urls.route('portal.profile_download', { id });
  render(ctx, deps, 'profile-ready.njk', {
    platform: device.platform,
    download_url: download,
    mac: link.mac,
    user: link.owner,
    minutes: minutesLeft(link, deps.clock.now()),
    devices_url: ctx.urls.route('portal.devices'),
    next: nextSteps(deps.config, pageWords(ctx, deps), device.platform === 'macos' ? 'mac' : 'phone'),
  });
}

/**
 * GET /portal/profile/:id: the signed profile, a Chromebook's ONC file, or the one file a link
 * names, once. Building what carries a new certificate may fail (the CA cannot sign): the link
 * is then given back, to try again.
 */
export async function profileDownloadAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const id = String(ctx.params.id ?? '');
  const link = await deps.profileLinks.take(id, clientIp(ctx), deps.clock.now());
  const device = await linkedDevice(deps, link);
  if (link.file) return fileDownload(ctx, deps, link.file, device);
  await deps.profileLinks.giveBackOnFailure(id, link, () => deps.clock.now(), async () => {
    if (device.platform === 'chromeos') return chromeosDownload(ctx, deps, device);
    if (device.platform === 'android') return passpointDownload(ctx, deps, device);
    if (!deps.profiles || (device.platform !== 'ios' && device.platform !== 'macos')) throw new LinkExpiredError();
    const profile = await deps.profiles.enrollmentProfile({ mac: device.mac, owner: device.owner });
    sendFile(ctx, deps, device, { ...profile, type: MOBILECONFIG_TYPE });
  });
}

/**
 * The device a link was issued for, still enrolled to the same person, on a platform that
 * may still enroll; else the link is dead (410), or refused (403).
 */
async function linkedDevice(deps: PortalDeps, link: ProfileLink): Promise<Device> {
  const device = await deps.devices.get(link.mac);
  // Unenrolled (or given to somebody else) since the link was issued: nothing to hand out.
  if (!device || !sameUser(device.owner, link.owner)) throw new LinkExpiredError();
  // Switched off since the link was issued: the files carry a new certificate.
  deps.enrollment.checkPlatform(device.platform);
  return device;
}

/** GET /portal/ca.mobileconfig: the root certificate as a (signed) profile, for devices that prefer one. */
export async function rootProfileAction(ctx: Context, deps: PortalDeps): Promise<void> {
  if (!deps.profiles) return;
  sendAttachment(ctx, { ...deps.profiles.rootProfile(), type: MOBILECONFIG_TYPE });
}
