import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAckingRouter, type AckingRouter } from '../../helpers/acking-router.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { httpsCall } from '../../helpers/https.js';
import { radclient } from '../../helpers/radclient.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';

/**
 * Two gateways on one Redis and one router that takes RFC 5176 requests (a UDP
 * listener here that ACKs each one): a change made through one gateway reaches
 * the router exactly once, from that gateway, although both know where the
 * device is (accounting in Redis).
 */
const TOKEN = 'admin-token-for-coa-test-0123456789abcd';
const MAC = '3c:f1:00:00:00:01';
let redis: TestRedis;
let router: AckingRouter;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  redis = await startRedis();
  router = await startAckingRouter(TEST_NAS_SECRET);
  const configure = (doc: Record<string, any>) => {
    doc.store = { kind: 'redis', redis: { url: redis.url, key_prefix: 'coa:' } };
    doc.enrollment = { randomised_macs: 'accept', device_limit: 0 };
    doc.admin = { api_tokens: [{ name: 'ops', role: 'admin', token: TOKEN }] };
    doc.radius.clients[0].dynamic_authorization = { enabled: true, address: '127.0.0.1', port: router.port, timeout_ms: 300, retries: 1 };
  };
  a = await startTestGateway({ https: true, configure });
  b = await startTestGateway({
    https: true,
    configure: (doc) => {
      configure(doc);
      doc.directory = { kind: 'file', file: { path: a.config.directory.file.path } };
    },
  });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await router?.close();
  await redis?.close();
});

describe('RFC 5176 with two gateways on one Redis', () => {
  it('sends each change to the router once, from the gateway that made it', async () => {
    // The router's accounting reaches gateway A: both gateways now know where the device is.
    const start = await radclient(a.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "coa-1"', `Calling-Station-Id = "${MAC}"`, 'Framed-IP-Address = 10.9.9.9']);
    expect(start.reply).toBe('Accounting-Response');

    // Enrolled through A: A tells the router (Disconnect, so the device re-authenticates); B does not.
    const enrolled = await httpsCall(a.gateway.ports.https, readFileSync(join(a.dir, 'certs', 'ca.pem')), '/api/agent/v1/enroll', {
      json: { username: 'employee', password: a.employeePassword, device: { mac: MAC, model: 'x', os_version: '14', agent_version: '1.0' } },
    });
    expect(enrolled.status).toBe(201);
    await Promise.all([a.gateway.notifier.idle(), b.gateway.notifier.idle()]);
    expect(router.received).toHaveLength(1);

    // Revoked through B: B sends the Disconnect-Request; A does not.
    const revoked = await httpsCall(b.gateway.ports.https, readFileSync(join(b.dir, 'certs', 'ca.pem')), `/api/admin/v1/sessions/${MAC}/revoke`, {
      json: { reason: 'stolen' },
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(revoked.status).toBe(200);
    await Promise.all([a.gateway.notifier.idle(), b.gateway.notifier.idle()]);
    expect(router.received).toHaveLength(2);
    expect(router.received.every((r) => r.raw[0] === 40)).toBe(true);
    // Two different gateways' sockets sent them.
    expect(router.received[0]!.fromPort).not.toBe(router.received[1]!.fromPort);
  });
});
