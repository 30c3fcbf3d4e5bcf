import { BadInputError } from '../errors.js';
import { routePath, type RouteArgs, type RouteName } from './routes.js';

/**
 * Absolute URLs, always built from the configured base URL (never from the Host
 * header, which a captive portal receives from every site a device tried to reach).
 */
export class PortalUrls {
  private readonly base: URL;

  constructor(baseUrl: string) {
    this.base = new URL(baseUrl);
  }

  /**
   * The absolute URL of a named route (routes.ts), its parameters encoded: how every link
   * and redirect into the portal is built.
   */
  route<N extends RouteName>(name: N, ...args: RouteArgs<N>): string {
    // Without arguments a route's URL never changes: every captive probe redirects to one.
    if (args.length === 0) {
      const known = this.plain.get(name);
      if (known !== undefined) return known;
    }
    const { path, query } = routePath(name, ...args);
    const url = this.to(path, query);
    if (args.length === 0) this.plain.set(name, url);
    return url;
  }

  /** The URLs of routes asked for without arguments, built once each. */
  private readonly plain = new Map<RouteName, string>();

  /** The absolute URL of one of our paths (a path starting with '/'): for a path as requested; links use route(). */
  to(path: string, query?: Readonly<Record<string, string>>): string {
    if (!path.startsWith('/') || path.startsWith('//')) throw new Error(`not a local path: ${path}`);
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base.origin);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    return url.toString();
  }

  /** Whether a URL points into the portal (same origin, under the base path). */
  isOurs(target: string): boolean {
    try {
      const url = new URL(target);
      const basePath = this.base.pathname.replace(/\/$/, '');
      return url.origin === this.base.origin && (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`) || basePath === '');
    } catch {
      return false;
    }
  }

  /** The target, after checking it points into the portal: every redirect goes through here. */
  checked(target: string): string {
    if (!this.isOurs(target)) throw new BadInputError(`refusing to redirect outside the portal`);
    return target;
  }

  get https(): boolean {
    return this.base.protocol === 'https:';
  }

  get host(): string {
    return this.base.host;
  }
}
