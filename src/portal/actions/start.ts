import type { Context } from 'koa';
import { DateTime } from 'luxon';
import type { PortalDeps } from '../deps.js';
import type { Flow, MacSource } from '../flow.js';
import type { UamLogin } from '../uam/read-redirect.js';
import type { Mac } from '../../mac.js';
import { detectOs } from '../user-agent.js';
import { clientIp, loadFlow, pageWords, render, renderForm, setFlowCookie } from '../respond.js';
import type { Session } from '../../sessions/session.js';
import type { Platform } from '../../devices/device.js';
import { qrDataUri } from '../qr.js';
import { downloadsOffered } from './profile.js';
import { FlowExpiredError } from '../../errors.js';
import { addressChangeNote } from './self-service.js';
import { mayEnrollHere } from '../visit.js';
import type { Translator } from '../languages/languages.js';
import { endsAtText, refusalText } from '../languages/page-text.js';

/** Fixed notices a redirect may ask for (only these: the query picks one, it never supplies text): their keys in views/locales. */
const NOTICES: Readonly<Record<string, string>> = {
  enrolled: 'notices.enrolled',
  'logged-in': 'notices.logged_in',
};

/** GET /portal: the page for the visitor's state, as StartVisits (visit.ts) decides it. */
export async function startAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const ip = clientIp(ctx);
  const os = detectOs(ctx.get('User-Agent'));
  // The URL Chilli signed is its uamserver setting: our start page, or the URL as requested
  // (the Host header is harmless here: without the UAM secret no md verifies).
  const portalUrls = [ctx.urls.route('portal.start'), `${ctx.protocol}://${ctx.host}${ctx.path}`];
  const visit = await deps.startVisits.begin({ ip, os, query: ctx.query, rawQuery: ctx.querystring, portalUrls });
  const flowOf = (purpose: Flow['purpose'], platform: Platform, v: { mac: Mac; source: MacSource; uam?: UamLogin }, osVersion?: string, model?: string) =>
    deps.flows.start(
      { purpose, mac: v.mac, macSource: v.source, ip, platform, ...(osVersion ? { osVersion } : {}), ...(model ? { model } : {}), ...(v.uam ? { uam: v.uam } : {}) },
      deps.clock.now(),
    );

  switch (visit.page) {
    case 'unidentified':
      return render(ctx, deps, 'unidentified.njk', {});
    case 'unproven':
      return render(ctx, deps, 'unidentified.njk', { unproven: true });
    case 'refused':
      return render(ctx, deps, 'refused.njk', { message: refusalText(pageWords(ctx, deps), visit.problem), code: visit.problem.code, mac: visit.mac, platform: visit.platform });
    case 'online': {
      const noticeKey = typeof ctx.query.done === 'string' && Object.hasOwn(NOTICES, ctx.query.done) ? NOTICES[ctx.query.done] : undefined;
      const notice = noticeKey && pageWords(ctx, deps).text(noticeKey);
      // No form for new files where the platform may no longer enroll (they carry a new certificate).
      const profile = visit.device && downloadsOffered(deps, visit.device.platform) && deps.enrollment.allows(visit.device.platform) ? await profileForm(ctx, deps, await flowOf('profile', visit.device.platform, visit)) : {};
      // Right after enrolling: is this an earlier enrollment under a new private address?
      const note =
        ctx.query.done === 'enrolled' && visit.device
          ? addressChangeNote(deps, pageWords(ctx, deps), visit.session.user, await deps.enrollment.devicesOf(visit.session.user), { ...visit.device, osVersion: os.version ?? visit.device.osVersion })
          : undefined;
      return render(ctx, deps, 'online.njk', {
        user: visit.session.user,
        mac: visit.mac,
        ...endsAt(visit.session, deps, pageWords(ctx, deps)),
        ...(notice ? { notice } : {}),
        ...profile,
        ...(note ? { address_change: note } : {}),
        devices_url: ctx.urls.route('portal.devices'),
      });
    }
    case 'login': {
      const flow = await flowOf('login', visit.device.platform, visit);
      // Where the page shows whose device it is, the user name is theirs: only the password is left to type.
      const owner = visit.showOwner ? { owner: visit.device.owner, username: visit.device.owner } : {};
      return renderForm(ctx, deps, 'login.njk', flow, { ...owner, devices_url: ctx.urls.route('portal.devices') });
    }
    case 'register': {
      // A Mac's flow is labelled "Mac"; "this is an iPad" (the same form token) turns it into an iPad's.
      const model = visit.model ?? (visit.platform === 'macos' ? 'Mac' : undefined);
      const flow = await flowOf('enroll', visit.platform, visit, visit.osVersion, model);
      return renderForm(ctx, deps, 'register.njk', flow, { ...registrationView(deps, visit.platform), ...(visit.ipadChoice ? { ipad_action: ctx.urls.route('portal.ipad') } : {}) });
    }
    case 'android-agent': {
      // With Passpoint the page also offers a login that enrolls the device here (partials/passpoint.njk).
      const passpoint = downloadsOffered(deps, 'android') && mayEnrollHere(visit.source, visit.uam) ? passpointForm(ctx, deps, await flowOf('enroll', 'android', visit, visit.osVersion)) : {};
      return render(ctx, deps, 'android-agent.njk', { agent: deps.agent ? await agentView(deps) : null, ...passpoint });
    }
    case 'unsupported': {
      const supported = deps.enrollment.allowedPlatforms();
      if (!visit.ipad) return render(ctx, deps, 'unsupported.njk', { os_name: visit.osName, supported });
      // Maybe an iPad (Macs may not enroll here): the choice is a form bound to a Mac's
      // registration flow, which keeps what identified this visit (the device, a UAM NAS's
      // login) for the next page. A link would have to carry the NAS's parameters again, and
      // CoovaChilli signs them all: one more parameter and its md no longer verifies. The flow
      // cannot enroll a Mac (the policy refuses it); "this is an iPad" turns it into an iPad's.
      const flow = await flowOf('enroll', 'macos', visit.ipad, undefined, 'Mac');
      setFlowCookie(ctx, deps, flow);
      return render(ctx, deps, 'unsupported.njk', { os_name: visit.osName, supported, ipad_action: ctx.urls.route('portal.ipad'), csrf: flow.csrf });
    }
  }
}

