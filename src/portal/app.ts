import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import helmet from 'koa-helmet';
import { BadInputError, BodyTooLargeError, GatewayError, StoreUnavailableError } from '../errors.js';
import { caCertificateAction, agentDownloadAction, captiveApiAction, livenessAction, metricsAction, probeAction, readinessAction } from './actions/system.js';
import { ipadAction, startAction } from './actions/start.js';
import { agentEnrollAction, agentIdentityAction, agentUnenrollAction, agentUnknownAction, apiError } from './actions/agent-api.js';
import { crlAction, ocspGetAction, ocspPostAction } from './actions/pki.js';
import { enrollAction, loginAction } from './actions/submit.js';
import { profileDownloadAction, profileLoginAction, profilePageAction, rootProfileAction } from './actions/profile.js';
import { devicesAction, devicesLoginAction, devicesLogoutAction, renameAction, unenrollAction, unenrollConfirmAction } from './actions/self-service.js';
import { logoAction, termsAction } from './actions/branding.js';
import { walledGardenApiAction, walledGardenPageAction } from './actions/walled-garden.js';
import type { PortalDeps, PortalWiring } from './deps.js';
import { PROBES } from './probes.js';
import { UamHandBack } from './uam/hand-back.js';
import { StartVisits } from './visit.js';
import { Readiness } from './readiness.js';
import { addRouteUrls } from './render.js';
import { cspPolicy, pageWords, refusalStatus, render } from './respond.js';
import { refusalText } from './languages/page-text.js';
import { addRoute, ROUTES, type RouteName } from './routes.js';
import { PortalUrls } from './urls.js';

/** The portal's routes, by name: each at its path in ROUTES, the table links are built from. */
export function portalRouter(deps: PortalDeps): Router {
  const router = new Router();
  const on = (action: (ctx: Context, deps: PortalDeps) => unknown) => async (ctx: Context) => {
    await action(ctx, deps);
  };
  const get = (name: RouteName, action: (ctx: Context, deps: PortalDeps) => unknown) => addRoute(router, 'get', name, on(action));
  const post = (name: RouteName, action: (ctx: Context, deps: PortalDeps) => unknown) => addRoute(router, 'post', name, on(action));
  get('portal.start', startAction);
  post('portal.ipad', ipadAction);
  post('portal.login', loginAction);
  post('portal.enroll', enrollAction);
  get('portal.ca', caCertificateAction);
  get('portal.ca_profile', rootProfileAction);
  post('portal.profile_login', profileLoginAction);
  get('portal.profile_page', profilePageAction);
  get('portal.profile_download', profileDownloadAction);
  get('portal.devices', devicesAction);
  post('portal.devices_login', devicesLoginAction);
  get('portal.devices_unenroll_confirm', unenrollConfirmAction);
  post('portal.devices_unenroll', unenrollAction);
  post('portal.devices_rename', renameAction);
  post('portal.devices_logout', devicesLogoutAction);
  get('portal.agent', agentDownloadAction);
  get('captive.api', captiveApiAction);
  // What the router's walled garden must let through (src/walled-garden), as a page and as JSON.
  get('portal.walled_garden', walledGardenPageAction);
  // portal.branding and portal.terms (actions/branding.ts).
  get('portal.logo', logoAction);
  get('portal.terms', termsAction);
  get('walled_garden.api', walledGardenApiAction);
  // The Android agent's API (actions/agent-api.ts): HTTPS and JSON only.
  post('agent_api.enroll', agentEnrollAction);
  post('agent_api.unenroll', agentUnenrollAction);
  post('agent_api.identity', agentIdentityAction);
  // The CA's revocation status (actions/pki.ts): plain HTTP and HTTPS, signed answers.
  get('pki.crl', crlAction);
  post('pki.ocsp', ocspPostAction);
  router.get('pki.ocsp_get', `${ROUTES['pki.ocsp']}/{*request}`, on(ocspGetAction));
  // Catch-alls, never linked to: not in ROUTES.
  router.all('agent_api.unknown', '/api/agent/{*rest}', on(agentUnknownAction));
  get('health.live', livenessAction);
  get('health.ready', readinessAction);
  get('metrics', metricsAction);
  for (const path of Object.keys(PROBES)) router.get(`probe${path}`, path, on(probeAction));
  return router;
}

