/**
 * The admin console: server-rendered pages under /admin, on HTTPS only, for network
 * admins, helpdesk and auditors. A login with directory credentials starts a visit
 * (cookie eg_admin, SameSite=Strict, its own CSRF token, bound to the address, ended
 * after admin.session_minutes without activity). Every page and every action asks
 * AdminService, which checks the role on the server and audits what it changes.
 * Each state-changing action is a POST from a confirmation page, and answered by a
 * page that says what was done.
 */
import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { DateTime } from 'luxon';
import { actorOf, type AuditFilter } from '../audit/query.js';
import { AUDIT_EVENT_TYPES, type AuditOutcome } from '../audit/events.js';
import type { AuditTrail } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import { parseMac, type Mac } from '../mac.js';
import type { Authenticator } from '../directory/authenticator.js';
import { BadInputError, FlowExpiredError, GatewayError, HttpsRequiredError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ManageVisit, ManageVisitStore } from '../portal/manage.js';
import { clientIp, clientOf, redirectInside, refusalStatus, renderHtml } from '../portal/respond.js';
import { addRoute, ROUTES, type RouteName } from '../portal/routes.js';
import type nunjucks from 'nunjucks';
import type { AdminService } from './admin-service.js';
import { hourChart, shareBars } from './charts.js';
import { DECISION_ROWS, DECISION_WINDOW_HOURS, decisionFilter, decisionRow, dropRow, type DecisionRow } from './decisions.js';
import { RECENT_DROPS } from '../radius/recent-drops.js';
import type { DropReason } from '../radius/packet.js';
import { dropHint } from '../radius/server.js';
import { may, roleFor, type Actor, type Permission, type Role } from './roles.js';

export interface AdminConsoleDeps {
  readonly admin: AdminService;
  /** The portal's: the directory behind the login throttle (admin logins are counted with the rest). */
  readonly authenticator: Authenticator;
  /** Console visits (a ManageVisitStore with its own key prefix and lifetime). */
  readonly visits: ManageVisitStore;
  readonly renderer: nunjucks.Environment;
  readonly config: Config;
  readonly audit: AuditTrail;
  readonly clock: Clock;
  readonly log: Logger;
}

export const ADMIN_COOKIE = 'eg_admin';
/** Rows an audit search shows on the page; an export has them all. */
const AUDIT_PAGE_ROWS = 200;

/** What a confirmation page can ask for, and what each needs. */
const ACTIONS = {
  revoke: { permission: 'sessions.revoke', target: 'mac', title: 'End this device’s session', verb: 'End the session' },
  'revoke-user': { permission: 'sessions.revoke', target: 'user', title: 'End every session of this person', verb: 'End all their sessions' },
  unenroll: { permission: 'devices.unenroll', target: 'mac', title: 'Unenroll this device', verb: 'Unenroll' },
  block: { permission: 'devices.block', target: 'mac', title: 'Block this device', verb: 'Block' },
  unblock: { permission: 'devices.unblock', target: 'mac', title: 'Unblock this device', verb: 'Unblock' },
} as const satisfies Record<string, { permission: Permission; target: 'mac' | 'user'; title: string; verb: string }>;
type ActionName = keyof typeof ACTIONS;

type Handler = (ctx: Context, deps: AdminConsoleDeps, actor: Actor, visit: ManageVisit) => Promise<void>;

/** The console's routes (mounted in the portal's app; see main.ts), each at its path in the portal's ROUTES. */
export function adminConsoleRouter(deps: AdminConsoleDeps): Router {
  const router = new Router();
  const page = (h: Handler) => async (ctx: Context) => {
    const visit = await currentVisit(ctx, deps);
    if (!visit?.user || !visit.role) return loginPage(ctx, deps, visit);
    ctx.state.adminVisit = visit;
    await h(ctx, deps, { name: visit.user, role: visit.role as Role, client: clientOf(ctx, 'console') }, visit);
  };
  router.use(httpsOnly);
  addRoute(router, 'get', 'admin.home', page(dashboardPage));
  addRoute(router, 'post', 'admin.login', (ctx) => loginAction(ctx, deps));
  addRoute(router, 'post', 'admin.logout', page(logoutAction));
  addRoute(router, 'get', 'admin.devices', page(devicesPage));
  addRoute(router, 'get', 'admin.sessions', page(sessionsPage));
  addRoute(router, 'get', 'admin.nas', page(nasPage));
  addRoute(router, 'get', 'admin.audit', page(auditPage));
  addRoute(router, 'get', 'admin.audit_export', page(auditExport));
  addRoute(router, 'get', 'admin.decisions', page(decisionsPage));
  addRoute(router, 'get', 'admin.confirm', page(confirmPage));
  addRoute(router, 'post', 'admin.action', page(actionPerform));
  return router;
}

