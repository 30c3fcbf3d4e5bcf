import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/audit-log.js';
import { systemClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { buildRadiusServer } from '../../src/wiring.js';
import { Metrics } from '../../src/metrics.js';
import { RecentAccessRequests } from '../../src/radius/recent-access-requests.js';
import type { RadiusServer } from '../../src/radius/server.js';
import { openSqliteStore } from '../../src/store/sqlite-state-store.js';
import { type StateStore } from '../../src/store/state-store.js';
import { LogSink, type TestGateway } from './gateway.js';

/**
 * A RADIUS server of a test's own, built as a RADIUS worker builds it
 * (buildRadiusServer), with a test gateway's configuration but free ports, its own
 * SQLite file and its own audit directory: for tests that take its store or its
 * sockets away under it, which the gateway's own server must not suffer.
 */
export interface OwnRadius {
  readonly server: RadiusServer;
  readonly store: StateStore;
  readonly audit: AuditLog;
  readonly auditDir: string;
  readonly metrics: Metrics;
  /** Its log, at debug. */
  readonly logs: LogSink;
  readonly authPort: number;
  readonly acctPort: number;
  /** Stops the server (again, if the test did) and closes the store and the audit trail. */
  close(): Promise<void>;
}

export async function startOwnRadius(t: TestGateway): Promise<OwnRadius> {
  const store = await openSqliteStore(join(t.dir, 'radius-only.sqlite'));
  const auditDir = await mkdtemp(join(tmpdir(), 'enrollgate-audit-'));
  const logs = new LogSink();
  const log = createLogger('debug', logs);
  const audit = AuditLog.open({ dir: auditDir, clock: systemClock, log });
  const metrics = new Metrics({ parts: ['radius'] });
  const config = { ...t.config, radius: { ...t.config.radius, auth_port: 0, acct_port: 0 } };
  const server = buildRadiusServer(config, { store, metrics, clock: systemClock, log, accessRequests: new RecentAccessRequests(), audit });
  const { authPort, acctPort } = await server.start();
  return {
    server,
    store,
    audit,
    auditDir,
    metrics,
    logs,
    authPort: authPort!,
    acctPort: acctPort!,
    async close() {
      await server.stop();
      await store.close();
      await audit.close();
      await rm(auditDir, { recursive: true, force: true });
    },
  };
}