/** One error middleware: the error page (or JSON), 5xx logged with details that never reach the visitor. */
function errors(deps: PortalDeps) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (caught) {
      // Under /api/ the answer is always JSON with a stable code, also for the body parser's refusals.
      const api = ctx.path.startsWith('/api/');
      const err = api ? apiError(caught, ctx) : pageError(caught);
      const known = err instanceof GatewayError;
      if (err instanceof StoreUnavailableError) deps.metrics.storeErrors.inc({ where: api ? 'api' : 'portal' });
      const status = known ? refusalStatus(ctx, err) : 500;
      const english = known && err.expose ? err.publicMessage : 'Something went wrong on our side. Please try again in a minute.';
      if (status >= 500) deps.log.error({ err, event: 'portal.error', path: ctx.path, code: known ? err.code : 'EG_INTERNAL' }, 'portal request failed');
      else deps.log.info({ event: 'portal.refused', path: ctx.path, code: known ? err.code : undefined, status }, 'portal request refused');
      if (api || ctx.accepts('html', 'json') === 'json') {
        ctx.status = status;
        ctx.body = { error: { ...(api && known ? err.details() : {}), code: known ? err.code : 'EG_INTERNAL', message: english } };
        if (api) ctx.set('Cache-Control', 'no-store');
        return;
      }
      // A page says it in the visitor's language; JSON above keeps the English an API client reads.
      const words = pageWords(ctx, deps);
      const message = known && err.expose ? refusalText(words, err) : words.text('errors.internal');
      render(ctx, deps, 'error.njk', { status, message, retry: true }, status);
    }
  };
}

/**
 * The body parser's refusal of a page's form (over formLimit, or not what its headers say)
 * as the visitor's fault it is: a 4xx page with words, not a 500 logged as our failure.
 */
function pageError(err: unknown): unknown {
  if (err instanceof GatewayError) return err;
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return err;
  return status === 413 ? new BodyTooLargeError('The form sent was too large.') : new BadInputError('The form sent could not be read.');
}

/** Paths that must answer under overload: the health checks and metrics. */
const ALWAYS_ANSWERED = new Set<string>([ROUTES['health.live'], ROUTES['health.ready'], ROUTES.metrics]);

/**
 * At most `max` requests at once: past it, 503 with Retry-After at once, so that an
 * overload (a flood of captive probes, a slow directory) costs neither unbounded
 * memory nor the health checks.
 */
function bounded(max: number) {
  let inFlight = 0;
  return async (ctx: Context, next: Next) => {
    if (inFlight >= max && !ALWAYS_ANSWERED.has(ctx.path)) {
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'The Wi-Fi portal is busy. Please try again in a few seconds.\n';
      return;
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  };
}

/** helmet's options: its headers but for the CSP (ours, below) and COEP (pages embed nothing). */
const HELMET = { contentSecurityPolicy: false, referrerPolicy: { policy: 'no-referrer' }, crossOriginEmbedderPolicy: false } as const;

/**
 * The headers helmet sets with `options`, taken once: they never vary by request, and
 * running its chain of a dozen middlewares behind a promise for every captive probe was
 * a tenth of the probe's CPU (bench:portal). helmet sets them before it calls on, in the
 * same turn, which is what is recorded here (test/unit/portal/security-headers.test.ts
 * compares the result with helmet itself on a real response).
 */
export function helmetHeaders(options: Parameters<typeof helmet>[0]): ReadonlyArray<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [];
  const res = {
    setHeader: (name: string, value: unknown) => void headers.push([name, String(value)]),
    removeHeader: () => {},
    getHeader: () => undefined,
  };
  void helmet(options)({ req: { headers: {} }, res } as unknown as Context, () => Promise.resolve());
  return headers;
}

/**
 * Security headers. Pages carry no script at all; the one inline stylesheet is
 * allowed by a per-response nonce. Strict-Transport-Security goes only on answers over
 * HTTPS (RFC 6797 §7.2: never over plain HTTP), and only when the base URL is HTTPS.
 * Returns what puts them on an answer.
 */
function securityHeaders(urls: PortalUrls): (ctx: Context) => void {
  const plain = helmetHeaders({ ...HELMET, strictTransportSecurity: false });
  const secure = urls.https ? helmetHeaders({ ...HELMET, strictTransportSecurity: { maxAge: 15552000, includeSubDomains: false } }) : plain;
  // A page's nonce replaces this policy when the page is rendered (respond.ts cspNonce).
  const policy = cspPolicy();
  return (ctx: Context) => {
    const res = ctx.res;
    res.setHeader('Content-Security-Policy', policy);
    for (const [name, value] of ctx.secure ? secure : plain) res.setHeader(name, value);
  };
}