/** /admin is served over HTTPS only (behind a TLS proxy: portal.trust_proxy). */
async function httpsOnly(ctx: Context, next: Next): Promise<void> {
  if (!ctx.path.startsWith('/admin')) return next();
  if (!ctx.secure) throw new HttpsRequiredError('The admin console is only served over HTTPS.');
  ctx.set('Cache-Control', 'no-store');
  await next();
}

async function currentVisit(ctx: Context, deps: AdminConsoleDeps): Promise<ManageVisit | undefined> {
  const visit = await deps.visits.find(ctx.cookies.get(ADMIN_COOKIE), clientIp(ctx), deps.clock.now());
  // Activity keeps a login alive; a visit without a login is not extended.
  return visit?.user ? deps.visits.extend(visit, deps.clock.now()) : visit;
}

function setCookie(ctx: Context, deps: AdminConsoleDeps, visit: ManageVisit | undefined): void {
  ctx.cookies.set(ADMIN_COOKIE, visit?.id ?? '', {
    httpOnly: true,
    sameSite: 'strict',
    secure: true,
    path: '/admin',
    maxAge: visit ? deps.visits.ttlSeconds * 1000 : 0,
    overwrite: true,
  });
}

/** The console's menu: each page with the permission that shows it. */
const NAV = [
  { route: 'admin.home', label: 'Dashboard', permission: 'dashboard.view' },
  { route: 'admin.devices', label: 'Devices', permission: 'devices.view' },
  { route: 'admin.sessions', label: 'Sessions', permission: 'sessions.view' },
  { route: 'admin.nas', label: 'Routers', permission: 'nas.view' },
  { route: 'admin.decisions', label: 'Decisions', permission: 'audit.view' },
  { route: 'admin.audit', label: 'Audit', permission: 'audit.view' },
] as const satisfies ReadonlyArray<{ route: RouteName; label: string; permission: Permission }>;

function adminRender(ctx: Context, deps: AdminConsoleDeps, template: string, actor: Actor | undefined, context: object, status = 200): void {
  const nav = actor
    ? NAV.filter((n) => may(actor, n.permission)).map((n) => ({ url: ctx.urls.route(n.route), label: n.label, current: ctx.path === ROUTES[n.route] }))
    : [];
  const visit = ctx.state.adminVisit as ManageVisit | undefined;
  renderHtml(ctx, deps, template, { actor, nav, csrf_logout: visit?.csrf, ...context }, status);
}

/**
 * A time as the console shows it: in the gateway's time zone, to the second, with its UTC
 * offset, so that what an auditor reads off a page (or a screenshot) is unambiguous.
 */
function when(iso: string | undefined, deps: AdminConsoleDeps): string {
  return iso ? DateTime.fromISO(iso, { zone: deps.config.session.time_zone }).toFormat('yyyy-LL-dd HH:mm:ss ZZ') : '';
}

async function loginPage(ctx: Context, deps: AdminConsoleDeps, visit: ManageVisit | undefined, extra: object = {}, status = 200): Promise<void> {
  const fresh = visit && !visit.user ? visit : await deps.visits.start({ ip: clientIp(ctx) }, deps.clock.now());
  setCookie(ctx, deps, fresh);
  adminRender(ctx, deps, 'admin/login.njk', undefined, { csrf: fresh.csrf, ...extra }, status);
}

