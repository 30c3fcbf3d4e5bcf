/** The query string of a router's redirect to the portal, as Koa parses it (a repeated name becomes an array). */
export type RedirectQuery = Record<string, string | string[] | undefined>;

/**
 * One parameter of a router's redirect, or undefined when it is absent or repeated:
 * a name given twice is ambiguous user input, and none of its values is trusted.
 */
export function redirectParam(query: RedirectQuery, name: string): string | undefined {
  const v = query[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A router's "where the person wanted to go" (CoovaChilli userurl, MikroTik link-orig,
 * openNDS redir), when it may be handed back: an absolute http(s) URL. Anything else
 * (`javascript:…`, `//host`, a bare path) is dropped, and the router is sent the portal's
 * own success page instead: the router puts it in a redirect or a link of its own.
 */
export function destinationToPassOn(value: string | undefined): string | undefined {
  // Written out in full: "http:///x" and "http:\\x" are absolute to a URL parser, not to a reader.
  if (value === undefined || !/^https?:\/\/[^/\\]/i.test(value)) return undefined;
  try {
    const url = new URL(value);
    // Passed on as the browser will read it.
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
