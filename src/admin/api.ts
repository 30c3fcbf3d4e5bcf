/**
 * The JSON admin API (/api/admin/v1), for scripts and other systems: the console's
 * operations, authorized by bearer tokens configured per role (admin.api_tokens).
 * HTTPS only. The acting admin in the audit trail is api:<token name>. Errors are
 * the portal's JSON errors ({ error: { code, message, …details } }).
 */
import { timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { AuditOutcome } from '../audit/events.js';
import type { AuditFilter } from '../audit/query.js';
import type { AdminConfig } from '../config/load.js';
import { parseMac, type Mac } from '../mac.js';
import { BadInputError, GatewayError, HttpsRequiredError, NotFoundError } from '../errors.js';
import { CRL_REASON, type CrlReasonName } from '../pki/revocation-reasons.js';
import { normaliseSerial } from '../pki/serial.js';
import { clientOf } from '../portal/respond.js';
import type { AdminService } from './admin-service.js';
import type { Actor } from './roles.js';

/** No token, or one that is not configured. */
export class UnauthorizedError extends GatewayError {
  readonly code = 'EG_UNAUTHORIZED';
  readonly status = 401;
}

export const ADMIN_API_PREFIX = '/api/admin/v1';

export function adminApiRouter(deps: { admin: AdminService; tokens: AdminConfig['api_tokens'] }): Router {
  const router = new Router({ prefix: ADMIN_API_PREFIX });
  const tokens = deps.tokens.map((t) => ({ actor: { name: `api:${t.name}`, role: t.role } satisfies Actor, token: Buffer.from(t.token) }));
  const authenticate = async (ctx: Context, next: Next): Promise<void> => {
    ctx.set('Cache-Control', 'no-store');
    if (!ctx.secure) throw new HttpsRequiredError('The admin API is only served over HTTPS.');
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(ctx.get('Authorization'));
    const given = m ? Buffer.from(m[1]!) : undefined;
    // Every configured token is compared, in constant time, whatever matches.
    let actor: Actor | undefined;
    for (const t of tokens) if (given && given.length === t.token.length && timingSafeEqual(given, t.token)) actor = t.actor;
    if (!actor) {
      ctx.set('WWW-Authenticate', 'Bearer realm="enrollgate admin API"');
      throw new UnauthorizedError('A valid admin API token is needed (Authorization: Bearer …).');
    }
    ctx.state.actor = { ...actor, client: clientOf(ctx, 'api') } satisfies Actor;
    await next();
  };
  const actor = (ctx: Context): Actor => ctx.state.actor as Actor;
  const body = (ctx: Context) => (ctx.request.body ?? {}) as Record<string, unknown>;
  const reason = (ctx: Context): string => {
    const r = body(ctx).reason;
    if (typeof r !== 'string' || r.trim() === '' || r.length > 200) throw new BadInputError('reason: a reason of 1 to 200 characters (it goes into the audit trail)', { field: 'reason' });
    return r.trim();
  };

  router.use(authenticate);
  router.get('/dashboard', async (ctx) => {
    ctx.body = await deps.admin.dashboard(actor(ctx));
  });
  router.get('/devices', async (ctx) => {
    const user = text(ctx.query.user);
    const mac = ctx.query.mac === undefined ? undefined : macOf(ctx.query.mac, 'mac');
    const views = await deps.admin.devices(actor(ctx), { ...(user ? { user } : {}), ...(mac ? { mac } : {}) });
    ctx.body = {
      devices: views.map((v) => ({
        ...v.device,
        session_ends_at: v.session?.endsAt ?? null,
        blocked: v.blocked !== undefined,
        last_seen: v.lastSeen ?? null,
        nas: v.nas ?? null,
      })),
    };
  });
  router.get('/blocked', async (ctx) => {
    ctx.body = { blocked: await deps.admin.blocked(actor(ctx)) };
  });
  router.post('/devices/:mac/unenroll', async (ctx) => {
    const mac = macOf(ctx.params.mac, 'mac');
    if (!(await deps.admin.unenroll(actor(ctx), mac, reason(ctx)))) throw new NotFoundError(`${mac} is not enrolled.`);
    ctx.body = { unenrolled: mac };
  });
  router.post('/devices/:mac/block', async (ctx) => {
    ctx.body = { blocked: await deps.admin.block(actor(ctx), macOf(ctx.params.mac, 'mac'), reason(ctx)) };
  });
  router.post('/devices/:mac/unblock', async (ctx) => {
    const mac = macOf(ctx.params.mac, 'mac');
    if (!(await deps.admin.unblock(actor(ctx), mac))) throw new NotFoundError(`${mac} is not blocked.`);
    ctx.body = { unblocked: mac };
  });
  router.post('/devices/:mac/certificates/:serial/revoke', async (ctx) => {
    const mac = macOf(ctx.params.mac, 'mac');
    let serial: string;
    try {
      serial = normaliseSerial(String(ctx.params.serial));
    } catch {
      throw new BadInputError('serial: a certificate serial number in hexadecimal', { field: 'serial' });
    }
    const given = body(ctx).reason_code ?? 'unspecified';
    if (typeof given !== 'string' || !Object.hasOwn(CRL_REASON, given)) {
      throw new BadInputError(`reason_code: one of ${Object.keys(CRL_REASON).join(', ')} (RFC 5280)`, { field: 'reason_code' });
    }
    const entry = await deps.admin.revokeCertificate(actor(ctx), mac, serial, CRL_REASON[given as CrlReasonName]);
    if (!entry) throw new NotFoundError(`${serial} is not a certificate of the enrolled device ${mac}.`);
    ctx.body = { revoked: entry };
  });
  router.get('/sessions', async (ctx) => {
    const user = text(ctx.query.user);
    ctx.body = { sessions: await deps.admin.sessions(actor(ctx), user ? { user } : {}) };
  });
  router.post('/sessions/:mac/revoke', async (ctx) => {
    const mac = macOf(ctx.params.mac, 'mac');
    if (!(await deps.admin.revoke(actor(ctx), mac, reason(ctx)))) throw new NotFoundError(`${mac} has no session.`);
    ctx.body = { revoked: [mac] };
  });
  router.post('/users/:user/revoke', async (ctx) => {
    const user = text(ctx.params.user);
    if (!user) throw new BadInputError('user: a username', { field: 'user' });
    ctx.body = { revoked: await deps.admin.revokeAllOf(actor(ctx), user, reason(ctx)) };
  });
  router.get('/nas', async (ctx) => {
    ctx.body = { nas: await deps.admin.nasClients(actor(ctx)) };
  });
  router.get('/audit', async (ctx) => {
    const filter = auditFilter(ctx.query);
    const limit = ctx.query.limit === undefined ? 1000 : Number(ctx.query.limit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) throw new BadInputError('limit: a whole number from 1 to 100000', { field: 'limit' });
    if (ctx.query.export === 'jsonl') {
      const chunks = deps.admin.exportAudit(actor(ctx), filter, 'jsonl');
      ctx.type = 'application/jsonl; charset=utf-8';
      ctx.body = Readable.from(chunks);
      return;
    }
    ctx.body = { records: deps.admin.searchAudit(actor(ctx), { ...filter, limit }).map((m) => m.record) };
  });
  router.all('{*rest}', () => {
    throw new NotFoundError('There is no such admin API endpoint.');
  });
  return router;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 256) : undefined;
}

function macOf(v: unknown, field: string): Mac {
  const mac = typeof v === 'string' ? parseMac(v) : null;
  if (!mac) throw new BadInputError(`${field}: not a MAC address`, { field });
  return mac;
}

function auditFilter(q: Record<string, unknown>): AuditFilter {
  const time = (k: 'from' | 'to') => {
    const v = text(q[k]);
    if (v === undefined) return undefined;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new BadInputError(`${k}: an ISO 8601 time`, { field: k });
    return d;
  };
  const from = time('from');
  const to = time('to');
  const outcome = text(q.outcome);
  if (outcome !== undefined && !['success', 'failure', 'info'].includes(outcome)) throw new BadInputError('outcome: success, failure or info', { field: 'outcome' });
  const user = text(q.user);
  const type = text(q.type);
  const mac = q.mac === undefined ? undefined : macOf(q.mac, 'mac');
  return {
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(user ? { user } : {}),
    ...(mac ? { mac } : {}),
    ...(type ? { type } : {}),
    ...(outcome ? { outcome: outcome as AuditOutcome } : {}),
  };
}
