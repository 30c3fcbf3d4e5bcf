import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json: any;
}

export interface HttpsCall {
  method?: string;
  /** Sent as JSON (an object) or as a form (form). */
  json?: unknown;
  form?: Record<string, string>;
  /** Sent as is (with `contentType`, default application/json), instead of json or form. */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Cookie header value. */
  cookie?: string;
  /** Plain HTTP to this port instead of HTTPS. */
  plainPort?: number;
}

/**
 * One request to the gateway's HTTPS port, trusting exactly the gateway's CA;
 * redirects are not followed.
 */
export function httpsCall(port: number, ca: Buffer, path: string, o: HttpsCall = {}): Promise<HttpsReply> {
  const body = o.raw ?? (o.json !== undefined ? JSON.stringify(o.json) : o.form ? new URLSearchParams(o.form).toString() : undefined);
  const type = o.contentType ?? (o.form && o.raw === undefined ? 'application/x-www-form-urlencoded' : 'application/json');
  const request = o.plainPort ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: o.plainPort ?? port,
        path,
        method: o.method ?? (body === undefined ? 'GET' : 'POST'),
        ...(o.plainPort ? {} : { ca }),
        headers: {
          Accept: o.json !== undefined || o.raw !== undefined || path.startsWith('/api/') ? 'application/json' : 'text/html',
          ...(body !== undefined ? { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) } : {}),
          ...(o.cookie ? { Cookie: o.cookie } : {}),
          ...o.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The value of a Set-Cookie for `name` ("name=value"), if the reply sets it. */
export function cookieOf(reply: HttpsReply, name: string): string | undefined {
  return ([] as string[])
    .concat(reply.headers['set-cookie'] ?? [])
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];
}