async function loginAction(ctx: Context, deps: AdminConsoleDeps): Promise<void> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const visit = await deps.visits.load(ctx.cookies.get(ADMIN_COOKIE), clientIp(ctx), body._csrf, deps.clock.now());
  const username = typeof body.username === 'string' ? body.username.trim().slice(0, 256) : '';
  const password = typeof body.password === 'string' && body.password.length <= 1024 ? body.password : '';
  const again = (error: string, status: number) => loginPage(ctx, deps, visit, { error, username }, status);
  if (username === '' || password === '') return again('Enter your username and your password.', 400);
  let role: Role | undefined;
  let name: string;
  const from = clientIp(ctx);
  try {
    const user = await deps.authenticator.authenticate(username, password, from);
    name = user.username;
    role = roleFor(user.groups, deps.config.admin.roles);
  } catch (err) {
    if (!(err instanceof GatewayError) || !err.expose) throw err;
    deps.audit.record({ type: 'admin.login_failed', user: username.slice(0, 64), code: err.code, ...clientOf(ctx, 'console') });
    return again(err.message, refusalStatus(ctx, err));
  }
  if (!role) {
    deps.audit.record({ type: 'admin.login_failed', user: name, code: 'EG_NOT_ADMIN', ...clientOf(ctx, 'console') });
    return again('Your account has no role in the admin console. Ask a network admin to add you to an admin group.', 403);
  }
  await deps.visits.end(visit);
  const loggedIn = await deps.visits.start({ ip: clientIp(ctx), user: name, role }, deps.clock.now());
  setCookie(ctx, deps, loggedIn);
  deps.audit.record({ type: 'admin.logged_in', admin: name, role, ...clientOf(ctx, 'console') });
  redirectInside(ctx, ctx.urls.route('admin.home'));
}

/** The visit a form was posted from, with its CSRF token checked. */
async function checkForm(ctx: Context, deps: AdminConsoleDeps, visit: ManageVisit): Promise<Record<string, unknown>> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  await deps.visits.load(visit.id, clientIp(ctx), body._csrf, deps.clock.now());
  return body;
}

const logoutAction: Handler = async (ctx, deps, actor, visit) => {
  await checkForm(ctx, deps, visit);
  await deps.visits.end(visit);
  setCookie(ctx, deps, undefined);
  deps.audit.record({ type: 'admin.logged_out', admin: actor.name, ...actor.client });
  redirectInside(ctx, ctx.urls.route('admin.home'));
};

const dashboardPage: Handler = async (ctx, deps, actor) => {
  const d = await deps.admin.dashboard(actor);
  adminRender(ctx, deps, 'admin/dashboard.njk', actor, {
    sessions_now: d.sessionsNow,
    devices: d.devices,
    by_os: shareBars(d.byOs),
    chart: hourChart(d.hours, deps.config.session.time_zone),
    accepts: d.hours.reduce((n, h) => n + h.accepts, 0),
    rejects: d.hours.reduce((n, h) => n + h.rejects, 0),
    reject_reasons: d.rejectReasons,
    drop_reasons: withHints(d.dropReasons),
    // The numbers lead to the decisions behind them, for those who may read the trail.
    decisions: may(actor, 'audit.view')
      ? {
          accepts_url: ctx.urls.route('admin.decisions', { outcome: 'accept' }),
          rejects_url: ctx.urls.route('admin.decisions', { outcome: 'reject' }),
          drops_url: ctx.urls.route('admin.decisions', { outcome: 'drop' }),
          reason_urls: Object.fromEntries(d.rejectReasons.map((r) => [r.reason, ctx.urls.route('admin.decisions', { outcome: 'reject', reason: r.reason })])),
        }
      : undefined,
  });
};

function withHints<T extends { reason: string; nas: string }>(drops: readonly T[]): Array<T & { hint: string | undefined }> {
  return drops.map((r) => ({ ...r, hint: dropHint(r.reason as DropReason, r.nas).hint ?? DROP_HINTS[r.reason] }));
}

/**
 * Accepts and rejects from the audit trail and the last drops kept in memory, in one table
 * newest first, bounded; and the drops' counts by reason and router since the start (metrics).
 */
