import type {} from '@koa/bodyparser';
import type { Context } from 'koa';
import type { Credentials } from '../../devices/enrollment-service.js';
import { GatewayError } from '../../errors.js';
import type { PortalDeps } from '../deps.js';
import type { Flow, FlowPurpose } from '../flow.js';
import { clientIp, FLOW_COOKIE, redirectInside, renderForm } from '../respond.js';

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
    return deps.flows.load(undefined, purpose, undefined, deps.clock.now());
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
  redirectInside(ctx, target);
}

/** POST /portal/login: the owner of an enrolled device logs in for a new session. */
export async function loginAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'login');
  const device = await deps.devices.get(flow.mac);
  // Unenrolled since the page was shown: start again, which shows the right page.
  if (!device) return redirectInside(ctx, ctx.urls.to('/portal'));
  return submit(ctx, deps, flow, 'login.njk', { owner: device.owner }, async (creds) => {
    await deps.enrollment.login(device, creds);
    return ctx.urls.to('/portal', { done: 'logged-in' });
  });
}

/** POST /portal/enroll: step 2 of the iOS registration: log in, enroll, get a session. */
export async function enrollAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'enroll');
  const extra = { ca_url: ctx.urls.to('/portal/ca.cer'), ca_fingerprint: deps.ca.fingerprint };
  return submit(ctx, deps, flow, 'ios-register.njk', extra, async (creds) => {
    await deps.enrollment.enroll(flow.mac, flow.platform, flow.osVersion, creds);
    return ctx.urls.to('/portal', { done: 'enrolled' });
  });
}
