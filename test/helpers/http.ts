import { request as httpRequest } from 'node:http';

export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** Edge on Windows 10/11: the portal's Windows PC. */
export const EDGE_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface CallOptions {
  /** The client address, sent as X-Forwarded-For (the gateway must have portal.trust_proxy). */
  ip?: string;
  /** The Host header, when it must differ from the URL's. */
  host?: string;
  ua?: string;
  cookie?: string;
  /** The Accept-Language header (none when absent). */
  language?: string;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
}

/**
 * One HTTP request to a portal with full control of Host, client address and
 * cookies; redirects are not followed. A request-target such as //evil.example/x
 * is sent as written.
 */
export function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  const url = new URL(path.startsWith('//') ? '/' : path, base);
  const body = o.form ? new URLSearchParams(o.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        method,
        host: url.hostname,
        port: url.port,
        path: path.startsWith('//') ? path : url.pathname + url.search,
        headers: {
          Host: o.host ?? url.host,
          'User-Agent': o.ua ?? IPHONE_UA,
          Accept: 'text/html',
          ...(o.ip ? { 'X-Forwarded-For': o.ip } : {}),
          ...(o.cookie ? { Cookie: o.cookie } : {}),
          ...(o.language ? { 'Accept-Language': o.language } : {}),
          ...(body ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The form's token, action and the flow cookie of a rendered form page. */
export function formOf(reply: Reply): { csrf: string; cookie: string; action: string } {
  const csrf = /name="_csrf" value="([^"]+)"/.exec(reply.body)?.[1];
  const action = /<form method="post" action="([^"]+)"/.exec(reply.body)?.[1];
  const setCookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('eg_flow='));
  if (!csrf || !setCookie || !action) throw new Error(`not a form page (status ${reply.status})`);
  return { csrf, cookie: setCookie.split(';')[0]!, action };
}

/** Undoes nunjucks' HTML escaping of an attribute value. */
function unescapeHtml(text: string): string {
  return text.replace(/&(amp|quot|#39|lt|gt);/g, (_, e: string) => ({ amp: '&', quot: '"', '#39': "'", lt: '<', gt: '>' })[e]!);
}

/**
 * Where the portal's hand-off page (views/uam-handoff.njk) sends the browser after a login a
 * UAM router started: the refresh target, which must be the Continue link too. Not cached.
 */
export function handoffTarget(reply: Reply): URL {
  if (reply.status !== 200) throw new Error(`not a hand-off page (status ${reply.status}, location ${String(reply.headers.location)})`);
  if (reply.headers['cache-control'] !== 'no-store') throw new Error('the hand-off page carries a login: it must not be cached');
  const refresh = /<meta http-equiv="refresh" content="0; url=([^"]+)">/.exec(reply.body)?.[1];
  const link = /<a class="btn" href="([^"]+)">Continue<\/a>/.exec(reply.body)?.[1];
  if (!refresh || refresh !== link) throw new Error(`not a hand-off page: refresh ${refresh}, link ${link}`);
  return new URL(unescapeHtml(refresh));
}
