import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet from 'koa-helmet';
import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import { helmetHeaders } from '../../../src/portal/app.js';

/**
 * The portal takes helmet's headers once (app.ts) instead of running helmet for every
 * answer: what it takes must be what helmet itself puts on a real response.
 */
async function helmetOnRealResponse(options: Parameters<typeof helmet>[0]): Promise<Record<string, string>> {
  const req = new IncomingMessage(new Socket());
  const res = new ServerResponse(req);
  await helmet(options)({ req, res } as unknown as Context, () => Promise.resolve());
  return Object.fromEntries(Object.entries(res.getHeaders()).map(([k, v]) => [k, String(v)]));
}

const lower = (headers: ReadonlyArray<readonly [string, string]>) => Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v]));

describe('helmetHeaders', () => {
  const base = { contentSecurityPolicy: false, referrerPolicy: { policy: 'no-referrer' }, crossOriginEmbedderPolicy: false } as const;

  it('takes the headers helmet sets on a real response, over HTTP (no HSTS)', async () => {
    const options = { ...base, strictTransportSecurity: false } as const;
    const taken = lower(helmetHeaders(options));
    expect(taken).toEqual(await helmetOnRealResponse(options));
    // Hand-checked: the ones the portal's tests and pages rely on.
    expect(taken).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'SAMEORIGIN' });
    expect(taken['strict-transport-security']).toBeUndefined();
    expect(taken['content-security-policy']).toBeUndefined();
  });

  it('and over HTTPS, with Strict-Transport-Security', async () => {
    const options = { ...base, strictTransportSecurity: { maxAge: 15552000, includeSubDomains: false } } as const;
    const taken = lower(helmetHeaders(options));
    expect(taken).toEqual(await helmetOnRealResponse(options));
    expect(taken['strict-transport-security']).toBe('max-age=15552000');
  });
});