const decisionsPage: Handler = async (ctx, deps, actor) => {
  const { form, filter } = decisionFilter(ctx.query);
  const { matches, more, drops: dropped } = deps.admin.recentDecisions(actor, filter);
  const decided: Array<DecisionRow & { hint?: string | undefined }> = matches.flatMap((m) => {
    const row = decisionRow(m.record);
    return row ? [row] : [];
  });
  // Both are newest first already; merged by time (ISO 8601 in UTC sorts as text).
  const rows = [...decided, ...withHints(dropped.map(dropRow))]
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .map((r) => ({ ...r, at: when(r.at, deps), at_iso: r.at }));
  // Drops carry no MAC: a MAC search shows none of them, and says why.
  const drops =
    filter.mac || filter.outcome === 'accept' || filter.outcome === 'reject'
      ? []
      : withHints(await deps.admin.dropCounts()).filter((r) => (!filter.nas || r.nas === filter.nas) && (!filter.reason || r.reason === filter.reason));
  adminRender(ctx, deps, 'admin/decisions.njk', actor, {
    form,
    time_zone: deps.config.session.time_zone,
    window_hours: DECISION_WINDOW_HOURS,
    max_rows: DECISION_ROWS,
    max_drops: RECENT_DROPS,
    rows,
    more,
    show_drops: !filter.outcome || filter.outcome === 'drop',
    drops,
    mac_searched: filter.mac !== undefined,
  });
};

/** What a drop usually means, besides the wrong shared secret that dropHint names (radius/packet.ts DropReason). */
const DROP_HINTS: Readonly<Record<string, string>> = {
  unknown_client: 'a source address that is not in radius.clients',
  missing_message_authenticator: 'the router sends no Message-Authenticator, which require_message_authenticator asks for',
  overload: 'more requests waiting for the store than radius.max_in_flight (the router retries)',
  store_error: 'accounting the store could not take (the router retries)',
};

/** A MAC or a username, as typed into a search box. */
function searchTerm(q: unknown): { mac?: Mac; user?: string; q: string } {
  const text = typeof q === 'string' ? q.trim().slice(0, 256) : '';
  if (text === '') return { q: '' };
  const mac = parseMac(text);
  return mac ? { mac, q: text } : { user: text, q: text };
}

const devicesPage: Handler = async (ctx, deps, actor, visit) => {
  const term = searchTerm(ctx.query.q);
  const [views, blocked] = await Promise.all([
    deps.admin.devices(actor, { ...(term.mac ? { mac: term.mac } : {}), ...(term.user ? { user: term.user } : {}) }),
    deps.admin.blocked(actor),
  ]);
  const rows = views.map((v) => ({
    mac: v.device.mac,
    owner: v.device.owner,
    os: `${v.device.platform}${v.device.osVersion ? ` ${v.device.osVersion}` : ''}${v.device.model ? ` (${v.device.model})` : ''}`,
    enrolled: when(v.device.enrolledAt, deps),
    session: v.session ? `until ${when(v.session.endsAt, deps)}` : '',
    last_seen: v.lastSeen ? `${when(v.lastSeen, deps)} on ${v.nas}` : '',
    blocked: v.blocked !== undefined,
    revoke_url: v.session && may(actor, 'sessions.revoke') ? confirmUrl(ctx, 'revoke', v.device.mac) : undefined,
    unenroll_url: may(actor, 'devices.unenroll') ? confirmUrl(ctx, 'unenroll', v.device.mac) : undefined,
    block_url: !v.blocked && may(actor, 'devices.block') ? confirmUrl(ctx, 'block', v.device.mac) : undefined,
  }));
  const blockedRows = blocked.map((b) => ({ mac: b.mac, by: b.by, reason: b.reason, at: when(b.at, deps), unblock_url: may(actor, 'devices.unblock') ? confirmUrl(ctx, 'unblock', b.mac) : undefined }));
  const blockOther = term.mac && rows.length === 0 && may(actor, 'devices.block') && !blocked.some((b) => b.mac === term.mac) ? confirmUrl(ctx, 'block', term.mac) : undefined;
  adminRender(ctx, deps, 'admin/devices.njk', actor, { q: term.q, rows, blocked: blockedRows, block_other_url: blockOther, csrf: visit.csrf });
};

const sessionsPage: Handler = async (ctx, deps, actor) => {
  const term = searchTerm(ctx.query.user);
  const sessions = await deps.admin.sessions(actor, term.user ? { user: term.user } : {});
  const rows = sessions.map((s) => ({ mac: s.mac, user: s.user, origin: s.origin, started: when(s.startedAt, deps), ends: when(s.endsAt, deps), revoke_url: confirmUrl(ctx, 'revoke', s.mac) }));
  const users = [...new Set(sessions.map((s) => s.user))];
  adminRender(ctx, deps, 'admin/sessions.njk', actor, {
    user: term.q,
    rows,
    revoke_user_url: term.user && users.length > 0 ? confirmUrl(ctx, 'revoke-user', term.user) : undefined,
  });
};

