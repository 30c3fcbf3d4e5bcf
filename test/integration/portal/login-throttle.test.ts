import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { accountingStart } from '../../helpers/radclient.js';
import { IPHONE_UA } from '../../helpers/http.js';
import { cookieOf, httpsCall, type HttpsReply } from '../../helpers/https.js';

/**
 * A guessing run against one account through the agent API (real HTTPS, users
 * file): throttled after a few wrong passwords, the directory no longer asked, the
 * lockout audited; the owner logs in from another device meanwhile.
 * portal.trust_proxy lets X-Forwarded-For stand for the two devices' addresses.
 */
let t: TestGateway;
let ca: Buffer;
const ATTACKER = '10.66.0.6';
const OWNER = '10.66.0.7';

const enroll = (password: string, from: string, mac = '3c:aa:00:00:00:01') =>
  httpsCall(t.gateway.ports.https, ca, '/api/agent/v1/enroll', {
    json: { username: 'employee', password, device: { mac, model: 'Pixel 8', os_version: '14', agent_version: '1.0' } },
    headers: { 'X-Forwarded-For': from },
  });

beforeAll(async () => {
  t = await startTestGateway({ https: true, configure: (doc) => void (doc.portal.trust_proxy = true) });
  ca = readFileSync(join(t.dir, 'certs', 'ca.pem'));
});
afterAll(async () => t?.close());

describe('login throttling', () => {
  it('throttles a 1,000-guess run against one account; the owner still gets in from another device', async () => {
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 1000; i++) {
      const r = await enroll(`guess-${i}-not-the-password`, ATTACKER);
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter ??= String(r.headers['retry-after']);
        expect(r.json.error).toMatchObject({ code: 'EG_TOO_MANY_ATTEMPTS', retry_after: expect.any(Number) });
      }
    }
    // Five free wrong passwords, then locked: the rest never reached the directory.
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(990);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Even the right password is refused from the guessing device while it is locked.
    expect((await enroll(t.employeePassword, ATTACKER)).status).toBe(429);

    // The owner, from their own phone.
    const owner = await enroll(t.employeePassword, OWNER);
    expect(owner.status, owner.text).toBe(201);

    t.gateway.audit.flush();
    const throttled: Array<Record<string, unknown>> = [];
    queryAudit(t.config.audit.dir, { type: 'login.throttled' }, (m) => throttled.push(m.record));
    expect(throttled[0]).toMatchObject({ user: 'employee', ip: ATTACKER, scope: 'user_and_address', outcome: 'failure' });
    let failedAtDirectory = 0;
    queryAudit(t.config.audit.dir, { type: 'login.failed' }, () => failedAtDirectory++);
    expect(failedAtDirectory).toBeLessThan(10);
  });

  it('counts ＥＭＰＬＯＹＥＥ, EMPLOYEE and Employee against one budget (admin console login)', async () => {
    const from = '10.66.0.8';
    const headers = { 'X-Forwarded-For': from };
    const page = await httpsCall(t.gateway.ports.https, ca, '/admin', { headers });
    const cookie = cookieOf(page, 'eg_admin')!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const login = (username: string) =>
      httpsCall(t.gateway.ports.https, ca, '/admin/login', { cookie, headers, form: { _csrf: csrf, username, password: 'not-the-password' } });
    const statuses = [];
    for (const username of ['ＥＭＰＬＯＹＥＥ', 'ＥＭＰＬＯＹＥＥ', 'EMPLOYEE', 'EMPLOYEE', 'Employee', 'ｅｍｐｌｏｙｅｅ']) statuses.push((await login(username)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
    // Six wrong passwords in four spellings: the sixth locked the one counter they share.
    t.gateway.audit.flush();
    const throttled: Array<Record<string, unknown>> = [];
    queryAudit(t.config.audit.dir, { type: 'login.throttled' }, (m) => throttled.push(m.record));
    expect(throttled.filter((r) => r.ip === from)).toEqual([expect.objectContaining({ user: 'ｅｍｐｌｏｙｅｅ', scope: 'user_and_address', failures: 6 })]);
  });

  /** Wrong passwords until the answer is 429 (the locks double, so it comes however slow the machine). */
  async function until429(attempt: () => Promise<HttpsReply>): Promise<HttpsReply> {
    for (let i = 0; i < 30; i++) {
      const r = await attempt();
      if (r.status === 429) return r;
      expect(r.status, r.text).toBe(401);
    }
    throw new Error('never throttled');
  }

  /** The wait the page tells the person, in seconds ("Try again in 4 seconds." or "in 2 minutes."). */
  function waitOnPage(html: string): number {
    const m = /Try again in (\d+) (second|minute)s?\./.exec(html);
    if (!m) throw new Error(`no wait on the page:\n${html}`);
    return Number(m[1]) * (m[2] === 'minute' ? 60 : 1);
  }

  it('a throttled portal login answers 429 with Retry-After: the seconds left of the lock', async () => {
    const from = '10.66.0.10';
    const headers = { 'X-Forwarded-For': from, 'User-Agent': IPHONE_UA };
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, 'AA-BB-CC-00-66-10', from);
    const page = await httpsCall(t.gateway.ports.https, ca, `/portal?mac=AA-BB-CC-00-66-10&ip=${from}`, { headers });
    expect(page.text).toContain('Set up this iPhone or iPad');
    const cookie = cookieOf(page, 'eg_flow')!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const refused = await until429(() =>
      httpsCall(t.gateway.ports.https, ca, '/portal/enroll', { cookie, headers, form: { _csrf: csrf, username: 'employee', password: 'not-the-password' } }),
    );
    expect(refused.headers['retry-after'], 'Retry-After').toMatch(/^[1-9]\d*$/);
    expect(Number(refused.headers['retry-after'])).toBe(waitOnPage(refused.text));
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
  });

  it('a throttled admin console login answers 429 with Retry-After: the seconds left of the lock', async () => {
    const from = '10.66.0.11';
    const headers = { 'X-Forwarded-For': from };
    const page = await httpsCall(t.gateway.ports.https, ca, '/admin', { headers });
    const cookie = cookieOf(page, 'eg_admin')!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const refused = await until429(() =>
      httpsCall(t.gateway.ports.https, ca, '/admin/login', { cookie, headers, form: { _csrf: csrf, username: 'employee', password: 'not-the-password' } }),
    );
    expect(refused.headers['retry-after'], 'Retry-After').toMatch(/^[1-9]\d*$/);
    expect(Number(refused.headers['retry-after'])).toBe(waitOnPage(refused.text));
  });
});
