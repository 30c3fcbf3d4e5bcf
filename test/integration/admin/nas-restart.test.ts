import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/directory/file-directory.js';
import { CLI_GATEWAY_SETUP_MS, initOnFreePorts, startCliGateway, type CliGateway, type GatewayPorts } from '../../helpers/gateway.js';
import { cookieOf, httpsCall } from '../../helpers/https.js';
import { FIRST_ANSWER, macAuth, radclient } from '../../helpers/radclient.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * The console's Routers page across a restart of the gateway: `enrollgate start` from the
 * sources, with two RADIUS workers (they count the answers; the main process reads their
 * counts when it saves them, at stop). radclient is the router: an Access-Request that is
 * rejected and a packet signed with a wrong secret (dropped). After a SIGTERM and a new
 * start, the page still shows the router's last answer and its counts, and goes on counting.
 */

const ADMIN = { username: 'netadmin', password: 'netadmin-password-123456' };
let dir: string;
let configFile: string;
let ports: GatewayPorts;
let secret: string;
let ca: Buffer;
let gateway: CliGateway | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-nas-restart-'));
  ({ configFile, ports, secret } = await initOnFreePorts(dir, (doc) => {
    doc.radius.workers = 2;
    doc.admin.roles.admin = ['net-admins'];
  }));
  await writeFile(join(dir, 'users.yaml'), stringify({ users: [{ username: ADMIN.username, groups: ['net-admins'], password: await hashPassword(ADMIN.password) }] }));
  ca = await readFile(join(dir, 'certs', 'ca.pem'));
}, CLI_GATEWAY_SETUP_MS);

afterAll(async () => {
  if (gateway) await stopChild(gateway.child, 15_000);
  await rm(dir, { recursive: true, force: true });
});

/** The Routers page's row for the router "localhost", cell by cell, as an admin logged in now reads it. */
async function routersRow(): Promise<string[]> {
  const call = (path: string, o: Parameters<typeof httpsCall>[3] = {}) => httpsCall(ports.https, ca, path, o);
  const login = await call('/admin');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
  const r = await call('/admin/login', { cookie: cookieOf(login, 'eg_admin')!, form: { _csrf: csrf, ...ADMIN } });
  expect(r.status).toBe(303);
  const page = await call('/admin/nas', { cookie: cookieOf(r, 'eg_admin')! });
  expect(page.status).toBe(200);
  const row = /<tr><td>localhost<\/td>(.*?)<\/tr>/.exec(page.text)?.[1];
  expect(row, page.text).toBeDefined();
  return [...row!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]!);
}

/** One Access-Request, rejected: one try (a retransmission would change the counts), waited for as after a start. */
const reject = async () => expect((await radclient(ports.auth, 'auth', secret, macAuth('3c:22:fb:10:20:97'), FIRST_ANSWER)).reply).toBe('Access-Reject');

describe('the Routers page', () => {
  it('keeps the last answer and the counts across a restart, and counts on from them', async () => {
    gateway = await startCliGateway(configFile, dir);
    await reject();
    // [address, profile, last answered, accepts, rejects, dropped]
    const before = await routersRow();
    expect(before[2]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/);
    expect(before.slice(3)).toEqual(['0', '1', '0']);
    // After the page was read (which saves the counts): only the save at stop can keep this one.
    expect((await radclient(ports.auth, 'auth', 'a-secret-the-router-does-not-have', macAuth('3c:22:fb:10:20:97'))).reply).toBeUndefined();

    await stopChild(gateway.child, 15_000);
    gateway = await startCliGateway(configFile, dir);
    const after = await routersRow();
    expect(after).toEqual([...before.slice(0, 5), '1']);

    await reject();
    expect((await routersRow()).slice(3)).toEqual(['0', '2', '1']);
  }, 120_000);
});
