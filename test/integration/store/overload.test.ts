import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { call } from '../../helpers/http.js';
import { httpsCall } from '../../helpers/https.js';
import { freeTcpPort } from '../../helpers/ports.js';
import { macAuth, radclient } from '../../helpers/radclient.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';

/**
 * Overload on purpose: the portal and RADIUS keep a bound on the work they hold at
 * once. Past it the portal answers 503 with Retry-After (health checks still
 * answer) and RADIUS drops and counts (the router retries), instead of queueing
 * without end while a directory or a store is slow.
 */
const run = promisify(execFile);
let t: TestGateway | undefined;
let redis: TestRedis | undefined;
let silent: Server | undefined;
afterEach(async () => {
  await t?.close();
  await redis?.close();
  silent?.close();
  t = redis = silent = undefined;
});

describe('overload', () => {
  it('the portal answers 503 with Retry-After past portal.max_in_flight; /healthz still answers', async () => {
    // An LDAP server that accepts and never answers: a login holds its request for the directory's timeout.
    const connected = new Promise<void>((resolve) => {
      silent = createServer((socket: Socket) => {
        socket.on('error', () => {});
        resolve();
      });
    });
    const ldapPort = await freeTcpPort();
    await new Promise<void>((resolve) => silent!.listen(ldapPort, '127.0.0.1', resolve));
    t = await startTestGateway({
      https: true,
      configure: (doc) => {
        doc.portal.max_in_flight = 1;
        doc.directory = { kind: 'ldap', ldap: { url: `ldap://127.0.0.1:${ldapPort}`, bind_dn: 'cn=x,dc=example,dc=org', bind_password: 'x', base_dn: 'dc=example,dc=org', timeout_ms: 1500, connect_timeout_ms: 1500 } };
      },
    });
    const ca = readFileSync(join(t.dir, 'certs', 'ca.pem'));
    const login = httpsCall(t.gateway.ports.https, ca, '/api/agent/v1/enroll', {
      json: { username: 'employee', password: 'x', device: { mac: '3c:dd:00:00:00:01', model: 'x', os_version: '14', agent_version: '1.0' } },
    });
    await connected;
    const busy = await call(t.httpUrl, 'GET', '/portal');
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('5');
    expect((await call(t.httpUrl, 'GET', '/healthz')).status).toBe(200);
    expect((await login).status).toBe(503);
    // The slot is free again.
    expect((await call(t.httpUrl, 'GET', '/portal')).status).not.toBe(503);
  });

  it('RADIUS drops and counts requests past radius.max_in_flight while the store is slow', async () => {
    redis = await startRedis();
    t = await startTestGateway({
      configure: (doc) => {
        doc.store = { kind: 'redis', redis: { url: redis!.url } };
        Object.assign(doc.radius, { max_in_flight: 2, store_deadline_ms: 700 });
      },
    });
    await run('redis-cli', ['-p', String(redis.port), 'CLIENT', 'PAUSE', '2000', 'ALL']);
    const replies = await Promise.all(['3c:dd:00:00:00:02', '3c:dd:00:00:00:03', '3c:dd:00:00:00:04'].map(async (mac) => (await radclient(t!.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply));
    // Two waited for the store and were rejected at its deadline; the third was dropped at once.
    expect(replies.filter((r) => r === 'Access-Reject')).toHaveLength(2);
    expect(replies.filter((r) => r === undefined)).toHaveLength(1);
    const metrics = await call(t.httpUrl, 'GET', '/metrics');
    expect(metrics.body).toMatch(/^enrollgate_radius_drops_total\{nas="test-nas",reason="overload"\} 1$/m);
  });
});
