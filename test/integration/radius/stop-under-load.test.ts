import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { systemClock } from '../../../src/clock.js';
import { createLogger } from '../../../src/logger.js';
import { buildRadiusServer } from '../../../src/main.js';
import { Metrics } from '../../../src/metrics.js';
import { RecentAccessRequests } from '../../../src/radius/recent-access-requests.js';
import { openSqliteStore, type StateStore } from '../../../src/store/state-store.js';
import { LogSink, startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { A, assemble, attr, macAuthRequest, signAccountingRequest, Status } from '../../unit/radius/radius-bytes.js';

/**
 * A RADIUS server stopped while answers are still on their way (accounting gathered
 * for its batch, accounting waiting for its commit, access answers): what cannot be
 * sent any more is logged and dropped (the routers send again), never an exception
 * or unhandled rejection that would end the process. Its own server on a real SQLite
 * file, as a RADIUS worker builds it.
 */
let t: TestGateway;
let store: StateStore;
let auditDir: string;
let audit: AuditLog;

beforeAll(async () => {
  t = await startTestGateway();
  store = await openSqliteStore(join(t.dir, 'radius-only.sqlite'));
  auditDir = await mkdtemp(join(tmpdir(), 'enrollgate-audit-'));
  audit = AuditLog.open({ dir: auditDir, clock: systemClock, log: createLogger('silent') });
});
afterAll(async () => {
  await store?.close();
  await audit?.close();
  await t?.close();
  await rm(auditDir, { recursive: true, force: true });
});

describe('stopping RADIUS under load', () => {
  it('drops what it can no longer answer, logs it, and keeps the process alive', async () => {
    const logs = new LogSink();
    const config = { ...t.config, radius: { ...t.config.radius, auth_port: 0, acct_port: 0 } };
    const server = buildRadiusServer(config, {
      store,
      metrics: new Metrics({ parts: ['radius'] }),
      clock: systemClock,
      log: createLogger('debug', logs),
      accessRequests: new RecentAccessRequests(),
      audit,
    });
    const { authPort, acctPort } = await server.start();
    const nas = createSocket('udp4');
    await new Promise<void>((resolve) => nas.bind(0, '127.0.0.1', () => resolve()));
    let accountingAnswers = 0;
    nas.on('message', (m: Buffer) => void (m[0] === 5 && accountingAnswers++));
    try {
      // A burst on both ports, then stop at once: some accounting is still gathered, some
      // waits for its commit, and access answers may be on their way.
      for (let i = 0; i < 200; i++) {
        const mac = `02-00-00-00-${(i >> 8).toString(16).padStart(2, '0')}-${(i & 255).toString(16).padStart(2, '0')}`;
        nas.send(macAuthRequest({ secret: TEST_NAS_SECRET, identifier: i & 255, userName: mac, callingStationId: mac }), authPort!, '127.0.0.1');
        const accounting = assemble(4, i & 255, Buffer.alloc(16), [attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, `stop-${i}`), attr(A.CallingStationId, mac)]);
        nas.send(signAccountingRequest(accounting, TEST_NAS_SECRET), acctPort!, '127.0.0.1');
      }
      // Stop as soon as the first datagram has been read.
      while (!logs.text().includes('"event":"radius.access"')) await new Promise((resolve) => setImmediate(resolve));
      await server.stop();
      // Give what would still run after stop() the chance to show: continuations need a few turns,
      // and a batch timer (5 ms) left running would fire within this window. An absence is
      // checked here, so a bounded wait by the clock is the only way to see it.
      const until = Date.now() + 50;
      while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
      // Nothing threw past the server (vitest fails on an unhandled rejection or exception);
      // whatever could not be sent any more was logged as such.
      const failures = logs.events().filter((e) => e.event === 'radius.handler_failed');
      for (const f of failures) expect(JSON.stringify(f)).toMatch(/Not running|ERR_SOCKET_DGRAM_NOT_RUNNING|closed/i);
      // Accounting gathered for its batch when the server stopped was dropped, not answered later.
      expect(accountingAnswers).toBeLessThan(200);
    } finally {
      nas.close();
    }
  });
});
