import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';
import { call, formOf, type Reply } from './http.js';
import { TEST_NAS_SECRET, type TestGateway } from './gateway.js';
import { macAuth, radclient } from './radclient.js';

/**
 * What the portal suites do as a device and as its router against a test gateway: fetch a
 * file as raw bytes, give the device an address (accounting Start), and ask RADIUS about it.
 */

/** GET returning the raw bytes (profiles, certificates, PKCS#12), as the device at `ip` with `userAgent`. */
export function download(t: TestGateway, path: string, ip: string, userAgent: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const url = new URL(path, t.httpUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers: { 'X-Forwarded-For': ip, 'User-Agent': userAgent } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The router's accounting Start for `mac` at `ip`: from then on the portal knows the device by its address. */
export async function leaseTo(t: TestGateway, mac: string, ip: string): Promise<void> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', `Acct-Session-Id = "s-${ip}"`, `Calling-Station-Id = "${mac}"`, `Framed-IP-Address = ${ip}`]);
  if (r.reply !== 'Accounting-Response') throw new Error(`accounting Start for ${mac} at ${ip}: got ${r.reply ?? 'no answer'}`);
}

/** RADIUS's answer to the router's MAC authentication of `mac` ("Access-Accept", "Access-Reject", or undefined for none). */
export async function macAuthReply(t: TestGateway, mac: string): Promise<string | undefined> {
  return (await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply;
}

/** The path (and query) of the link whose text is `text` on a page's HTML (an apostrophe escaped, as the catalogs' words are: &#39;), as the device follows it; throws when there is none. */
export function linkOnPage(t: TestGateway, html: string, text: string): string {
  const escaped = text.replaceAll("'", '&#39;').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const found = new RegExp(`<a (?:class="btn" )?href="([^"]+)">${escaped}</a>`).exec(html);
  if (!found) throw new Error(`no link "${text}"`);
  const u = new URL(found[1]!, t.httpUrl);
  return u.pathname + u.search;
}

/** Where a Location header (or a form's action) leads on the test gateway: its path and query. */
export function pathOf(t: TestGateway, location: unknown): string {
  const u = new URL(String(location), t.httpUrl);
  return u.pathname + u.search;
}

/**
 * A device at `ip` (its lease given to the router's accounting) opens the portal with
 * `userAgent`, finds the registration page headed `heading`, enrolls as `employee` and opens
 * the page the enrollment leads to (its files, one-time link): each step checked.
 */
export async function enrollAndOpen(t: TestGateway, userAgent: string, ip: string, mac: string, heading: string): Promise<{ page: Reply; path: string }> {
  await leaseTo(t, mac, ip);
  const start = await call(t.httpUrl, 'GET', '/portal', { ip, ua: userAgent });
  expect(start.status).toBe(200);
  expect(start.body).toContain(`<h1>${heading}</h1>`);
  const form = formOf(start);
  expect(pathOf(t, form.action)).toBe('/portal/enroll');
  const r = await call(t.httpUrl, 'POST', '/portal/enroll', { ip, ua: userAgent, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword } });
  expect(r.status, r.body).toBe(303);
  const path = pathOf(t, r.headers.location);
  expect(path).toMatch(/^\/portal\/profile\?d=[A-Za-z0-9_-]{32}$/);
  const page = await call(t.httpUrl, 'GET', path, { ip, ua: userAgent });
  expect(page.status, page.body).toBe(200);
  expect(page.body).not.toMatch(/<script/i);
  return { page, path };
}
