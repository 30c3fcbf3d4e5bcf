import type { Context } from 'koa';
import { sameUser } from '../../devices/device-registry.js';
import { DeviceOwnedByOtherError, GatewayError, LinkExpiredError } from '../../errors.js';
import { MOBILECONFIG_TYPE } from '../../profiles/profile-service.js';
import type { PortalDeps } from '../deps.js';
import type { Flow } from '../flow.js';
import { clientIp, clientOf, formRefusal, loadFlow, MISSING_FIELDS, redirectInside, render, renderForm, type FormRefusal } from '../respond.js';
import { credentials } from './credentials.js';
import { nextSteps } from '../next-steps.js';
import { openAfterWifiLogin } from './self-service.js';

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

/** Whether enrolled iOS devices get a profile at all (there is something to configure). */
export function profilesOffered(deps: Pick<PortalDeps, 'config' | 'profiles'>): boolean {
  return deps.profiles !== undefined && deps.config.ios.wifi.length > 0;
}

/** POST /portal/profile: the owner of an enrolled iOS device logs in again for a new link. */
export async function profileLoginAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'profile');
  const device = await deps.devices.get(flow.mac);
  if (!device || !profilesOffered(deps)) return redirectInside(ctx, ctx.urls.route('portal.start'));
  const again = (refusal: FormRefusal) => {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const username = typeof body.username === 'string' ? body.username.slice(0, 256) : '';
    renderForm(ctx, deps, 'profile-login.njk', flow, { error: refusal.error, invalid: refusal.invalid, username, owner: device.owner }, refusal.status);
  };
  const creds = credentials(ctx.request.body, clientOf(ctx, 'portal'));
  if (!creds) return again(MISSING_FIELDS);
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

/** GET /portal/profile?d=…: the page with the one-time link (it does not use the link up). */
export async function profilePageAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const id = typeof ctx.query.d === 'string' ? ctx.query.d : '';
  const link = await deps.profileLinks.peek(id, clientIp(ctx), deps.clock.now());
  const download = ctx.urls.route('portal.profile_download', { id });
  render(ctx, deps, 'profile-ready.njk', {
    download_url: download,
    mac: link.mac,
    user: link.owner,
    minutes: Math.max(1, Math.round((Date.parse(link.expiresAt) - deps.clock.now().getTime()) / 60_000)),
    devices_url: ctx.urls.route('portal.devices'),
    next: nextSteps(deps.config),
  });
}

/** GET /portal/profile/:id: the signed profile, once. */
export async function profileDownloadAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const link = await deps.profileLinks.take(String(ctx.params.id ?? ''), clientIp(ctx), deps.clock.now());
  const device = await deps.devices.get(link.mac);
  // Unenrolled (or given to somebody else) since the link was issued: no profile.
  if (!device || !sameUser(device.owner, link.owner) || !deps.profiles) throw new LinkExpiredError();
  const profile = await deps.profiles.enrollmentProfile({ mac: device.mac, owner: device.owner });
  deps.log.info({ event: 'profile.downloaded', mac: device.mac, user: device.owner }, 'enrollment profile downloaded');
  sendProfile(ctx, profile);
}

/** GET /portal/ca.mobileconfig: the root certificate as a (signed) profile, for devices that prefer one. */
export async function rootProfileAction(ctx: Context, deps: PortalDeps): Promise<void> {
  if (!deps.profiles) return;
  sendProfile(ctx, deps.profiles.rootProfile());
}

function sendProfile(ctx: Context, profile: { filename: string; body: Buffer }): void {
  ctx.status = 200;
  ctx.type = MOBILECONFIG_TYPE;
  ctx.set('Content-Disposition', `attachment; filename="${profile.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = profile.body;
}
