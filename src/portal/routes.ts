import type { Router, RouterMiddleware } from '@koa/router';

/**
 * Every route of the portal's app by name, with its path (all but the catch-alls: the
 * captive probes and the agent API's unknown paths): the routers register from this table
 * (app.ts, admin/console.ts) and every link is built from it (PortalUrls.route in actions,
 * url() in templates), so a name the table lacks does not compile and a path is written
 * once. Paths use @koa/router's syntax; a parameter (`:name`) is a whole segment.
 */
export const ROUTES = {
  'portal.start': '/portal',
  'portal.ipad': '/portal/ipad',
  'portal.login': '/portal/login',
  'portal.enroll': '/portal/enroll',
  'portal.ca': '/portal/ca.cer',
  'portal.ca_profile': '/portal/ca.mobileconfig',
  'portal.profile_login': '/portal/profile',
  'portal.profile_page': '/portal/profile',
  'portal.profile_download': '/portal/profile/:id',
  'portal.devices': '/portal/devices',
  'portal.devices_login': '/portal/devices/login',
  'portal.devices_unenroll_confirm': '/portal/devices/unenroll',
  'portal.devices_unenroll': '/portal/devices/unenroll',
  'portal.devices_rename': '/portal/devices/rename',
  'portal.devices_logout': '/portal/devices/logout',
  'portal.agent': '/portal/agent/:file',
  'portal.walled_garden': '/portal/walled-garden',
  'portal.logo': '/portal/logo',
  'portal.terms': '/portal/terms',
  'captive.api': '/api/captive-portal',
  'walled_garden.api': '/api/walled-garden',
  'agent_api.enroll': '/api/agent/v1/enroll',
  'agent_api.unenroll': '/api/agent/v1/unenroll',
  'agent_api.identity': '/api/agent/v1/identity',
  'pki.crl': '/pki/crl.der',
  'pki.ocsp': '/pki/ocsp',
  'health.live': '/healthz',
  'health.ready': '/readyz',
  metrics: '/metrics',
  'admin.home': '/admin',
  'admin.login': '/admin/login',
  'admin.logout': '/admin/logout',
  'admin.devices': '/admin/devices',
  'admin.sessions': '/admin/sessions',
  'admin.nas': '/admin/nas',
  'admin.audit': '/admin/audit',
  'admin.audit_export': '/admin/audit/export',
  'admin.decisions': '/admin/decisions',
  'admin.confirm': '/admin/confirm',
  'admin.action': '/admin/action',
} as const;

export type RouteName = keyof typeof ROUTES;

/** The parameter names in a path: '/portal/agent/:file' has 'file'. */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}` ? Name | ParamNames<`/${Rest}`> : P extends `${string}:${infer Name}` ? Name : never;

/** The values a route's parameters take. */
export type RouteParams<N extends RouteName> = { readonly [K in ParamNames<(typeof ROUTES)[N]>]: string };

export type RouteQuery = Readonly<Record<string, string>>;

/** What follows a route's name: its parameters when its path has any (then required), and a query. */
export type RouteArgs<N extends RouteName> = [ParamNames<(typeof ROUTES)[N]>] extends [never] ? [query?: RouteQuery] : [params: RouteParams<N>, query?: RouteQuery];

/** Whether a value names a route: for names that arrive untyped (from templates). */
export function isRouteName(name: unknown): name is RouteName {
  return typeof name === 'string' && Object.hasOwn(ROUTES, name);
}

const PARAM = /:([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * The path of a named route with its parameters filled in, each encoded as one path
 * segment (a '/' or '?' in a value stays inside it), and its query.
 */
export function routePath<N extends RouteName>(name: N, ...args: RouteArgs<N>): { path: string; query: RouteQuery } {
  // Templates call this untyped (render.ts): a name the table lacks is a mistake to see at once.
  if (!isRouteName(name)) throw new Error(`no route named ${String(name)}`);
  const pattern: string = ROUTES[name];
  const hasParams = pattern.includes(':');
  const params = (hasParams ? args[0] : undefined) as Readonly<Record<string, string>> | undefined;
  const query = (hasParams ? args[1] : args[0]) ?? {};
  const path = pattern.replace(PARAM, (_, param: string) => {
    const value = params?.[param];
    if (typeof value !== 'string' || value === '') throw new Error(`route ${name}: no value for :${param}`);
    return encodeURIComponent(value);
  });
  return { path, query };
}

/** Registers `middleware` for a named route at its path from ROUTES. */
export function addRoute(router: Router, method: 'get' | 'post', name: RouteName, ...middleware: RouterMiddleware[]): void {
  router[method](name, ROUTES[name], ...middleware);
}
