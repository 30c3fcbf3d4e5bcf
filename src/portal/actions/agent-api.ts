import type {} from '@koa/bodyparser';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Device } from '../../devices/device.js';
import { macProblem, parseMac, type Mac } from '../../mac.js';
import {
  BadInputError,
  BadJsonError,
  BodyTooLargeError,
  DeviceBlockedError,
  DeviceLimitReachedError,
  GatewayError,
  HttpsRequiredError,
  MethodNotAllowedError,
  NotEnrolledError,
  NotFoundError,
  UnsupportedMediaTypeError,
} from '../../errors.js';
import type { PortalDeps } from '../deps.js';
import { clientIp, clientOf } from '../respond.js';

/**
 * The Android agent's API (JSON over HTTPS): the agent, installed from the portal's
 * download page, enrolls its device with the person's directory password and can
 * unenroll it again. Every answer is JSON; every refusal is
 * `{ error: { code, message, ...details } }` with a stable code (docs/portal.md, "Android agent
 * enrollment API"). Errors are thrown and rendered by the portal's one error
 * middleware (app.ts), which asks apiError below for the API's codes and each error's
 * details() for its extra fields.
 */

/** Where the agent API lives; plain HTTP is refused for every path under it. */
export const AGENT_API_PREFIX = '/api/agent/';

const TOO_LARGE = 'The request body is too large (at most 16 kB).';
const JSON_ONLY = 'Send the request body as application/json.';
const httpsRequired = () => new HttpsRequiredError('The agent API is only served over HTTPS.');
const badInput = (field: string, problem: string) => new BadInputError(`${field}: ${problem}`, { field });

/**
 * What the error middleware answers for an error under /api/: plain HTTP to the agent
 * API is refused whatever else went wrong (nothing is processed, not even the body's
 * errors), and the body parser's errors become the API's codes. The parser's own
 * error is dropped, not kept as cause: co-body puts the raw body (with the password)
 * on it.
 */
export function apiError(err: unknown, ctx: Context): unknown {
  if (ctx.path.startsWith(AGENT_API_PREFIX) && !ctx.secure) return httpsRequired();
  if (err instanceof GatewayError) return err;
  const e = err as { status?: unknown; body?: unknown } | null;
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return err;
  if (e.status === 413) return new BodyTooLargeError(TOO_LARGE);
  if (e.status === 415) return new UnsupportedMediaTypeError(JSON_ONLY);
  // co-body's JSON.parse failure (and strict mode's refusal of a bare value) carry the raw body.
  if (e.status === 400 && 'body' in e) return new BadJsonError();
  return new BadInputError('The request could not be read.');
}

/** A required, bounded string field (messages name the field; zod gives the path). */
const text = (max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'required' : 'expected a string') })
    .min(1, 'must not be empty')
    .max(max, `at most ${max} characters`);

const OS_VERSION = 'a version such as "14" or "13.0.1"';

const enrollBody = z.object({
  username: text(256),
  password: text(1024),
  device: z.object(
    {
      mac: text(32),
      model: text(100),
      os_version: text(32).regex(/^\d{1,3}(\.\d{1,3}){0,3}$/, OS_VERSION),
      agent_version: text(40),
    },
    { error: (iss) => (iss.input === undefined ? 'required' : 'expected an object') },
  ),
});

const unenrollBody = z.object({
  username: text(256),
  password: text(1024),
  mac: text(32),
  reason: text(64).optional(),
});

const identityBody = z.object({
  username: text(256),
  password: text(1024),
  mac: text(32),
});

/**
 * The checks before anything is processed: HTTPS, a JSON body, no caching. Unknown
 * fields are ignored (z.object strips them) so that a newer agent can send more.
 */
