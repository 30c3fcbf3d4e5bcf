/** The query string of a router's redirect to the portal, as Koa parses it (a repeated name becomes an array). */
export type RouterQuery = Record<string, string | string[] | undefined>;

/**
 * One parameter of a router's redirect, or undefined when it is absent or repeated:
 * a name given twice is ambiguous user input, and none of its values is trusted.
 */
export function routerParam(query: RouterQuery, name: string): string | undefined {
  const v = query[name];
  return typeof v === 'string' ? v : undefined;
}
