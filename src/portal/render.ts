import nunjucks from 'nunjucks';
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
