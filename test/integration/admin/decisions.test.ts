import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/directory/file-directory.js';
import { CLI_GATEWAY_SETUP_MS, initOnFreePorts, startCliGateway, type CliGateway } from '../../helpers/gateway.js';
import { cookieOf, httpsCall } from '../../helpers/https.js';
import { FIRST_ANSWER, macAuth, radclient } from '../../helpers/radclient.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * The console's Recent decisions with a real router (radclient) and `enrollgate start` from
 * the sources: a packet signed with a wrong shared secret is dropped without an answer and
 * without an audit record, yet shows on the page as a drop row naming the likely cause;
 * with RADIUS in this process and in two workers (whose drops reach the main process over IPC).
 */

const ADMIN = { username: 'netadmin', password: 'netadmin-password-123456' };
const dirs: string[] = [];
let gateway: CliGateway | undefined;

afterAll(async () => {
  if (gateway) await stopChild(gateway.child, 15_000);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The decisions page's table rows (cell texts), as an admin logged in now reads it with `query`. */
async function decisionRows(httpsPort: number, ca: Buffer, query: string): Promise<string[][]> {
  const call = (path: string, o: Parameters<typeof httpsCall>[3] = {}) => httpsCall(httpsPort, ca, path, o);
  const login = await call('/admin');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
  const r = await call('/admin/login', { cookie: cookieOf(login, 'eg_admin')!, form: { _csrf: csrf, ...ADMIN } });
  expect(r.status).toBe(303);
  const page = await call(`/admin/decisions?${query}`, { cookie: cookieOf(r, 'eg_admin')! });
  expect(page.status, page.text).toBe(200);
  const table = /<h2 id="h-decisions">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(page.text)?.[1] ?? '';
  return [...table.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) => [...row[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').replace(/&#39;/g, "'").trim()));
}

describe.each([1, 2])('Recent decisions with radius.workers: %i', (workers) => {
  it('shows a wrong-secret Access-Request as a drop row with the hint, beside the reject it did not become', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'enrollgate-decisions-'));
    dirs.push(dir);
    const { configFile, ports, secret } = await initOnFreePorts(dir, (doc) => {
      doc.radius.workers = workers;
      doc.admin.roles.admin = ['net-admins'];
    });
    await writeFile(join(dir, 'users.yaml'), stringify({ users: [{ username: ADMIN.username, groups: ['net-admins'], password: await hashPassword(ADMIN.password) }] }));
    const ca = await readFile(join(dir, 'certs', 'ca.pem'));
    gateway = await startCliGateway(configFile, dir);
    try {
      expect((await radclient(ports.auth, 'auth', secret, macAuth('3c:22:fb:10:20:97'), FIRST_ANSWER)).reply).toBe('Access-Reject');
      // The reject's record is stamped when it reaches the main process (up to 20 ms after the answer, the workers' batch),
      // the drop when it happens: the drop comes after the reject is on the page, so that "newest first" is certain.
      await expect.poll(async () => (await decisionRows(ports.https, ca, 'outcome=reject')).length, { timeout: 15_000, interval: 100 }).toBe(1);
      expect((await radclient(ports.auth, 'auth', 'a-secret-the-router-does-not-have', macAuth('3c:22:fb:10:20:98'))).reply).toBeUndefined();

      // A worker sends its drops once a second at most: poll for the row, bounded well past that.
      await expect.poll(async () => (await decisionRows(ports.https, ca, 'outcome=drop')).filter((r) => r[1] === 'drop').length, { timeout: 15_000, interval: 250 }).toBe(1);
      const [drop] = await decisionRows(ports.https, ca, 'outcome=drop');
      // [time, outcome, reason + hint, NAS, MAC, user, method, attributes]
      expect(drop!.slice(1)).toEqual([
        'drop',
        "bad_message_authenticator wrong shared secret on NAS localhost? The packet's Message-Authenticator does not match the secret configured for it",
        'localhost',
        '',
        '',
        '',
        '',
      ]);
      // Any outcome: the drop and the reject, newest first; a MAC filter shows the reject only.
      expect((await decisionRows(ports.https, ca, '')).map((r) => r[1])).toEqual(['drop', 'reject']);
      expect((await decisionRows(ports.https, ca, 'mac=3c:22:fb:10:20:97')).map((r) => r[1])).toEqual(['reject']);
      expect((await decisionRows(ports.https, ca, 'outcome=reject')).map((r) => r[1])).toEqual(['reject']);
      // Not in the audit trail.
      const trail = (await readFile(join(dir, 'audit', `audit-${new Date().toISOString().slice(0, 10)}.jsonl`), 'utf8')).split('\n').filter(Boolean);
      expect(trail.filter((l) => l.includes('3c:22:fb:10:20:98'))).toEqual([]);
    } finally {
      await stopChild(gateway.child, 15_000);
      gateway = undefined;
    }
  }, CLI_GATEWAY_SETUP_MS);
});