const nasPage: Handler = async (ctx, deps, actor) => {
  const nasClients = await deps.admin.nasClients(actor);
  adminRender(ctx, deps, 'admin/nas.njk', actor, { nas_clients: nasClients.map((r) => ({ ...r, last_answer: r.lastAnswer ? when(r.lastAnswer, deps) : 'never' })) });
};

/** The audit search form's fields, validated (bad ones are a 400 with the field named). */
function auditFilter(query: Record<string, unknown>, deps: AdminConsoleDeps): { filter: AuditFilter; form: Record<string, string> } {
  const text = (k: string) => (typeof query[k] === 'string' ? (query[k] as string).trim().slice(0, 256) : '');
  const form = { from: text('from'), to: text('to'), user: text('user'), mac: text('mac'), type: text('type'), outcome: text('outcome') };
  const day = (v: string, field: string) => {
    const t = DateTime.fromISO(v, { zone: deps.config.session.time_zone });
    if (!t.isValid) throw new BadInputError(`${field}: "${v}" is not a date or time (2026-11-26 or 2026-11-26T08:00)`);
    return t.toJSDate();
  };
  let mac: Mac | undefined;
  if (form.mac) {
    mac = parseMac(form.mac) ?? undefined;
    if (!mac) throw new BadInputError(`MAC: "${form.mac}" is not a MAC address`);
  }
  if (form.type && !(AUDIT_EVENT_TYPES as readonly string[]).includes(form.type) && !AUDIT_EVENT_TYPES.some((t) => form.type.endsWith('.') && t.startsWith(form.type))) {
    throw new BadInputError(`Type: "${form.type}" is not an event type`);
  }
  if (form.outcome && !['success', 'failure', 'info'].includes(form.outcome)) throw new BadInputError(`Outcome: "${form.outcome}" is not success, failure or info`);
  return {
    form,
    filter: {
      ...(form.from ? { from: day(form.from, 'From') } : {}),
      ...(form.to ? { to: day(form.to, 'To') } : {}),
      ...(form.user ? { user: form.user } : {}),
      ...(mac ? { mac } : {}),
      ...(form.type ? { type: form.type } : {}),
      ...(form.outcome ? { outcome: form.outcome as AuditOutcome } : {}),
    },
  };
}

const auditPage: Handler = async (ctx, deps, actor) => {
  const { filter, form } = auditFilter(ctx.query, deps);
  const searched = Object.values(form).some((v) => v !== '');
  if (!searched) deps.admin.authorize(actor, 'audit.view');
  const matches = searched ? deps.admin.searchAudit(actor, { ...filter, limit: AUDIT_PAGE_ROWS + 1 }, AUDIT_PAGE_ROWS) : [];
  const rows = matches.slice(0, AUDIT_PAGE_ROWS).map((m) => {
    const { seq, at, type, outcome, user, mac, nas, reason, by: _b, admin: _a, prev: _p, hmac: _h, ...rest } = m.record;
    return { seq, at: when(at, deps), at_iso: at, type, outcome, user, by: actorOf(m.record), mac, nas, reason, details: Object.keys(rest).length > 0 ? JSON.stringify(rest) : '' };
  });
  const query = Object.fromEntries(Object.entries(form).filter(([, v]) => v !== ''));
  adminRender(ctx, deps, 'admin/audit.njk', actor, {
    form,
    time_zone: deps.config.session.time_zone,
    types: AUDIT_EVENT_TYPES,
    searched,
    rows,
    more: matches.length > AUDIT_PAGE_ROWS,
    export_csv_url: may(actor, 'audit.export') && searched ? ctx.urls.route('admin.audit_export', { ...query, format: 'csv' }) : undefined,
    export_jsonl_url: may(actor, 'audit.export') && searched ? ctx.urls.route('admin.audit_export', { ...query, format: 'jsonl' }) : undefined,
  });
};

