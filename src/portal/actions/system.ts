import { createReadStream } from 'node:fs';
import type { Context } from 'koa';
import { NotFoundError } from '../../errors.js';
import { secondsUntil } from '../../sessions/daily-cutoff.js';
import type { PortalDeps } from '../deps.js';
import { PROBES } from '../probes.js';
import type { CheckResult } from '../readiness.js';
import { clientIp, fromThisMachine } from '../respond.js';

/**
 * A captive probe: the exact "online" answer for a device with a live session,
 * a redirect to the portal for everyone else. Probes carry no router parameters:
 * only accounting's IP→MAC mapping can vouch for the device.
 */
export async function probeAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const answer = PROBES[ctx.path]!;
  ctx.set('Cache-Control', 'no-store');
  const lease = await deps.accounting.leaseFor(clientIp(ctx));
  const session = lease && (await deps.sessions.live(lease.mac));
  if (!session) {
    ctx.status = 302;
    ctx.redirect(ctx.urls.route('portal.start'));
    return;
  }
  ctx.status = answer.status;
  if (answer.body !== undefined) {
    ctx.type = answer.type ?? 'text/plain';
    ctx.body = answer.body;
  }
}

/** RFC 8908 Captive Portal API, announced with DHCP option 114 (RFC 8910); HTTPS only. */
export async function captiveApiAction(ctx: Context, deps: PortalDeps): Promise<void> {
  // RFC 8908 §4: the API is reached through an https URI, and clients ignore any other, so
  // a plain HTTP request comes from a person or a tool. 404 (JSON, not captive+json): there
  // is no API at this URI. A redirect would make an http:// URI in DHCP option 114 look
  // fine to curl -L while devices ignore it; 421 asks for a retry that gets the same.
  if (!ctx.secure) throw new NotFoundError('The Captive Portal API is only served over HTTPS (RFC 8908).');
  const lease = await deps.accounting.leaseFor(clientIp(ctx));
  const session = lease && (await deps.sessions.live(lease.mac));
  ctx.set('Cache-Control', 'private');
  ctx.type = 'application/captive+json';
  const portal = ctx.urls.route('portal.start');
  ctx.body = session
    ? { captive: false, 'user-portal-url': portal, 'seconds-remaining': secondsUntil(new Date(session.endsAt), deps.clock.now()), 'can-extend-session': false }
    : { captive: true, 'user-portal-url': portal };
}

/** GET /portal/ca.cer: the gateway's root certificate, DER, for iOS to install. */
export function caCertificateAction(ctx: Context, deps: PortalDeps): void {
  ctx.type = 'application/x-x509-ca-cert';
  ctx.set('Content-Disposition', 'attachment; filename="enrollgate-root-ca.cer"');
  ctx.set('Cache-Control', 'no-cache');
  ctx.body = deps.ca.der;
}

/** GET /portal/agent/<file>: the Android agent, when it is served by the portal. */
export function agentDownloadAction(ctx: Context, deps: PortalDeps): void {
  const file = deps.agent?.file;
  if (!file || ctx.params.file !== file.name) {
    ctx.status = 404;
    return;
  }
  ctx.type = 'application/vnd.android.package-archive';
  ctx.set('Content-Disposition', `attachment; filename="${file.name}"`);
  if (deps.agent?.sizeBytes !== undefined) ctx.length = deps.agent.sizeBytes;
  ctx.body = createReadStream(file.path);
}

/** GET /healthz: the process is alive and serving. */
export function livenessAction(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
}

/**
 * GET /readyz: the store and the directory answer; says which one does not. Why (a
 * message that can name the directory's or Redis's host and port) is told to the
 * machine itself only; anyone else on the network reads "unavailable".
 */
export async function readinessAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const { ready, checks } = await deps.readiness.check();
  const local = fromThisMachine(ctx);
  const shown = (c: CheckResult) => (c.ok ? 'ok' : local ? c.message : 'unavailable');
  ctx.set('Cache-Control', 'no-store');
  ctx.status = ready ? 200 : 503;
  ctx.body = { status: ready ? 'ready' : 'not ready', checks: { store: shown(checks.store), directory: shown(checks.directory) } };
}

/** GET /metrics: Prometheus text, only to the machine itself (scrape through a local agent or proxy). */
export async function metricsAction(ctx: Context, deps: PortalDeps): Promise<void> {
  if (!fromThisMachine(ctx)) {
    ctx.status = 404;
    return;
  }
  ctx.type = deps.metrics.registry.contentType;
  // Workers keep only RADIUS metrics and this process none of those, so the two texts never repeat a metric.
  const own = await deps.metrics.registry.metrics();
  ctx.body = deps.workerMetrics ? `${own}\n${await deps.workerMetrics()}` : own;
}
