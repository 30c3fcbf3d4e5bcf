import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { queryAudit } from '../../../src/audit/query.js';
import { systemClock } from '../../../src/clock.js';
import { parseMac } from '../../../src/devices/mac.js';
import { createLogger } from '../../../src/logger.js';
import { buildRadiusServer } from '../../../src/main.js';
import { Metrics } from '../../../src/metrics.js';
import { RecentAccessRequests } from '../../../src/radius/recent-access-requests.js';
import type { RadiusServer } from '../../../src/radius/server.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openSqliteStore, type StateStore } from '../../../src/store/state-store.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * RADIUS on the embedded store reads sessions synchronously (StateStore.readNow). When
 * that read fails, the answer is the one fail_mode closed gives for any store failure:
 * a reject, counted and audited, never a crash and never silence. A RADIUS server of
 * its own (buildRadiusServer, as a worker builds it) on a real SQLite file, whose
 * connection the test closes under it; radclient is the router.
 */
let t: TestGateway;
let store: StateStore;
let server: RadiusServer;
let auditDir: string;
let audit: AuditLog;
let metrics: Metrics;
let port: number;

beforeAll(async () => {
  // For a valid configuration and its files only: this test's server is its own.
  t = await startTestGateway();
  store = await openSqliteStore(join(t.dir, 'radius-only.sqlite'));
  auditDir = await mkdtemp(join(tmpdir(), 'enrollgate-audit-'));
  const log = createLogger('silent');
  audit = AuditLog.open({ dir: auditDir, clock: systemClock, log });
  metrics = new Metrics({ parts: ['radius'] });
  const config = { ...t.config, radius: { ...t.config.radius, auth_port: 0, acct_port: 0 } };
  server = buildRadiusServer(config, { store, metrics, clock: systemClock, log, accessRequests: new RecentAccessRequests(), audit });
  port = (await server.start()).authPort!;
});
afterAll(async () => {
  await server?.stop();
  await store?.close();
  await audit?.close();
  await t?.close();
  await rm(auditDir, { recursive: true, force: true });
});

describe('RADIUS on SQLite when the read fails', () => {
  it('accepts through the synchronous read, then rejects (fail_mode closed) once the file cannot be read, counted and audited', async () => {
    const mac = parseMac('3c:dd:00:00:00:01')!;
    const now = new Date();
    await SessionStore.on(store).put({ mac, user: 'alice', origin: 'login', startedAt: now.toISOString(), endsAt: new Date(now.getTime() + 3600_000).toISOString() }, now);
    expect((await radclient(port, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');

    await store.close();
    const r = await radclient(port, 'auth', TEST_NAS_SECRET, macAuth(mac));
    expect(r.reply).toBe('Access-Reject');
    const errors = await metrics.registry.getSingleMetric('enrollgate_radius_store_errors_total')?.get();
    expect(errors?.values.find((v) => v.labels.kind === 'access')?.value).toBe(1);
    audit.flush();
    const rejected: Array<Record<string, unknown>> = [];
    queryAudit(auditDir, { type: 'radius.rejected' }, (m) => rejected.push(m.record));
    expect(rejected.map((e) => [e.mac, e.reason])).toEqual([[mac, 'state store unavailable']]);
  });
});
