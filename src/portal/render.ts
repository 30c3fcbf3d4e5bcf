import nunjucks from 'nunjucks';
import type { PortalBranding } from './branding.js';
import type { RouteName } from './routes.js';
import type { PortalUrls } from './urls.js';

/** The template environment: templates only from views/, HTML autoescaped, undefined values caught in tests. */
export function createRenderer(viewsDir: string, globals: Readonly<Record<string, unknown>>): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  for (const [name, value] of Object.entries(globals)) env.addGlobal(name, value);
  return env;
}

/**
 * Lets templates build links by route name as the actions do, with the same builder:
 * `{{ url('portal.devices') }}`, `{{ url('portal.profile_download', { id: id }) }}`. The URL is
 * absolute from the base URL and escaped like any value; a name not in ROUTES fails the render.
 */
export function addRouteUrls(env: nunjucks.Environment, urls: Pick<PortalUrls, 'route'>): void {
  const route = urls.route.bind(urls) as (name: RouteName, ...args: unknown[]) => string;
  env.addGlobal('url', (name: RouteName, ...args: unknown[]) => route(name, ...args));
}

/**
 * What every page's layout shows of portal.branding and portal.terms: the accent's
 * stylesheet lines (brand_style), the logo's address with its version (logo_url) and the terms (terms: title,
 * version, and where to read them). Each is undefined when not configured, so that a reload
 * that takes one away sets it so.
 */
export function brandingGlobals(branding: PortalBranding, urls: Pick<PortalUrls, 'route'>): Record<string, unknown> {
  return {
    brand_style: branding.style,
    logo_url: branding.logo ? urls.route('portal.logo', { v: branding.logo.version }) : undefined,
    terms: branding.terms ? { title: branding.terms.title, version: branding.terms.version, url: urls.route('portal.terms') } : undefined,
  };
}
