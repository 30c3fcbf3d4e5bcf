/**
 * npm run bench:audit — the audit trail at a campus's scale: writes a year of
 * records for 5,000 devices through the real writer (AuditLog: chained, daily
 * files), then times `audit query` searches and `audit verify` over it.
 *
 *   npm run bench:audit -- [--devices 5000] [--days 365] [--per-day 8] [--keep DIR]
 *
 * Per device and day it writes `per-day` records: RADIUS accepts, accounting start
 * and stop, a session issued; 1 in 50 devices also a failed login and a reject.
 * The write throughput it prints is the writer's cost per record on one core (the
 * part RADIUS pays per answer). Disk: about 230 bytes a record (14.6 million
 * records, ~3.4 GB with the defaults), in a temporary directory removed at the end
 * unless --keep names one. Prints its figures; asserts nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/audit/audit-log.js';
import type { AuditEvent } from '../src/audit/events.js';
import { queryAudit, type AuditFilter } from '../src/audit/query.js';
import { verifyAuditDir } from '../src/audit/verify.js';
import { createLogger } from '../src/logger.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '5000' },
    days: { type: 'string', default: '365' },
    'per-day': { type: 'string', default: '8' },
    keep: { type: 'string' },
  },
});
const DEVICES = Number(values.devices);
const DAYS = Number(values.days);
const PER_DAY = Math.max(4, Number(values['per-day']));
const FIRST_DAY = Date.parse('2025-11-26T00:00:00Z');

const macOf = (i: number) => `3c:a0:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:01`;
const userOf = (i: number) => `user${String(i).padStart(5, '0')}`;

/** One device's day: a session, accounting start and stop, accepts; some failures. */
function dayOf(i: number, mac: string, user: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  if (i % 50 === 0) {
    events.push({ type: 'radius.rejected', nas: 'wlc-1', mac, reason: 'no session' });
    events.push({ type: 'login.failed', user, mac, code: 'EG_INVALID_CREDENTIALS' });
  }
  events.push({ type: 'session.issued', mac, user, origin: 'login', ends_at: '2026-01-01T03:00:00.000Z' });
  events.push({ type: 'accounting.started', nas: 'wlc-1', mac, user, ip: '10.20.0.1', session_id: `s-${i}` });
  for (let k = 0; k < PER_DAY - 3; k++) events.push({ type: 'radius.accepted', nas: 'wlc-1', mac, user, reason: 'live session' });
  events.push({ type: 'accounting.stopped', nas: 'wlc-1', mac, user, ip: '10.20.0.1', session_id: `s-${i}`, input_octets: 123456789, output_octets: 987654321, duration_s: 28800 });
  return events;
}

async function main(): Promise<void> {
  const dir = values.keep ?? (await mkdtemp(join(tmpdir(), 'enrollgate-bench-audit-')));
  const log = createLogger('warn');
  let now = new Date(FIRST_DAY);
  const audit = AuditLog.open({ dir, clock: { now: () => now }, log });
  let records = 0;
  let writeMs = 0;
  console.log(`writing ${DAYS} days × ${DEVICES} devices × ~${PER_DAY} records (node ${process.version}) …`);
  for (let d = 0; d < DAYS; d++) {
    const started = performance.now();
    for (let i = 0; i < DEVICES; i++) {
      // Spread over the working day, in order.
      now = new Date(FIRST_DAY + d * 86_400_000 + 6 * 3_600_000 + Math.floor((i / DEVICES) * 12 * 3_600_000));
      for (const e of dayOf(i, macOf(i), userOf(i))) {
        audit.record(e);
        records++;
      }
      if (i % 500 === 499) audit.flush();
    }
    audit.flush();
    writeMs += performance.now() - started;
    if (d % 60 === 59) console.log(`  ${d + 1} days, ${records} records, ${(records / (writeMs / 1000)).toFixed(0)} records/s`);
  }
  await audit.close();
  const bytes = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  console.log(
    `wrote ${records} records in ${DAYS} files, ${(bytes / 1e9).toFixed(2)} GB, ${(writeMs / 1000).toFixed(1)} s: ` +
      `${(records / (writeMs / 1000)).toFixed(0)} records/s, ${((writeMs * 1000) / records).toFixed(2)} µs a record (chain, seal, write)`,
  );

  const lastDay = new Date(FIRST_DAY + (DAYS - 1) * 86_400_000);
  const day = (n: number) => new Date(lastDay.getTime() - n * 86_400_000);
  const searches: Array<[string, AuditFilter]> = [
    ['one MAC, the whole year', { mac: macOf(1234) }],
    ['one user, the last 30 days', { user: userOf(4321), from: day(29) }],
    ['one MAC, one day', { mac: macOf(777), from: day(0), to: new Date(day(0).getTime() + 86_400_000) }],
    ['failures, the last 7 days', { outcome: 'failure', from: day(6) }],
    ['radius.rejected, the whole year', { type: 'radius.rejected' }],
    ['everything, one day (export)', { from: day(0), to: new Date(day(0).getTime() + 86_400_000) }],
  ];
  console.log('\naudit query (files in the page cache after writing; each search reads the days in its range):');
  for (const [label, filter] of searches) {
    const started = performance.now();
    let n = 0;
    queryAudit(dir, filter, () => n++);
    const ms = performance.now() - started;
    console.log(`  ${label.padEnd(36)} ${String(n).padStart(9)} records  ${(ms / 1000).toFixed(2).padStart(7)} s`);
  }
  const v0 = performance.now();
  const report = verifyAuditDir(dir);
  const vs = (performance.now() - v0) / 1000;
  console.log(`\naudit verify, whole year: ${report.status}, ${report.records} records in ${vs.toFixed(1)} s (${(report.records / vs).toFixed(0)} records/s)`);
  if (!values.keep) await rm(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
