import type { Context } from 'koa';
import { DateTime } from 'luxon';
import { decideStartPage } from '../decide.js';
import type { PortalDeps } from '../deps.js';
import { identifyDevice } from '../identify.js';
import { readUamRedirect, UAM_PROOF, type UamLogin, type UamRedirect } from '../uam/read-redirect.js';
import type { MacSource } from '../flow.js';
import type { Mac } from '../../mac.js';
import { detectOs } from '../user-agent.js';
import { clientIp, loadFlow, render, renderForm, setFlowCookie } from '../respond.js';
import type { Session } from '../../sessions/session.js';
import type { Platform } from '../../devices/device.js';
import { qrDataUri } from '../qr.js';
import { profilesOffered } from './profile.js';

/** Fixed notices a redirect may ask for (only these: the query picks one, it never supplies text). */
const NOTICES: Readonly<Record<string, string>> = {
  enrolled: 'Your device is enrolled.',
  'logged-in': 'Welcome back.',
};

/** GET /portal: works out who the visitor is and shows the page for their state (decide.ts). */
export async function startAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const ip = clientIp(ctx);
  const redirect = readRedirect(ctx, deps);
  const identified = await identifyDevice(ip, ctx.query, deps.accounting, deps.config.portal.identify_by_redirect_parameters, redirect);
  const os = detectOs(ctx.get('User-Agent'));
  const platform = os.platform;
  if ('problem' in identified) {
    deps.log.info({ event: 'portal.unidentified', ip, problem: identified.problem }, 'portal visitor not identified');
    return render(ctx, deps, 'unidentified.njk', {}, 200);
  }
  const mac = identified.mac;
  const uam = uamLogin(deps, redirect, mac);
  // A claim (unsigned redirect parameters) shows neither the owner nor the session, nor
  // the block list: anyone can type a colleague's MAC, which is visible over the air.
  const claimed = identified.source === 'claimed';
  const [session, device] = await Promise.all([claimed ? undefined : deps.sessions.live(mac), deps.devices.get(mac)]);
  const page = decideStartPage({ identified: true, hasSession: session !== undefined, enrolled: device !== undefined, platform });

  // Policy problems (blocked, randomised MAC, OS too old) are told before anyone types a password.
  if (!claimed && (page === 'login' || page === 'ios-register' || page === 'android-agent')) {
    if (await refusedByPolicy(ctx, deps, mac, device?.platform ?? platform, os.version)) return;
  }
  // A device only a claim names is enrolled only where the router proves it when it redeems the login.
  if ((page === 'ios-register' || (page === 'unsupported' && os.maybeIpad)) && !mayEnrollHere(identified.source, uam)) return unproven(ctx, deps, mac);

  switch (page) {
    case 'online': {
      const notice = typeof ctx.query.done === 'string' ? NOTICES[ctx.query.done] : undefined;
      const profile = device?.platform === 'ios' && profilesOffered(deps) ? await profileFlow(ctx, deps, mac, identified.source, ip, device.platform) : {};
      return render(ctx, deps, 'online.njk', {
        user: session!.user,
        mac,
        ...endsAt(session!, deps),
        ...(notice ? { notice } : {}),
        ...profile,
        devices_url: ctx.urls.route('portal.devices'),
      });
    }
    case 'login': {
      const flow = await deps.flows.start(
        { purpose: 'login', mac, macSource: identified.source, ip, platform: device!.platform, ...(uam ? { uam } : {}) },
        deps.clock.now(),
      );
      return renderForm(ctx, deps, 'login.njk', flow, { ...(claimed ? {} : { owner: device!.owner }), devices_url: ctx.urls.route('portal.devices') });
    }
    case 'ios-register': {
      const flow = await deps.flows.start(
        { purpose: 'enroll', mac, macSource: identified.source, ip, platform, ...(os.version ? { osVersion: os.version } : {}), ...(uam ? { uam } : {}) },
        deps.clock.now(),
      );
      return renderForm(ctx, deps, 'ios-register.njk', flow, registrationView(deps));
    }
    case 'android-agent':
      return render(ctx, deps, 'android-agent.njk', { agent: deps.agent ? await agentView(deps) : null });
    case 'unsupported': {
      if (!os.maybeIpad) return render(ctx, deps, 'unsupported.njk', { os_name: os.name });
      // Maybe an iPad: the choice is a form bound to an iOS registration flow, which keeps
      // what identified this visit (the device, a UAM router's login) for the next page.
      // A link would have to carry the router's parameters again, and CoovaChilli signs
      // them all: one more parameter and its md no longer verifies.
      const flow = await deps.flows.start(
        { purpose: 'enroll', mac, macSource: identified.source, ip, platform: 'ios', ...(uam ? { uam } : {}) },
        deps.clock.now(),
      );
      setFlowCookie(ctx, deps, flow);
      return render(ctx, deps, 'unsupported.njk', { os_name: os.name, ipad_action: ctx.urls.route('portal.ipad'), csrf: flow.csrf });
    }
    case 'unidentified':
      return render(ctx, deps, 'unidentified.njk', {});
  }
}

