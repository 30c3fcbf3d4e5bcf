import type {} from '@koa/bodyparser';
import type { Context } from 'koa';
import type { Credentials } from '../../devices/enrollment-service.js';
import type { Mac } from '../../devices/mac.js';
import { BadInputError, FlowExpiredError, GatewayError } from '../../errors.js';
import { tokenRef } from '../../sessions/login-token-store.js';
import type { PortalDeps } from '../deps.js';
import type { Flow, FlowPurpose } from '../flow.js';
import { clientIp, FLOW_COOKIE, redirectInside, redirectToUamLogon, renderForm } from '../respond.js';
import { mikrotikLoginUrl } from '../mikrotik.js';
import { openNdsAuthUrl } from '../opennds.js';
import { uamLogonUrl } from '../uam.js';

/** Form fields, bounded: nothing longer is a real username or password. */
function credentials(body: unknown): Credentials | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  const username = typeof b.username === 'string' ? b.username.trim() : '';
  const password = typeof b.password === 'string' ? b.password : '';
  if (username === '' || password === '' || username.length > 256 || password.length > 1024) return undefined;
  return { username, password };
}

async function loadFlow(ctx: Context, deps: PortalDeps, purpose: FlowPurpose): Promise<Flow> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const flow = await deps.flows.load(ctx.cookies.get(FLOW_COOKIE), purpose, body._csrf, deps.clock.now());
  // A flow belongs to the address it was started from: the device may have moved since.
  if (flow.ip !== clientIp(ctx)) {
    await deps.flows.finish(flow);
    throw new FlowExpiredError();
  }
  return flow;
}

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
  const creds = credentials(ctx.request.body);
  if (!creds) return again(ctx, deps, flow, template, 'Enter your username and your password.', 400, extra);
  let target: string;
  try {
    target = await act(creds);
  } catch (err) {
    if (err instanceof GatewayError && err.expose) return again(ctx, deps, flow, template, err.message, err.status, extra);
    throw err;
  }
  await deps.flows.finish(flow);
  if (flow.uam) return redirectToUamLogon(ctx, deps, target, flow.uam.nas);
  redirectInside(ctx, target);
}

/** The router of a flow was removed or changed in the config while the person was logging in. */
function routerGone(): BadInputError {
  return new BadInputError('this router is no longer set up for portal logins; please reconnect to the Wi-Fi');
}

/**
 * A flow a UAM router started: the session is issued; the router still has to open it.
 * CoovaChilli and MikroTik: a one-time token, bound to the device, goes to the router's
 * logon URL (uam.ts, mikrotik.ts), and the router redeems it over RADIUS
 * (radius/uam-login.ts). openNDS: the browser takes the authorisation to the gateway (opennds.ts).
 */
async function uamLogonTarget(deps: PortalDeps, flow: Flow, mac: Mac, user: string): Promise<string> {
  const uam = flow.uam!;
  const nas = deps.nas.byName(uam.nas);
  if (!nas?.uam || nas.uam.kind !== uam.kind) throw routerGone();
  if (uam.kind === 'opennds') {
    if (!nas.uam.opennds) throw routerGone();
    deps.log.info({ event: 'portal.opennds_authorised', mac, user, nas: nas.name }, 'authorisation handed to the openNDS gateway');
    return openNdsAuthUrl(uam, nas.uam.opennds);
  }
  const { id, token } = await deps.loginTokens.issue({ mac, user, nas: nas.name }, deps.clock.now());
  const method = uam.kind === 'mikrotik' ? 'chap' : nas.uam.method;
  deps.log.info({ event: 'portal.uam_token_issued', mac, user, nas: nas.name, token: tokenRef(id), method }, 'one-time login issued to the router');
  if (uam.kind === 'mikrotik') return mikrotikLoginUrl(uam, id, token.secret);
  if (nas.uam.secret === undefined) throw routerGone();
  return uamLogonUrl(uam, nas.uam.method, id, token.secret, nas.uam.secret);
}

/** POST /portal/login: the owner of an enrolled device logs in for a new session. */
export async function loginAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'login');
  const device = await deps.devices.get(flow.mac);
  // Unenrolled since the page was shown: start again, which shows the right page.
  if (!device) return redirectInside(ctx, ctx.urls.to('/portal'));
  return submit(ctx, deps, flow, 'login.njk', { owner: device.owner }, async (creds) => {
    const session = await deps.enrollment.login(device, creds);
    if (flow.uam) return uamLogonTarget(deps, flow, flow.mac, session.user);
    return ctx.urls.to('/portal', { done: 'logged-in' });
  });
}

/** POST /portal/enroll: step 2 of the iOS registration: log in, enroll, get a session. */
export async function enrollAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'enroll');
  const extra = { ca_url: ctx.urls.to('/portal/ca.cer'), ca_fingerprint: deps.ca.fingerprint };
  return submit(ctx, deps, flow, 'ios-register.njk', extra, async (creds) => {
    const { session } = await deps.enrollment.enroll(flow.mac, flow.platform, flow.osVersion, creds);
    if (flow.uam) return uamLogonTarget(deps, flow, flow.mac, session.user);
    return ctx.urls.to('/portal', { done: 'enrolled' });
  });
}