/**
 * The headers of a captive probe's answer over plain HTTP: a fixed Success text or a
 * redirect to the portal, nothing to frame, embed, fetch or run. Not helmet's twelve:
 * setting and writing them was most of what a probe cost beyond Koa's own work
 * (bench:portal), and the probe is the request every device makes on every join.
 */
const PROBE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
];

/**
 * The captive probes (probes.ts) answered before the router and the body parser: the one
 * request every device makes on every join. Over plain HTTP (where probes come) with
 * PROBE_HEADERS; a failure (an error page follows) and everything else gets the full set.
 */
function probesAndSecurityHeaders(deps: PortalDeps, urls: PortalUrls) {
  const secured = securityHeaders(urls);
  return async (ctx: Context, next: Next) => {
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && Object.hasOwn(PROBES, ctx.path)) {
      if (!ctx.secure) {
        for (const [name, value] of PROBE_HEADERS) ctx.res.setHeader(name, value);
        try {
          return await probeAction(ctx, deps);
        } catch (err) {
          secured(ctx);
          throw err;
        }
      }
      secured(ctx);
      return probeAction(ctx, deps);
    }
    secured(ctx);
    await next();
  };
}

/**
 * Portal pages are served on the base URL. A request for one that arrives over
 * plain HTTP when the base URL is HTTPS is sent there (same path and query, our
 * own origin): passwords never cross in clear.
 */
function upgradeToBase(urls: PortalUrls) {
  return async (ctx: Context, next: Next) => {
    if (urls.https && !ctx.secure && ctx.path.startsWith('/portal')) {
      ctx.status = 302;
      ctx.redirect(urls.checked(urls.to(ctx.path) + (ctx.querystring ? `?${ctx.querystring}` : '')));
      return;
    }
    await next();
  };
}

/**
 * Everything else. Traffic a router intercepts (any site, any Host) goes to the
 * portal; requests for our own host that match nothing are a 404 page.
 */
function interceptOrNotFound(deps: PortalDeps, urls: PortalUrls) {
  return async (ctx: Context, next: Next) => {
    await next();
    if (ctx.status !== 404 || ctx.body !== undefined) return;
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.host !== urls.host) {
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 302;
      ctx.redirect(urls.route('portal.start'));
      return;
    }
    render(ctx, deps, 'error.njk', { status: 404, message: pageWords(ctx, deps).text('errors.no_such_page'), retry: true }, 404);
  };
}

/**
 * Builds the portal's Koa app (served on both HTTP and HTTPS by main.ts). `more`
 * are other routers on the same app (the admin console and API, HTTPS only), which
 * share its error pages, security headers and body parser.
 */
export function createPortalApp(wiring: PortalWiring, more: readonly Router[] = []): Koa {
  // The services the actions share, built once from what main.ts wired.
  const deps: PortalDeps = {
    ...wiring,
    uamHandBack: new UamHandBack(wiring),
    startVisits: new StartVisits({ ...wiring, identifyByRedirectParameters: wiring.config.portal.identify_by_redirect_parameters }),
    readiness: new Readiness(wiring),
  };
  // Behind a proxy that appends to X-Forwarded-For, only its last entry is the proxy's
  // word; the ones before it are whatever the client sent (a forged device address, or
  // 127.0.0.1 for /metrics). Koa takes the leftmost unless told how many to trust.
  const app = new Koa({ proxy: deps.config.portal.trust_proxy, maxIpsCount: 1 });
  // One URL builder for the app: actions build links with ctx.urls.route(name), the
  // pages (the admin console's too, which share the renderer) with url(name).
  const urls = new PortalUrls(deps.config.portal.base_url);
  app.context.urls = urls;
  addRouteUrls(deps.renderer, urls);
  // Errors are rendered by the middleware; Koa's default handler would print stacks to stderr.
  app.silent = true;
  app.on('error', (err: unknown) => deps.log.warn({ err, event: 'portal.koa_error' }, 'portal stream error'));
  const router = portalRouter(deps);
  app
    .use(errors(deps))
    .use(bounded(deps.config.portal.max_in_flight))
    .use(probesAndSecurityHeaders(deps, urls))
    .use(interceptOrNotFound(deps, urls))
    .use(upgradeToBase(urls))
    .use(bodyParser({ enableTypes: ['form', 'json'], formLimit: '16kb', jsonLimit: '16kb' }))
    .use(router.routes())
    .use(router.allowedMethods());
  for (const r of more) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