function input<T>(ctx: Context, schema: z.ZodType<T>): T {
  ctx.set('Cache-Control', 'no-store');
  if (!ctx.secure) throw httpsRequired();
  if (!ctx.is('application/json')) throw new UnsupportedMediaTypeError(JSON_ONLY);
  const result = schema.safeParse(ctx.request.body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
  throw badInput(field, issue.path.length > 0 ? issue.message : 'expected a JSON object');
}

/** Android's answer to apps that may not read the MAC (Android 6+): no device has it. */
const ANDROID_PLACEHOLDER_MAC = '02:00:00:00:00:00';

function macField(value: string, field: string): Mac {
  const mac = parseMac(value);
  if (mac === null) throw badInput(field, macProblem(value) ?? 'not a MAC address');
  if (mac === ANDROID_PLACEHOLDER_MAC) throw badInput(field, "02:00:00:00:00:00 is Android's placeholder for apps that may not read the MAC, not the device's address");
  return mac;
}

function deviceSummary(d: Device): Record<string, unknown> {
  return { mac: d.mac, model: d.model ?? null, platform: d.platform, enrolled_at: d.enrolledAt };
}

/** POST /api/agent/v1/enroll: enrolls the agent's device for the person and gives it a session. */
export async function agentEnrollAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const body = input(ctx, enrollBody);
  const mac = macField(body.device.mac, 'device.mac');
  let result;
  try {
    result = await deps.enrollment.enroll(
      mac,
      'android',
      body.device.os_version,
      { username: body.username.trim(), password: body.password, from: clientIp(ctx), client: clientOf(ctx, 'agent_api') },
      { via: 'agent', model: body.device.model, agentVersion: body.device.agent_version },
    );
  } catch (err) {
    if (!(err instanceof DeviceLimitReachedError)) throw err;
    // The person logged in correctly: list their devices so the agent can offer to unenroll one.
    err.devices = (await deps.enrollment.devicesOf(err.user ?? body.username.trim())).map(deviceSummary);
    throw err;
  }
  const { device, session } = result;
  const remaining = Math.max(0, Math.floor((Date.parse(session.endsAt) - deps.clock.now().getTime()) / 1000));
  ctx.status = 201;
  ctx.body = {
    device: { mac: device.mac, platform: 'android', enrolled_at: device.enrolledAt, randomised_mac: device.randomisedMac === true },
    session: { ends_at: session.endsAt, seconds_remaining: remaining },
  };
}

/**
 * POST /api/agent/v1/unenroll: the person unenrolls one of their devices; its session
 * ends at once. A device that is not enrolled and one that is somebody else's get the
 * same 404, so the API does not tell who owns a MAC.
 */
export async function agentUnenrollAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const body = input(ctx, unenrollBody);
  const mac = macField(body.mac, 'mac');
  const user = await deps.enrollment.authenticate({ username: body.username.trim(), password: body.password, from: clientIp(ctx), client: clientOf(ctx, 'agent_api') }, mac);
  if (!(await deps.enrollment.unenroll(mac, user.username, body.reason ?? 'agent', clientOf(ctx, 'agent_api')))) throw new NotEnrolledError();
  ctx.status = 200;
  ctx.body = { unenrolled: true };
}

/**
 * POST /api/agent/v1/identity: an EAP-TLS identity for one of the person's enrolled
 * devices (authenticated as enroll and unenroll are: the directory password, over
 * HTTPS): a PKCS#12 with the device's key, certificate and the CA, its one-time
 * password, the RADIUS server's name to pin and the CA to anchor it to. The
 * certificate is bound to the enrollment (Device.certificateSerials) and revoked when
 * the device is unenrolled or blocked. Every call issues a new one; the five newest stay valid.
 */
export async function agentIdentityAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const body = input(ctx, identityBody);
  const mac = macField(body.mac, 'mac');
  const user = await deps.enrollment.authenticate({ username: body.username.trim(), password: body.password, from: clientIp(ctx), client: clientOf(ctx, 'agent_api') }, mac);
  if (!deps.identities || !deps.eapTls) throw new NotFoundError('This network does not use EAP-TLS: there is no identity to hand out.');
  const device = (await deps.enrollment.devicesOf(user)).find((d) => d.mac === mac);
  // Somebody else's device and no device get the same answer (as unenroll).
  if (!device) throw new NotEnrolledError();
  if (await deps.devices.blocked(mac)) throw new DeviceBlockedError();
  const identity = await deps.identities.issue({ mac, owner: device.owner }, 'agent');
  ctx.status = 201;
  ctx.body = {
    identity: {
      format: 'pkcs12',
      pkcs12: identity.p12.toString('base64'),
      // Random and single-use; it protects the file in transit inside the app, not against whoever holds this answer.
      password: identity.password,
      serial: identity.serial,
      not_after: identity.notAfter.toISOString(),
    },
    server_name: deps.eapTls.serverName,
    ca_pem: deps.eapTls.caPem,
  };
}

/** Any other path or method under /api/agent/: JSON like the rest of the API. */
export async function agentUnknownAction(ctx: Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  if (!ctx.secure) throw httpsRequired();
  const known = ['/api/agent/v1/enroll', '/api/agent/v1/unenroll', '/api/agent/v1/identity'].includes(ctx.path);
  if (known) {
    ctx.set('Allow', 'POST');
    throw new MethodNotAllowedError('Use POST.');
  }
  throw new NotFoundError('There is no such agent API endpoint.');
}
