import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountingStore } from '../../../src/accounting/accounting-store.js';
import { queryAudit } from '../../../src/audit/query.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { verifyAuditDir } from '../../../src/audit/verify.js';
import { parseMac } from '../../../src/mac.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { startAckingRouter, type AckingRouter } from '../../helpers/acking-router.js';
import { CLI_GATEWAY_SETUP_MS, initOnFreePorts, startCliGateway, TEST_NAS_SECRET } from '../../helpers/gateway.js';
import { httpsCall } from '../../helpers/https.js';
import { promtoolCheckMetrics } from '../../helpers/promtool.js';
import { FIRST_ANSWER, macAuth, radclient } from '../../helpers/radclient.js';

/**
 * radius.workers: 2 — the CLI's gateway with RADIUS in two worker processes sharing
 * the authentication socket and a third serving accounting: answers, accounting kept,
 * the router a worker saw told of a revoke (RFC 5176, to a UDP listener here that ACKs),
 * metrics gathered from all, and a clean stop of all of them.
 */

const TOKEN = 'admin-token-for-workers-test-0123456789';
/** A device with a session that only an Access-Request (no accounting) places on a router. */
const SEEN_ONLY = '02:00:00:00:07:03';


let dir: string;
let gateway: ChildProcess;
let ports: { http: number; https: number; auth: number; acct: number };
let router: AckingRouter;
/** What the gateway printed so far. */
let output: () => string = () => '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-workers-'));
  // The router's dynamic-authorization port: keeps what it gets and ACKs it.
  router = await startAckingRouter(TEST_NAS_SECRET);
  let configFile: string;
  ({ configFile, ports } = await initOnFreePorts(dir, (doc) => {
    doc.radius.workers = 2;
    doc.radius.clients = [
      {
        name: 'test-nas',
        address: '127.0.0.1',
        secret: TEST_NAS_SECRET,
        dynamic_authorization: { enabled: true, address: '127.0.0.1', port: router.port, timeout_ms: 300, retries: 1 },
      },
    ];
    doc.admin = { api_tokens: [{ name: 'ops', role: 'admin', token: TOKEN }] };
  }));
  // A device with a session, written before start (the workers read the same file).
  const store = await openSqliteStore(join(dir, 'state.sqlite'));
  const now = new Date();
  for (const mac of ['02:00:00:00:07:01', SEEN_ONLY]) {
    await new SessionStore(store.kv.sessions).put(
      { mac: parseMac(mac)!, user: 'alice', origin: 'enrollment', startedAt: now.toISOString(), endsAt: new Date(now.getTime() + 3600_000).toISOString() },
      now,
    );
  }
  await store.close();
  const started = await startCliGateway(configFile, dir);
  gateway = started.child;
  output = started.output;
}, CLI_GATEWAY_SETUP_MS);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
  await router?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('RADIUS workers', () => {
  it('answer from either worker: accept with a session, reject without', async () => {
    for (let i = 0; i < 6; i++) {
      expect((await radclient(ports.auth, 'auth', TEST_NAS_SECRET, macAuth('02:00:00:00:07:01'), FIRST_ANSWER)).reply).toBe('Access-Accept');
      expect((await radclient(ports.auth, 'auth', TEST_NAS_SECRET, macAuth('02:00:00:00:07:02'), FIRST_ANSWER)).reply).toBe('Access-Reject');
    }
    expect(output()).toMatch(/"radiusWorker":\d+/);
  });

  it('one more worker serves accounting alone, and keeps the record with the session user', async () => {
    const r = await radclient(ports.acct, 'acct', TEST_NAS_SECRET, [
      'Acct-Status-Type = Start',
      'Acct-Session-Id = "workers-1"',
      'Calling-Station-Id = "02-00-00-00-07-01"',
      'Framed-IP-Address = 10.7.0.1',
      'NAS-IP-Address = 127.0.0.1',
    ]);
    expect(r.reply).toBe('Accounting-Response');
    const listening = output()
      .split('\n')
      .filter((l) => l.includes('"event":"radius.listening"'))
      .map((l) => JSON.parse(l) as { authPort?: number; acctPort?: number });
    // Two on the authentication port only, one on the accounting port only.
    expect(listening.filter((l) => l.authPort === ports.auth && l.acctPort === undefined)).toHaveLength(2);
    expect(listening.filter((l) => l.acctPort === ports.acct && l.authPort === undefined)).toHaveLength(1);
    const store = await openSqliteStore(join(dir, 'state.sqlite'));
    try {
      const accounting = new AccountingStore(store.kv.accounting, store.kv.leases);
      expect(await accounting.get('test-nas', 'workers-1')).toMatchObject({ status: 'start', mac: '02:00:00:00:07:01', user: 'alice' });
      expect(await accounting.leaseFor('10.7.0.1')).toMatchObject({ mac: '02:00:00:00:07:01' });
    } finally {
      await store.close();
    }
  });

  it('tell the main process which router asked: a revoke reaches that router (Disconnect-Request)', async () => {
    expect((await radclient(ports.auth, 'auth', TEST_NAS_SECRET, macAuth(SEEN_ONLY))).reply).toBe('Access-Accept');
    // The worker sends the hint before the answer's audit record (both in 20 ms batches, added
    // in that order in one turn): once the record is in the trail, the main process has the hint.
    const answered = () => {
      let found = false;
      queryAudit(join(dir, 'audit'), { mac: SEEN_ONLY }, (m) => (found ||= m.record.type === 'radius.accepted'));
      return found;
    };
    await expect.poll(answered).toBe(true);
    const revoked = await httpsCall(ports.https, await readFile(join(dir, 'certs', 'ca.pem')), `/api/admin/v1/sessions/${SEEN_ONLY}/revoke`, {
      json: { reason: 'stolen' },
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(revoked.status).toBe(200);
    await expect.poll(() => router.received.length).toBe(1);
    // A Disconnect-Request naming the device as routers write it (Calling-Station-Id).
    expect(router.received[0]!.raw[0]).toBe(40);
    expect(router.received[0]!.raw.includes(Buffer.from('02-00-00-00-07-03'))).toBe(true);
    expect((await radclient(ports.auth, 'auth', TEST_NAS_SECRET, macAuth(SEEN_ONLY))).reply).toBe('Access-Reject');
  });

  it('their metrics are gathered into the main process /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text();
    const count = (outcome: string) =>
      Number(new RegExp(`enrollgate_radius_requests_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    // Six of each from the first test, and one of each for the device revoked in the third.
    expect(count('accept')).toBe(7);
    expect(count('reject')).toBe(7);
    // One HELP line per metric: the main process and the workers never both expose one.
    const help = text.split('\n').filter((l) => l.startsWith('# HELP '));
    expect(new Set(help).size).toBe(help.length);
    // Gathered and summed, it still passes Prometheus's lint.
    expect(await promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
  });

  it('stop with the main process on SIGTERM', async () => {
    const pids = [...output().matchAll(/"radiusWorker":(\d+)/g)].map((m) => Number(m[1]));
    expect(new Set(pids).size).toBe(3);
    const exited = new Promise<number | null>((resolve) => gateway.once('exit', resolve));
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of new Set(pids)) {
      expect(() => process.kill(pid, 0), `worker ${pid} still running`).toThrow();
    }
    // The workers' answers reached the main process's audit trail (their events go there in batches).
    const records: AuditRecord[] = [];
    queryAudit(join(dir, 'audit'), {}, (m) => records.push(m.record));
    const types = records.map((r) => r.type);
    expect(types.filter((x) => x === 'radius.accepted')).toHaveLength(7);
    expect(types.filter((x) => x === 'radius.rejected')).toHaveLength(7);
    expect(records.find((r) => r.type === 'router.notified')).toMatchObject({ nas: 'test-nas', kind: 'disconnect', mac: SEEN_ONLY, result: 'ack' });
    expect(types.filter((x) => x === 'accounting.started')).toHaveLength(1);
    // Sent as record text and sealed by the main process: whole records, in one intact chain.
    expect(records.find((r) => r.type === 'accounting.started')).toMatchObject({ nas: 'test-nas', mac: '02:00:00:00:07:01', user: 'alice', session_id: 'workers-1', outcome: 'info' });
    expect(records.find((r) => r.type === 'radius.rejected')).toMatchObject({ nas: 'test-nas', outcome: 'failure', reason: expect.any(String) });
    expect(verifyAuditDir(join(dir, 'audit'))).toMatchObject({ status: 'intact', records: records.length });
  });
});
