import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import { parseMac } from '../../../src/mac.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { startOwnRadius, type OwnRadius } from '../../helpers/own-radius.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * RADIUS on the embedded store reads sessions synchronously (StateStore.readNow). When
 * that read fails, the answer is the one fail_mode closed gives for any store failure:
 * a reject, counted and audited, never a crash and never silence. Accounting, read and
 * written synchronously too (writeNow), goes unanswered instead, so that the router retries. A RADIUS server of
 * its own on a real SQLite file, whose connection the test closes under it; radclient
 * is the router.
 */
let t: TestGateway;
let own: OwnRadius;

beforeAll(async () => {
  // For a valid configuration and its files only: this test's server is its own.
  t = await startTestGateway();
  own = await startOwnRadius(t);
});
afterAll(async () => {
  await own?.close();
  await t?.close();
});

describe('RADIUS on SQLite when the read fails', () => {
  it('accepts through the synchronous read, then rejects (fail_mode closed) once the file cannot be read, counted and audited', async () => {
    const mac = parseMac('3c:dd:00:00:00:01')!;
    const now = new Date();
    await SessionStore.on(own.store).put({ mac, user: 'alice', origin: 'login', startedAt: now.toISOString(), endsAt: new Date(now.getTime() + 3600_000).toISOString() }, now);
    expect((await radclient(own.authPort, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Accept');

    await own.store.close();
    const r = await radclient(own.authPort, 'auth', TEST_NAS_SECRET, macAuth(mac));
    expect(r.reply).toBe('Access-Reject');
    const errors = await own.metrics.registry.getSingleMetric('enrollgate_radius_store_errors_total')?.get();
    expect(errors?.values.find((v) => v.labels.kind === 'access')?.value).toBe(1);
    own.audit.flush();
    const rejected: Array<Record<string, unknown>> = [];
    queryAudit(own.auditDir, { type: 'radius.rejected' }, (m) => rejected.push(m.record));
    expect(rejected.map((e) => [e.mac, e.reason])).toEqual([[mac, 'state store unavailable']]);
  });

  it('does not answer accounting it cannot keep (RFC 2866 §4.1: the router sends it again), and counts it', async () => {
    // The store is closed (the test above): the synchronous accounting path cannot read or write.
    const mac = '3c-dd-00-00-00-02';
    const r = await radclient(own.acctPort, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "lost-1"', `Calling-Station-Id = "${mac}"`]);
    expect(r.reply).toBeUndefined();
    const errors = await own.metrics.registry.getSingleMetric('enrollgate_radius_store_errors_total')?.get();
    expect(errors?.values.find((v) => v.labels.kind === 'accounting')?.value).toBeGreaterThanOrEqual(1);
    expect(own.logs.text()).toContain('accounting.store_failed');
    expect(own.logs.text()).not.toContain('radius.handler_failed');
  });
});
