import { describe, expect, it } from 'vitest';
import type Router from '@koa/router';
import { adminConsoleRouter, type AdminConsoleDeps } from '../../../src/admin/console.js';
import { portalRouter } from '../../../src/portal/app.js';
import type { PortalDeps } from '../../../src/portal/deps.js';
import { isRouteName, routePath, ROUTES, type RouteName } from '../../../src/portal/routes.js';
import { PortalUrls } from '../../../src/portal/urls.js';

/** The routers the portal's app serves (main.ts mounts the console on it); building them only stores the deps. */
const ROUTERS: readonly Router[] = [portalRouter({} as PortalDeps), adminConsoleRouter({} as AdminConsoleDeps)];
/**
 * Named routes that are catch-alls, never linked to: registered, deliberately not in ROUTES
 * (an OCSP GET is built by the client from the responder URL and its request, RFC 6960 A.1).
 */
const UNLINKED = (name: string) => name === 'agent_api.unknown' || name === 'pki.ocsp_get' || name.startsWith('probe/');

/** A value for every parameter a route's path has: characters that must not stay raw in a path segment. */
function sampleParams(name: RouteName): Record<string, string> {
  return Object.fromEntries([...ROUTES[name].matchAll(/:(\w+)/g)].map((m) => [m[1]!, `a/b c?${m[1]}#%`]));
}
/** Its arguments for any name (the types take them only for one name at a time). */
const argsOf = (name: RouteName, query?: Record<string, string>): unknown[] => (ROUTES[name].includes(':') ? [sampleParams(name), query] : [query]);
const build = (urls: PortalUrls, name: RouteName, query?: Record<string, string>): string => (urls.route as (n: RouteName, ...args: unknown[]) => string)(name, ...argsOf(name, query));
const pathOf = (name: RouteName): string => (routePath as (n: RouteName, ...args: unknown[]) => { path: string })(name, ...argsOf(name)).path;

describe('ROUTES', () => {
  const names = Object.keys(ROUTES) as RouteName[];

  it.each(names)('%s is registered at its path, and its built path resolves to it', (name) => {
    const [layer] = ROUTERS.map((r) => r.route(name)).filter((l) => l !== false);
    expect(layer, `no router has a route named ${name}`).toBeDefined();
    expect(layer!.path).toBe(ROUTES[name]);
    const path = pathOf(name);
    // The router builds the same path from the same name (it encodes parameters itself).
    expect(path).toBe(ROUTERS.map((r) => r.url(name, sampleParams(name))).find((u) => typeof u === 'string'));
    const method = layer!.methods.find((m) => m !== 'HEAD')!;
    const matched = ROUTERS.flatMap((r) => r.match(path, method).pathAndMethod);
    expect(matched.map((l) => l.name)).toContain(name);
    // The parameters come back as they were given.
    const params = layer!.params(path, layer!.captures(path), {});
    for (const [k, v] of Object.entries(sampleParams(name))) expect(params[k]).toBe(v);
  });

  it('holds every named route the routers register (except the catch-alls)', () => {
    const registered = ROUTERS.flatMap((r) => r.stack.map((l) => l.name)).filter((n): n is string => typeof n === 'string' && !UNLINKED(n));
    expect(registered.filter((n) => !isRouteName(n))).toEqual([]);
    expect(new Set(registered)).toEqual(new Set(names));
  });

  it('checks names and parameters at compile time', () => {
    const urls = new PortalUrls('https://wifi.example.org');
    // @ts-expect-error: not a route name
    expect(() => urls.route('portal.nope', { done: 'x' })).toThrow(/no route named portal.nope/);
    // @ts-expect-error: '/portal/profile/:id' needs its id
    expect(() => urls.route('portal.profile_download')).toThrow(/no value for :id/);
    // @ts-expect-error: a parameter the path does not have
    urls.route('portal.agent', { file: 'x.apk', id: 'y' });
    expect(isRouteName('portal.nope')).toBe(false);
    expect(isRouteName('toString')).toBe(false);
  });
});

describe('PortalUrls.route', () => {
  const urls = new PortalUrls('https://wifi.example.org/guest');

  it.each(Object.keys(ROUTES) as RouteName[])('%s: absolute, from the base URL', (name) => {
    const url = new URL(build(urls, name));
    expect(url.origin).toBe('https://wifi.example.org');
    expect(url.pathname.startsWith('/guest/')).toBe(true);
    expect(urls.isOurs(url.toString())).toBe(true);
  });

  it('builds the path of a name under the base path, with the query encoded', () => {
    expect(urls.route('portal.start')).toBe('https://wifi.example.org/guest/portal');
    expect(urls.route('portal.devices', { done: 'a&b c' })).toBe('https://wifi.example.org/guest/portal/devices?done=a%26b+c');
    expect(urls.route('admin.confirm', { action: 'revoke-user', user: 'anne@example.org' })).toBe('https://wifi.example.org/guest/admin/confirm?action=revoke-user&user=anne%40example.org');
  });

  it('encodes each parameter as one path segment', () => {
    expect(urls.route('portal.profile_download', { id: 'AbC_-9' })).toBe('https://wifi.example.org/guest/portal/profile/AbC_-9');
    expect(urls.route('portal.profile_download', { id: '../../admin?x=1#y' })).toBe('https://wifi.example.org/guest/portal/profile/..%2F..%2Fadmin%3Fx%3D1%23y');
    expect(urls.route('portal.agent', { file: 'agent 1.apk' }, { v: '2' })).toBe('https://wifi.example.org/guest/portal/agent/agent%201.apk?v=2');
    expect(() => urls.route('portal.agent', { file: '' })).toThrow(/no value for :file/);
  });

  it('is the same as building the path by hand, for every route without parameters', () => {
    for (const name of Object.keys(ROUTES) as RouteName[]) {
      if (ROUTES[name].includes(':')) continue;
      expect(build(urls, name, { q: '1' })).toBe(urls.to(ROUTES[name], { q: '1' }));
    }
  });
});
