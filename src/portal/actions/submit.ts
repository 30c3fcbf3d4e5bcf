import type {} from '@koa/bodyparser';
import type { Context } from 'koa';
import type { PendingEnrollment } from '../../devices/device.js';
import type { Credentials } from '../../devices/enrollment-service.js';
import type { Mac } from '../../mac.js';
import { BadInputError, DeviceLimitReachedError, FlowExpiredError, GatewayError } from '../../errors.js';
import { tokenRef } from '../../devices/login-token-store.js';
import type { PortalDeps } from '../deps.js';
import type { Flow, FlowPurpose } from '../flow.js';
import { clientIp, handToUamRouter, loadFlow, redirectInside, refusalStatus, render, renderForm } from '../respond.js';
import { mikrotikLoginUrl } from '../routers/mikrotik.js';
import { openNdsAuthUrl } from '../routers/opennds.js';
import { uamLogonUrl } from '../routers/coovachilli.js';
import { credentials } from './credentials.js';
import { offerProfile, profilesOffered } from './profile.js';
import { deviceRows, startManageVisit } from './self-service.js';
import { mayEnrollHere, registrationView } from './start.js';

/** Shows the form again with the reason, keeping what the person typed as username. */
function again(ctx: Context, deps: PortalDeps, flow: Flow, template: string, error: string, status: number, extra: object = {}): void {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const username = typeof body.username === 'string' ? body.username.slice(0, 256) : '';
  renderForm(ctx, deps, template, flow, { error, username, ...extra }, status);
}

/**
 * Runs the form's action; the person's mistakes (and a directory outage) come back
 * as the form with a specific message, anything else goes to the error page.
 */
async function submit(ctx: Context, deps: PortalDeps, flow: Flow, template: string, extra: object, act: (c: Credentials) => Promise<string>): Promise<void> {
  const creds = credentials(ctx.request.body, clientIp(ctx));
  if (!creds) return again(ctx, deps, flow, template, 'Enter your username and your password.', 400, extra);
  let target: string;
  try {
    target = await act(creds);
  } catch (err) {
    // The device limit has its own page (enrollAction).
    if (err instanceof GatewayError && err.expose && !(err instanceof DeviceLimitReachedError)) return again(ctx, deps, flow, template, err.message, refusalStatus(ctx, err), extra);
    throw err;
  }
  await deps.flows.finish(flow);
  if (flow.uam) return handToUamRouter(ctx, deps, target, flow.uam.nas);
  redirectInside(ctx, target);
}

/** The router of a flow was removed or changed in the config while the person was logging in. */
function routerGone(): BadInputError {
  return new BadInputError('this router is no longer set up for portal logins; please reconnect to the Wi-Fi');
}

/**
 * A flow a UAM router started: the session is issued; the router still has to open it.
 * CoovaChilli and MikroTik: a one-time token, bound to the device, goes to the router's
 * logon URL (routers/coovachilli.ts, routers/mikrotik.ts), and the router redeems it over RADIUS
 * (radius/uam-login.ts). openNDS: the browser takes the authorisation to the gateway (routers/opennds.ts).
 */
async function uamLogonTarget(deps: PortalDeps, flow: Flow, mac: Mac, user: string, done: string, enroll?: PendingEnrollment): Promise<string> {
  const uam = flow.uam!;
  const nas = deps.nas.byName(uam.nas);
  if (!nas?.uam || nas.uam.kind !== uam.kind) throw routerGone();
  if (uam.kind === 'opennds') {
    if (!nas.uam.opennds) throw routerGone();
    deps.log.info({ event: 'portal.opennds_authorised', mac, user, nas: nas.name }, 'authorisation handed to the openNDS gateway');
    return openNdsAuthUrl(uam, nas.uam.opennds, done);
  }
  const { id, token } = await deps.loginTokens.issue({ mac, user, nas: nas.name, ...(enroll ? { enroll } : {}) }, deps.clock.now());
  const method = uam.kind === 'mikrotik' ? 'chap' : nas.uam.method;
  deps.log.info({ event: 'portal.uam_token_issued', mac, user, nas: nas.name, token: tokenRef(id), method }, 'one-time login issued to the router');
  if (uam.kind === 'mikrotik') return mikrotikLoginUrl(uam, id, token.secret, done);
  if (nas.uam.secret === undefined) throw routerGone();
  return uamLogonUrl(uam, nas.uam.method, id, token.secret, nas.uam.secret, done);
}

/** POST /portal/login: the owner of an enrolled device logs in for a new session. */
export async function loginAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'login');
  const device = await deps.devices.get(flow.mac);
  // Unenrolled since the page was shown: start again, which shows the right page.
  if (!device) return redirectInside(ctx, ctx.urls.route('portal.start'));
  // The owner's name only where the device was proven (a claim shows none: start.ts).
  return submit(ctx, deps, flow, 'login.njk', flow.macSource === 'claimed' ? {} : { owner: device.owner }, async (creds) => {
    const session = await deps.enrollment.login(device, creds);
    const done = ctx.urls.route('portal.start', { done: 'logged-in' });
    if (flow.uam) return uamLogonTarget(deps, flow, flow.mac, session.user, done);
    return done;
  });
}

/** POST /portal/enroll: step 2 of the iOS registration: log in, enroll, get a session (and, step 3, the profile link). */
export async function enrollAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'enroll');
  try {
    return await submit(ctx, deps, flow, 'ios-register.njk', registrationView(deps), async (creds) => {
      if (flow.macSource === 'claimed') {
        // Only the router's unsigned redirect names the device: the enrollment is recorded
        // when the router redeems the login and so proves the device (ROUTER_PROOF).
        if (!flow.uam || !mayEnrollHere(flow.macSource, flow.uam)) throw new BadInputError('this network cannot confirm which device this is; please reconnect to the Wi-Fi');
        const { user, pending } = await deps.enrollment.prepareEnrollment(flow.mac, flow.platform, flow.osVersion, creds);
        return uamLogonTarget(deps, flow, flow.mac, user.username, ctx.urls.route('portal.start', { done: 'enrolled' }), pending);
      }
      const { session } = await deps.enrollment.enroll(flow.mac, flow.platform, flow.osVersion, creds, { via: 'portal' });
      if (flow.uam) return uamLogonTarget(deps, flow, flow.mac, session.user, ctx.urls.route('portal.start', { done: 'enrolled' }));
      if (flow.platform === 'ios' && profilesOffered(deps)) return offerProfile(ctx, deps, flow, session.user);
      return ctx.urls.route('portal.start', { done: 'enrolled' });
    });
  } catch (err) {
    if (!(err instanceof DeviceLimitReachedError) || err.user === undefined) throw err;
    // At the limit: the person logged in correctly, so show their devices and let them make room.
    await startManageVisit(ctx, deps, err.user);
    const devices = await deviceRows(deps, err.user);
    return render(ctx, deps, 'device-limit.njk', { message: err.message, limit: err.limit, devices }, 409);
  }
}
