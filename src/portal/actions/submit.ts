import type {} from '@koa/bodyparser';
import type { Context } from 'koa';
import type { Credentials } from '../../devices/enrollment-service.js';
import { BadInputError, DeviceLimitReachedError, GatewayError } from '../../errors.js';
import type { PortalDeps } from '../deps.js';
import type { Flow } from '../flow.js';
import { clientIp, clientOf, formProblem, formRefusal, handToUamNas, loadFlow, MISSING_FIELDS, pageWords, redirectInside, render, renderForm, type FormProblem, type FormRefusal } from '../respond.js';
import { credentials } from './credentials.js';
import { downloadsOffered, offerProfile } from './profile.js';
import { addressChangeNote, deviceRows, openAfterWifiLogin } from './self-service.js';
import { mayEnrollHere } from '../visit.js';
import { registrationView } from './start.js';
import { refusalText } from '../languages/page-text.js';

/** Shows the form again with the reason, keeping what the person typed as username. */
function again(ctx: Context, deps: PortalDeps, flow: Flow, template: string, refusal: FormRefusal, extra: object = {}): void {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const username = typeof body.username === 'string' ? body.username.slice(0, 256) : '';
  renderForm(ctx, deps, template, flow, { error: refusal.error, invalid: refusal.invalid, username, ...extra }, refusal.status);
}

/**
 * Runs the form's action; the person's mistakes (and a directory outage) come back
 * as the form with a specific message, anything else goes to the error page.
 */
async function submit(ctx: Context, deps: PortalDeps, flow: Flow, template: string, extra: object, act: (c: Credentials) => Promise<string>): Promise<void> {
  const creds = credentials(ctx.request.body, clientOf(ctx, 'portal'));
  if (!creds) return again(ctx, deps, flow, template, formProblem(ctx, deps, MISSING_FIELDS), extra);
  let target: string;
  try {
    target = await act(creds);
  } catch (err) {
    // The device limit has its own page (enrollAction).
    if (err instanceof GatewayError && err.expose && !(err instanceof DeviceLimitReachedError)) return again(ctx, deps, flow, template, formRefusal(ctx, deps, err), extra);
    throw err;
  }
  await deps.flows.finish(flow);
  if (flow.uam) return handToUamNas(ctx, deps, target, flow.uam.nas);
  redirectInside(ctx, target);
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
    await openAfterWifiLogin(ctx, deps, session.user, flow.mac);
    const done = ctx.urls.route('portal.start', { done: 'logged-in' });
    if (flow.uam) return deps.uamHandBack.logonUrl(flow.uam, { mac: flow.mac, user: session.user, done });
    return done;
  });
}

/** A form sent without the terms of use ticked (or ticked for a version that has changed since). */
const TERMS_NOT_ACCEPTED: FormProblem = { status: 400, key: 'errors.terms_not_accepted', invalid: false };

/** Whether the enroll form came back with portal.terms accepted, in the version in force (no terms configured: nothing to accept). */
function termsAccepted(ctx: Context, deps: PortalDeps): boolean {
  const terms = deps.branding?.get().terms;
  if (!terms) return true;
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  return body.accept_terms === terms.version;
}

/** Audits the acceptance of portal.terms, once the person is known (their login succeeded) and the device enrolled or about to be. */
function recordTerms(ctx: Context, deps: PortalDeps, user: string, mac: string): void {
  const terms = deps.branding?.get().terms;
  if (terms) deps.audit.record({ type: 'terms.accepted', user, mac, version: terms.version, ...clientOf(ctx, 'portal') });
}

/** POST /portal/enroll: step 2 of the iOS registration: log in, enroll, get a session (and, step 3, the profile link). */
export async function enrollAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const flow = await loadFlow(ctx, deps, 'enroll');
  // Before the password is checked: nothing is recorded or enrolled without the terms.
  if (!termsAccepted(ctx, deps)) return again(ctx, deps, flow, 'register.njk', formProblem(ctx, deps, TERMS_NOT_ACCEPTED), { ...registrationView(deps, flow.platform), terms_missing: true });
  try {
    return await submit(ctx, deps, flow, 'register.njk', registrationView(deps, flow.platform), async (creds) => {
      if (flow.macSource === 'claimed') {
        // Only the router's unsigned redirect names the device: the enrollment is recorded
        // when the router redeems the login and so proves the device (UAM_PROOF).
        if (!flow.uam || !mayEnrollHere(flow.macSource, flow.uam)) throw new BadInputError('this network cannot confirm which device this is; please reconnect to the Wi-Fi');
        const { user, pending } = await deps.enrollment.prepareEnrollment(flow.mac, flow.platform, flow.osVersion, creds);
        recordTerms(ctx, deps, user.username, flow.mac);
        return deps.uamHandBack.logonUrl(flow.uam, { mac: flow.mac, user: user.username, done: ctx.urls.route('portal.start', { done: 'enrolled' }), enroll: pending });
      }
      const { session } = await deps.enrollment.enroll(flow.mac, flow.platform, flow.osVersion, creds, { via: 'portal', ...(flow.model ? { model: flow.model } : {}) });
      recordTerms(ctx, deps, session.user, flow.mac);
      await openAfterWifiLogin(ctx, deps, session.user, flow.mac);
      if (flow.uam) return deps.uamHandBack.logonUrl(flow.uam, { mac: flow.mac, user: session.user, done: ctx.urls.route('portal.start', { done: 'enrolled' }) });
      if (downloadsOffered(deps, flow.platform)) return offerProfile(ctx, deps, flow, session.user);
      return ctx.urls.route('portal.start', { done: 'enrolled' });
    });
  } catch (err) {
    if (!(err instanceof DeviceLimitReachedError) || err.user === undefined) throw err;
    // At the limit: the person logged in correctly, so show their devices and let them make room.
    await openAfterWifiLogin(ctx, deps, err.user, flow.mac);
    const devices = await deviceRows(deps, pageWords(ctx, deps), err.user);
    // A rotating private address fills the limit with one phone: say so, and how to stop it.
    const note = addressChangeNote(deps, pageWords(ctx, deps), err.user, await deps.enrollment.devicesOf(err.user), flow);
    return render(ctx, deps, 'device-limit.njk', { message: refusalText(pageWords(ctx, deps), err), limit: err.limit, devices, ...(note ? { address_change: note } : {}) }, 409);
  }
}