const auditExport: Handler = async (ctx, deps, actor) => {
  const { filter } = auditFilter(ctx.query, deps);
  const format = ctx.query.format === 'csv' ? 'csv' : 'jsonl';
  const chunks = deps.admin.exportAudit(actor, filter, format);
  ctx.status = 200;
  ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/jsonl; charset=utf-8';
  ctx.set('Content-Disposition', `attachment; filename="enrollgate-audit.${format}"`);
  // Streamed with back-pressure: a year's export never sits in memory.
  ctx.body = Readable.from(chunks);
};

function confirmUrl(ctx: Context, action: ActionName, target: string): string {
  return ctx.urls.route('admin.confirm', { action, [ACTIONS[action].target]: target });
}

/** The action named in a query or form, its target checked; BadInputError otherwise. */
function actionOf(input: Record<string, unknown>): { name: ActionName; target: string } {
  const name = typeof input.action === 'string' && input.action in ACTIONS ? (input.action as ActionName) : undefined;
  if (!name) throw new BadInputError('Unknown action.');
  const spec = ACTIONS[name];
  const raw = input[spec.target];
  if (spec.target === 'mac') {
    const mac = typeof raw === 'string' ? parseMac(raw) : null;
    if (!mac) throw new BadInputError('That is not a MAC address.');
    return { name, target: mac };
  }
  const user = typeof raw === 'string' ? raw.trim().slice(0, 256) : '';
  if (user === '') throw new BadInputError('Which person?');
  return { name, target: user };
}

const confirmPage: Handler = async (ctx, deps, actor, visit) => {
  const { name, target } = actionOf(ctx.query);
  deps.admin.authorize(actor, ACTIONS[name].permission);
  adminRender(ctx, deps, 'admin/confirm.njk', actor, {
    title: ACTIONS[name].title,
    verb: ACTIONS[name].verb,
    action_name: name,
    target_field: ACTIONS[name].target,
    target,
    needs_reason: name !== 'unblock',
    csrf: visit.csrf,
    back_url: ctx.urls.route(ACTIONS[name].target === 'user' ? 'admin.sessions' : 'admin.devices'),
  });
};

const actionPerform: Handler = async (ctx, deps, actor, visit) => {
  const body = await checkForm(ctx, deps, visit).catch((err: unknown) => {
    throw err instanceof FlowExpiredError ? new FlowExpiredError('This form has expired. Go back and try again.') : err;
  });
  const { name, target } = actionOf(body);
  deps.admin.authorize(actor, ACTIONS[name].permission);
  const reason = typeof body.reason === 'string' ? body.reason.trim().slice(0, 200) : '';
  if (name !== 'unblock' && reason === '') throw new BadInputError('Give a reason: it goes into the audit trail.');
  let done: string;
  switch (name) {
    case 'revoke':
      done = (await deps.admin.revoke(actor, target as Mac, reason)) ? `The session of ${target} has ended. Its next Access-Request is rejected.` : `${target} had no session.`;
      break;
    case 'revoke-user': {
      const ended = await deps.admin.revokeAllOf(actor, target, reason);
      done = ended.length > 0 ? `Ended ${ended.length} session(s) of ${target}: ${ended.join(', ')}.` : `${target} had no session.`;
      break;
    }
    case 'unenroll':
      done = (await deps.admin.unenroll(actor, target as Mac, reason)) ? `${target} is unenrolled and its session has ended.` : `${target} was not enrolled.`;
      break;
    case 'block':
      await deps.admin.block(actor, target as Mac, reason);
      done = `${target} is blocked: it cannot enroll, log in or get a session, and its session has ended.`;
      break;
    case 'unblock':
      done = (await deps.admin.unblock(actor, target as Mac)) ? `${target} is unblocked.` : `${target} was not blocked.`;
      break;
  }
  adminRender(ctx, deps, 'admin/done.njk', actor, { message: done, back_url: ctx.urls.route(ACTIONS[name].target === 'user' ? 'admin.sessions' : 'admin.devices') });
};

/** For tests: the permission each action needs. */
export const ACTION_PERMISSIONS: Readonly<Record<ActionName, Permission>> = Object.fromEntries(Object.entries(ACTIONS).map(([k, v]) => [k, v.permission])) as Record<ActionName, Permission>;
