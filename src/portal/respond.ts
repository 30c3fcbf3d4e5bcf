import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { clientFields, type ClientFields, type Surface } from '../audit/events.js';
import { unmapIpv4 } from '../radius/clients.js';
import type { PortalDeps } from './deps.js';
import { DirectoryUnavailableError, FlowExpiredError, TooManyAttemptsError, type GatewayError } from '../errors.js';
import type { Flow, FlowPurpose } from './flow.js';
import { checkedUamLogon } from './uam/read-redirect.js';
import type { RouteName } from './routes.js';
import type { PortalUrls } from './urls.js';
import { languageLinks, pageLanguage } from './languages/page-language.js';
import type { Translator } from './languages/languages.js';
import { refusalText } from './languages/page-text.js';

declare module 'koa' {
  interface DefaultContext {
    /** Absolute URLs from the configured base URL (app.ts). */
    urls: PortalUrls;
  }
  interface DefaultState {
    /** This response's CSP nonce for the inline stylesheet, once a page asked for one (cspNonce). */
    nonce?: string;
  }
}

export const FLOW_COOKIE = 'eg_flow';

/**
 * The Content-Security-Policy of every answer: no script at all; with a nonce, the page's
 * one inline stylesheet.
 */
export function cspPolicy(nonce?: string): string {
  return `default-src 'none'; ${nonce ? `style-src 'nonce-${nonce}'; ` : ''}img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

/**
 * This response's CSP nonce, made when a page is rendered and named in its policy: not for
 * every probe and redirect (randomBytes per answer was 4-9 % of the portal's CPU under load).
 */
export function cspNonce(ctx: Context): string {
  let nonce = ctx.state.nonce;
  if (nonce === undefined) {
    nonce = randomBytes(16).toString('base64');
    ctx.state.nonce = nonce;
    ctx.set('Content-Security-Policy', cspPolicy(nonce));
  }
  return nonce;
}

/** The browser's address (X-Forwarded-For only with portal.trust_proxy), IPv4 unmapped. */
export function clientIp(ctx: Context): string {
  return unmapIpv4(ctx.ip);
}

/** Who asked, for the audit trail: the surface, the client's address and its User-Agent (bounded). */
export function clientOf(ctx: Context, surface: Surface): ClientFields {
  return clientFields(surface, clientIp(ctx), ctx.get('User-Agent'));
}

/** The request comes from the gateway's own machine (its loopback address): for what only the machine's admin may read. */
export function fromThisMachine(ctx: Context): boolean {
  const ip = clientIp(ctx);
  return ip === '127.0.0.1' || ip === '::1';
}

/**
 * The status of a refusal shown on a page (a form again, with the reason). A throttled
 * login also says when to try again: Retry-After in seconds, what is left of the lock
 * (RFC 6585 §4), as the error middleware and the agent API do.
 */
export function refusalStatus(ctx: Context, err: GatewayError): number {
  if (err instanceof TooManyAttemptsError) ctx.set('Retry-After', String(err.retryAfterSeconds));
  if (err instanceof DirectoryUnavailableError) ctx.set('Retry-After', String(err.retryAfter()));
  return err.status;
}

/** A refusal of the form's own making, its words a catalog key (views/locales): formProblem() puts it in the page's language. */
export interface FormProblem {
  readonly status: number;
  readonly key: string;
  readonly invalid: boolean;
}

/** An empty user name or password: the fields are what is wrong. */
export const MISSING_FIELDS: FormProblem = { status: 400, key: 'errors.missing_fields', invalid: true };

/** A form's own refusal (MISSING_FIELDS …) in the page's language. */
export function formProblem(ctx: Context, deps: Pick<PortalDeps, 'languages'>, problem: FormProblem): FormRefusal {
  return { status: problem.status, error: pageWords(ctx, deps).text(problem.key), invalid: problem.invalid };
}

/** A refusal a login form shows: its status, the words for the person, and whether the typed fields are what was wrong. */
export interface FormRefusal {
  readonly status: number;
  readonly error: string;
  /** Only a missing field (400) or a wrong password (401) marks the fields invalid; a fault on our side (5xx) or a lock does not. */
  readonly invalid: boolean;
}

/**
 * What a login form says for a refusal it shows again (refusalStatus sets the headers). A
 * fault on our side (a directory outage) is logged with its details, which the person never
 * sees: they get the error's publicMessage, in the page's language where the catalog has it.
 */
export function formRefusal(ctx: Context, deps: Pick<PortalDeps, 'log' | 'languages'>, err: GatewayError): FormRefusal {
  const status = refusalStatus(ctx, err);
  if (status >= 500) deps.log.warn({ err, event: 'portal.form_fault', path: ctx.path, code: err.code }, 'login form refused: fault on our side');
  return { status, error: refusalText(pageWords(ctx, deps), err), invalid: status === 400 || status === 401 };
}

/**
 * The words of this request's page, for text an action builds (a notice, what a network asks,
 * a date): the same language render() will use.
 */
export function pageWords(ctx: Context, deps: Pick<PortalDeps, 'languages'>): Translator {
  return deps.languages.translator(pageLanguage(ctx, deps.languages));
}

/** How a page is rendered, beyond its context. */
export interface RenderOptions {
  /** Whether the page links itself in the other languages: not for a page that opens once (its link is used up). */
  readonly languageLinks?: boolean;
}

/**
 * Renders a page in the visitor's language (languages/page-language.ts): the template gets
 * `t(key, params)` for its words, `lang`, and the switcher's links; the answer says its
 * language and that it varies with Accept-Language and the choice's cookie. Pages are
 * personal and short-lived: never cached.
 */
export function render(ctx: Context, deps: Pick<PortalDeps, 'renderer' | 'languages'>, template: string, context: object, status = 200, options: RenderOptions = {}): void {
  const lang = pageLanguage(ctx, deps.languages);
  const words = deps.languages.translator(lang);
  ctx.set('Content-Language', lang);
  ctx.vary('Accept-Language');
  ctx.vary('Cookie');
  const links = options.languageLinks === false ? [] : languageLinks(ctx, deps.languages, lang);
  renderHtml(ctx, deps, template, { ...context, lang, t: words.html.bind(words), language_links: links }, status);
}

/** Renders a template as it is, with no language: the admin console's pages, which are English only. Never cached. */
export function renderHtml(ctx: Context, deps: Pick<PortalDeps, 'renderer'>, template: string, context: object, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = deps.renderer.render(template, { ...context, csp_nonce: cspNonce(ctx) });
}

/** Where each flow's form is posted. */
const FORM_ACTIONS = { login: 'portal.login', enroll: 'portal.enroll', profile: 'portal.profile_login' } as const satisfies Readonly<Record<Flow['purpose'], RouteName>>;

/** Names the flow in a cookie scoped to the portal, for as long as the flow lives. */
export function setFlowCookie(ctx: Context, deps: Pick<PortalDeps, 'config'>, flow: Pick<Flow, 'id'>): void {
  ctx.cookies.set(FLOW_COOKIE, flow.id, {
    httpOnly: true,
    sameSite: 'lax',
    secure: ctx.urls.https,
    path: '/portal',
    maxAge: deps.config.portal.flow_ttl_seconds * 1000,
    overwrite: true,
  });
}

/** Renders a page with a login form bound to a flow: the cookie names the flow, the form carries its token. */
export function renderForm(
  ctx: Context,
  deps: Pick<PortalDeps, 'renderer' | 'config' | 'languages'>,
  template: string,
  flow: Flow,
  context: object,
  status = 200,
): void {
  setFlowCookie(ctx, deps, flow);
  const action = ctx.urls.route(FORM_ACTIONS[flow.purpose]);
  render(ctx, deps, template, { action, csrf: flow.csrf, mac: flow.mac, ...context }, status);
}

/** Redirects to a URL that must point into the portal (checked, never from the Host header). */
export function redirectInside(ctx: Context, target: string, status = 303): void {
  ctx.status = status;
  ctx.redirect(ctx.urls.checked(target));
}

/**
 * The one way out of the portal: to the logon URL of the UAM router `nas` (CoovaChilli
 * `/logon`, MikroTik `/login`, openNDS `/<authdir>/`, checked by uam/read-redirect.ts), as a page that
 * navigates there (views/uam-handoff.njk says why not a redirect of the form's POST).
 * Carries a one-time login or an authorisation: never cached.
 */
export function handToUamNas(ctx: Context, deps: Pick<PortalDeps, 'nas' | 'renderer' | 'languages'>, target: string, nas: string): void {
  const checked = checkedUamLogon(target, nas, (uamip, nasid) => deps.nas.uamNas(uamip, nasid));
  render(ctx, deps, 'uam-handoff.njk', { logon_url: checked });
}

/** The flow a form was posted for: checked by the flow store (expiry, purpose, CSRF) and bound to the address it was started from. */
export async function loadFlow(ctx: Context, deps: PortalDeps, purpose: FlowPurpose): Promise<Flow> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  const flow = await deps.flows.load(ctx.cookies.get(FLOW_COOKIE), purpose, body._csrf, deps.clock.now());
  // A flow belongs to the address it was started from: the device may have moved since.
  if (flow.ip !== clientIp(ctx)) {
    await deps.flows.finish(flow);
    throw new FlowExpiredError();
  }
  return flow;
}