/**
 * POST /portal/ipad: "this is an iPad" on a Mac's page (registration, or not-supported where
 * Macs may not enroll): the iPad registration of the same visit. Its iPadOS version is
 * Safari's (user-agent.ts), which the policy checks against min_os_version.ios.
 */
export async function ipadAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const mac = await loadFlow(ctx, deps, 'enroll');
  // Only a Mac's flow may become an iPad's: any other is a form from another page.
  if (mac.platform !== 'macos') throw new FlowExpiredError();
  await deps.flows.finish(mac);
  const ipadVersion = detectOs(ctx.get('User-Agent')).ipadVersion;
  const { id: _id, csrf: _csrf, expiresAt: _expiresAt, osVersion: _osVersion, ...kept } = mac;
  const flow = await deps.flows.start({ ...kept, platform: 'ios', model: 'iPad', ...(ipadVersion ? { osVersion: ipadVersion } : {}) }, deps.clock.now());
  const problem = flow.macSource === 'claimed' ? undefined : await deps.startVisits.refusal(flow.mac, flow.platform, flow.osVersion);
  if (problem) return render(ctx, deps, 'refused.njk', { message: refusalText(pageWords(ctx, deps), problem), code: problem.code, mac: flow.mac, platform: flow.platform });
  return renderForm(ctx, deps, 'register.njk', flow, registrationView(deps, 'ios'));
}

/**
 * What the registration page shows besides its form (also when the form comes back with
 * an error). No step to install the root CA: the Wi-Fi profile carries it, anchored to the
 * RADIUS server's certificate only; fully trusting it (Certificate Trust Settings) would let
 * our CA intercept any HTTPS on a personal phone, and the portal's own HTTPS needs a
 * publicly trusted certificate instead (pki/portal-certificate.ts).
 */
export function registrationView(deps: PortalDeps, platform: Platform): object {
  // What step 2 offers: Apple's profile, Android's Passpoint profile (profile.ts picks it where it is on), or settings.
  return { profile_step: downloadsOffered(deps, platform), platform, apple: platform === 'ios' || platform === 'macos', passpoint: platform === 'android' && deps.config.passpoint.enabled };
}

/** The Passpoint offer's registration form on the Android page, bound to its flow (submit.ts enrollAction). */
function passpointForm(ctx: Context, deps: PortalDeps, flow: Flow): object {
  setFlowCookie(ctx, deps, flow);
  return { passpoint_action: ctx.urls.route('portal.enroll'), csrf: flow.csrf };
}

/** The "get the Wi-Fi profile" form on the online page of an enrolled device with downloads, bound to its flow. */
function profileForm(ctx: Context, deps: PortalDeps, flow: Flow): object {
  // The online page renders its own form (renderForm would render the whole page).
  setFlowCookie(ctx, deps, flow);
  return { profile_action: ctx.urls.route('portal.profile_login'), csrf: flow.csrf };
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
export function endsAt(session: Session, deps: Pick<PortalDeps, 'config' | 'clock'>, words: Translator): { ends_at_text: string; ends_at_iso: string } {
  const zone = deps.config.session.time_zone;
  const end = DateTime.fromISO(session.endsAt, { zone });
  return { ends_at_text: endsAtText(words, end.toJSDate(), deps.clock.now(), zone), ends_at_iso: end.toISO() ?? session.endsAt };
}