/** POST /portal/ipad: "this is an iPad" on the not-supported page: the iOS registration of the same visit. */
export async function ipadAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'enroll');
  if (flow.macSource !== 'claimed' && (await refusedByPolicy(ctx, deps, flow.mac, flow.platform, flow.osVersion))) return;
  return renderForm(ctx, deps, 'ios-register.njk', flow, registrationView(deps));
}

/**
 * Whether the portal may enroll the device this visit names: when accounting or a signed
 * redirect identified it, or when the router that sent the browser proves the device as
 * it redeems the login (UAM_PROOF), which is when the enrollment is then recorded.
 */
export function mayEnrollHere(source: MacSource, uam: UamLogin | undefined): boolean {
  return source !== 'claimed' || (uam !== undefined && UAM_PROOF[uam.kind].redemption);
}

/** The page for a device only unsigned redirect parameters name, where nothing will prove it. */
function unproven(ctx: Context, deps: PortalDeps, mac: Mac): void {
  deps.log.info({ event: 'portal.unproven', mac }, 'device named only by unsigned redirect parameters: not enrolled here');
  render(ctx, deps, 'unidentified.njk', { unproven: true });
}

/** Renders the refusal when the device policy (blocked, randomised MAC, OS too old) refuses this device; says whether it did. */
async function refusedByPolicy(ctx: Context, deps: PortalDeps, mac: Mac, platform: Platform, osVersion: string | undefined): Promise<boolean> {
  const problem = await deps.enrollment.precheck(mac, platform, osVersion);
  if (!problem) return false;
  deps.log.info({ event: 'portal.refused', mac, code: problem.code }, 'device refused by policy');
  render(ctx, deps, 'refused.njk', { message: problem.message, code: problem.code, mac, platform });
  return true;
}

/** What the iOS registration page shows besides its form (also when the form comes back with an error). */
export function registrationView(deps: PortalDeps): object {
  return {
    // The root CA also as a signed profile, where profiles are signed.
    ca_profile: deps.profiles !== undefined,
    ca_fingerprint: deps.ca.fingerprint,
    profile_step: profilesOffered(deps),
  };
}

/** The "get the Wi-Fi profile" form on the online page of an enrolled iPhone or iPad. */
async function profileFlow(ctx: Context, deps: PortalDeps, mac: Mac, source: MacSource, ip: string, platform: Platform): Promise<object> {
  const flow = await deps.flows.start({ purpose: 'profile', mac, macSource: source, ip, platform }, deps.clock.now());
  // The online page renders its own form (renderForm would render the whole page).
  setFlowCookie(ctx, deps, flow);
  return { profile_action: ctx.urls.route('portal.profile_login'), csrf: flow.csrf };
}

/** A UAM router's redirect parameters, read and checked (uam/read-redirect.ts). */
function readRedirect(ctx: Context, deps: PortalDeps): UamRedirect {
  // The URL Chilli signed is its uamserver setting: our start page, or the URL as requested
  // (the Host header is harmless here: without the UAM secret no md verifies).
  const portalUrls = [ctx.urls.route('portal.start'), `${ctx.protocol}://${ctx.host}${ctx.path}`];
  return readUamRedirect(ctx.query, ctx.querystring, portalUrls, (uamip, nasid) => deps.nas.uamNas(uamip, nasid));
}

/**
 * A UAM router's redirect, when it verified and names the device we identified; otherwise
 * it is ignored (logged) and the visit is an ordinary one.
 */
function uamLogin(deps: PortalDeps, read: UamRedirect, mac: Mac): UamLogin | undefined {
  if (read.kind === 'none') return undefined;
  if (read.kind === 'ignored') {
    deps.log.info({ event: 'portal.uam_ignored', mac, problem: read.problem }, 'UAM redirect parameters ignored');
    return undefined;
  }
  // openNDS may not name the device; when a router names one, it must be the one we identified.
  if (read.mac !== undefined && read.mac !== mac) {
    deps.log.info({ event: 'portal.uam_ignored', mac, problem: 'the redirect names another device' }, 'UAM redirect parameters ignored');
    return undefined;
  }
  return read.uam;
}

async function agentView(deps: PortalDeps): Promise<object> {
  const agent = deps.agent!;
  return {
    name: agent.name,
    version: agent.version,
    url: agent.url,
    external: agent.file === undefined,
    qr_src: await qrDataUri(agent.url),
    ...(agent.sizeBytes !== undefined ? { size_text: sizeText(agent.sizeBytes) } : {}),
    ...(agent.sha256 ? { sha256: agent.sha256 } : {}),
  };
}

export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** "04:00 tomorrow (Tue 24 Nov)" in the cut-off's time zone. */
export function endsAt(session: Session, deps: Pick<PortalDeps, 'config' | 'clock'>): { ends_at_text: string; ends_at_iso: string } {
  const zone = deps.config.session.time_zone;
  const end = DateTime.fromISO(session.endsAt, { zone });
  const today = DateTime.fromJSDate(deps.clock.now(), { zone }).startOf('day');
  const days = Math.round(end.startOf('day').diff(today, 'days').days);
  const when = days === 0 ? 'today' : days === 1 ? 'tomorrow' : end.toFormat('cccc');
  return { ends_at_text: `${end.toFormat('HH:mm')} ${when} (${end.toFormat('ccc d LLL')}, ${zone})`, ends_at_iso: end.toISO() ?? session.endsAt };
}
