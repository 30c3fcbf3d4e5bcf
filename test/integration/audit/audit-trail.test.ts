import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLockedError, AuditLog, spoolAuditEvent } from '../../../src/audit/audit-log.js';
import type { AuditEvent } from '../../../src/audit/events.js';
import { queryAudit } from '../../../src/audit/query.js';
import { eventMembers, HEAD_FILE } from '../../../src/audit/record.js';
import { verifyAuditDir } from '../../../src/audit/verify.js';
import { createLogger } from '../../../src/logger.js';
import { lockLine, processStart } from '../../../src/process-identity.js';
import { LogSink } from '../../helpers/gateway.js';
import { builtUrl } from '../../helpers/source.js';

const quiet = createLogger('silent');
const KEY = Buffer.from('an audit key of at least 32 characters!!');

/** A clock the test moves. */
function clockAt(iso: string) {
  let now = new Date(iso);
  return { now: () => now, set: (t: string) => (now = new Date(t)) };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enrollgate-audit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const enrolled = (i: number): AuditEvent => ({ type: 'device.enrolled', mac: `3c:a0:00:00:00:${String(i).padStart(2, '0')}`, user: `user${i}`, platform: 'ios', via: 'portal' });

/** Writes `n` records across two days and closes the trail. */
async function writeTrail(n: number, key?: Buffer): Promise<void> {
  const clock = clockAt('2026-11-25T23:59:59.000Z');
  const audit = AuditLog.open({ dir, clock, log: quiet, ...(key ? { key } : {}) });
  for (let i = 1; i <= n; i++) {
    if (i === Math.ceil(n / 2)) clock.set('2026-11-26T00:00:01.000Z');
    audit.record(enrolled(i));
  }
  await audit.close();
}

const files = () => readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
const linesOf = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean);

describe('the audit trail', () => {
  it('chains records across daily files, and verifies', async () => {
    await writeTrail(10);
    expect(files()).toEqual(['audit-2026-11-25.jsonl', 'audit-2026-11-26.jsonl']);
    const first = JSON.parse(linesOf('audit-2026-11-25.jsonl')[0]!);
    expect(first).toMatchObject({ seq: 1, type: 'device.enrolled', outcome: 'success', mac: '3c:a0:00:00:00:01', user: 'user1', prev: '0'.repeat(64) });
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'intact', records: 10, lastSeq: 10, files: 2 });
  });

  it('continues the chain after a restart', async () => {
    await writeTrail(4);
    const audit = AuditLog.open({ dir, clock: clockAt('2026-11-26T10:00:00Z'), log: quiet });
    audit.record(enrolled(5));
    await audit.close();
    const last = JSON.parse(linesOf('audit-2026-11-26.jsonl').at(-1)!);
    expect(last.seq).toBe(5);
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'intact', records: 5 });
  });

  it('with a key: every record carries an HMAC, checked with the key; a wrong key fails', async () => {
    await writeTrail(6, KEY);
    expect(linesOf('audit-2026-11-25.jsonl')[0]).toMatch(/,"hmac":"[0-9a-f]{64}"\}$/);
    expect(verifyAuditDir(dir, KEY).status).toBe('intact');
    const wrong = verifyAuditDir(dir, Buffer.from('another key of at least 32 characters!!!'));
    expect(wrong.status).toBe('broken');
    expect(wrong.problem).toMatchObject({ file: 'audit-2026-11-25.jsonl', line: 1 });
  });

  it('seals records another process built (RADIUS workers) like its own: stamped on arrival, chained, keyed', async () => {
    const clock = clockAt('2026-11-26T09:00:00.000Z');
    const audit = AuditLog.open({ dir, clock, log: quiet, key: KEY });
    audit.record(enrolled(1));
    clock.set('2026-11-26T09:00:05.000Z');
    // A user name with a quote, a backslash and a newline: eventMembers' JSON escapes it, so it cannot end its line.
    const odd = 'o"dd\\user\nname';
    audit.recordMembers(
      [
        eventMembers({ type: 'radius.accepted', nas: 'ap-1', mac: '3c:a0:00:00:00:02', user: odd, reason: 'session' }),
        eventMembers({ type: 'radius.rejected', nas: 'ap-1', mac: '3c:a0:00:00:00:03', reason: 'no_session' }),
      ],
      true,
    );
    await audit.close();
    const records = linesOf('audit-2026-11-26.jsonl').map((l) => JSON.parse(l));
    expect(records).toHaveLength(3);
    expect(records[1]).toMatchObject({ seq: 2, at: '2026-11-26T09:00:05.000Z', type: 'radius.accepted', user: odd, outcome: 'success' });
    expect(records[2]).toMatchObject({ seq: 3, at: '2026-11-26T09:00:05.000Z', type: 'radius.rejected', reason: 'no_session', outcome: 'failure' });
    expect(verifyAuditDir(dir, KEY)).toMatchObject({ status: 'intact', records: 3 });
  });


  it('writes a batch as its lines were hashed: text of several bytes a character, more than the writer keeps room for, across midnight', async () => {
    const clock = clockAt('2026-11-25T23:59:59.000Z');
    const audit = AuditLog.open({ dir, clock, log: quiet, key: KEY });
    // Two, three and four bytes a character in UTF-8 (the last a surrogate pair in JS): a line's bytes are not its length.
    const wide = (i: number) => `Jürgen ✓ 😀 ${i} ${'ß€😀'.repeat(60)}`;
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => eventMembers({ type: 'radius.accepted', nas: 'ap-ü', mac: '3c:a0:00:00:00:02', user: wide(from + i), reason: 'session' }));
    // 1,200 records of about 800 bytes in one batch: far more than the 256 KB kept between writes.
    audit.recordMembers(batch(0, 600), true);
    clock.set('2026-11-26T00:00:01.000Z');
    audit.recordMembers(batch(600, 600), true);
    audit.flush();
    // The next batch after the large one is written from the start of the (smaller) buffer again.
    audit.recordMembers(batch(1200, 3), true);
    await audit.close();
    const day1 = linesOf('audit-2026-11-25.jsonl').map((l) => JSON.parse(l));
    const day2 = linesOf('audit-2026-11-26.jsonl').map((l) => JSON.parse(l));
    expect(day1.map((r) => r.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    expect(day2.map((r) => r.seq)).toEqual(Array.from({ length: 603 }, (_, i) => i + 601));
    expect(day2[602]).toMatchObject({ user: wide(1202), nas: 'ap-ü' });
    expect(statSync(join(dir, 'audit-2026-11-26.jsonl')).size).toBeGreaterThan(256 * 1024);
    expect(verifyAuditDir(dir, KEY)).toMatchObject({ status: 'intact', records: 1203, lastSeq: 1203 });
  });
  it('refuses (and logs) records that arrive after it closed', async () => {
    const logs = new LogSink();
    const log = createLogger('info', logs);
    const audit = AuditLog.open({ dir, clock: clockAt('2026-11-26T09:00:00Z'), log });
    await audit.close();
    audit.recordMembers([eventMembers({ type: 'radius.rejected', nas: 'ap-1', reason: 'no_session' })], true);
    audit.record(enrolled(1));
    expect(files()).toEqual([]);
    expect(logs.events().filter((e) => e.event === 'audit.after_close')).toHaveLength(2);
  });

  it('detects a change of any single byte of any file', async () => {
    await writeTrail(4);
    for (const file of files()) {
      const original = readFileSync(join(dir, file));
      for (let i = 0; i < original.length; i++) {
        const altered = Buffer.from(original);
        altered[i] = altered[i]! ^ 0x01;
        writeFileSync(join(dir, file), altered);
        const report = verifyAuditDir(dir);
        if (report.status === 'intact') throw new Error(`a flip of byte ${i} of ${file} went unnoticed`);
      }
      writeFileSync(join(dir, file), original);
    }
    expect(verifyAuditDir(dir).status).toBe('intact');
  });

  it('names a deleted line, two swapped lines and a deleted file', async () => {
    await writeTrail(8);
    const file = 'audit-2026-11-25.jsonl';
    const original = linesOf(file);

    writeFileSync(join(dir, file), `${original.filter((_, i) => i !== 1).join('\n')}\n`);
    let report = verifyAuditDir(dir);
    expect(report.status).toBe('broken');
    expect(report.problem).toMatchObject({ file, line: 2 });
    expect(report.problem!.message).toContain('missing');

    const swapped = [...original];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    writeFileSync(join(dir, file), `${swapped.join('\n')}\n`);
    report = verifyAuditDir(dir);
    expect(report.problem).toMatchObject({ file, line: 2 });
    expect(report.problem!.message).toContain('reordered');

    writeFileSync(join(dir, file), `${original.join('\n')}\n`);
    unlinkSync(join(dir, file));
    report = verifyAuditDir(dir);
    expect(report.status).toBe('broken');
    expect(report.problem!.file).toBe('audit-2026-11-26.jsonl');
  });

  it('detects a file cut at a record boundary (the checkpoint) and mid-record (torn)', async () => {
    await writeTrail(8);
    const file = 'audit-2026-11-26.jsonl';
    const content = readFileSync(join(dir, file), 'utf8');
    const lines = content.split('\n').filter(Boolean);

    writeFileSync(join(dir, file), `${lines.slice(0, -2).join('\n')}\n`);
    let report = verifyAuditDir(dir);
    expect(report.status).toBe('broken');
    expect(report.problem!.message).toContain('was cut');

    writeFileSync(join(dir, file), content);
    truncateSync(join(dir, file), content.length - 20);
    report = verifyAuditDir(dir);
    expect(report.status).toBe('torn');
    expect(report.problem).toMatchObject({ file, line: lines.length });
  });

  it('after a crash mid-write: reports the torn line, records its recovery at the next start, and goes on', async () => {
    await writeTrail(4);
    // What a crash in the middle of write(2) leaves: half a record, no newline.
    const torn = '{"seq":5,"at":"2026-11-26T00:00:02.000Z","type":"device.enr';
    appendFileSync(join(dir, 'audit-2026-11-26.jsonl'), torn);
    // The checkpoint still names record 4, the last whole one: a crash never loses it (it is replaced by rename).
    expect(verifyAuditDir(dir).status).toBe('torn');

    const audit = AuditLog.open({ dir, clock: clockAt('2026-11-26T09:00:00Z'), log: quiet });
    audit.record(enrolled(6));
    await audit.close();
    const lines = linesOf('audit-2026-11-26.jsonl');
    expect(JSON.parse(lines.at(-2)!)).toMatchObject({ seq: 5, type: 'audit.recovered', torn_file: 'audit-2026-11-26.jsonl', torn_line: 4, torn_bytes: torn.length });
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ seq: 6, type: 'device.enrolled' });
    const report = verifyAuditDir(dir);
    expect(report.status).toBe('intact');
    expect(report.notes).toEqual([expect.stringContaining('audit-2026-11-26.jsonl line 4: torn line')]);

    // The torn line is evidence too: altering it afterwards is caught.
    const content = readFileSync(join(dir, 'audit-2026-11-26.jsonl'), 'utf8');
    writeFileSync(join(dir, 'audit-2026-11-26.jsonl'), content.replace('"type":"device.enr\n', '"type":"device.enx\n'));
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'broken', problem: { line: 4 } });
  });

  it('survives kill -9 of a process writing records under load: verifies up to the last line and goes on', async () => {
    // A real process writing as fast as it can; killed once it has written 2,000 records.
    const script = `
      import { AuditLog } from '${builtUrl('audit/audit-log.js')}';
      import { createLogger } from '${builtUrl('logger.js')}';
      const audit = AuditLog.open({ dir: process.argv[1], clock: { now: () => new Date() }, log: createLogger('silent') });
      let i = 0;
      const burst = () => {
        for (let k = 0; k < 200; k++) audit.record({ type: 'radius.accepted', nas: 'wlc-1', mac: '3c:a0:00:00:00:01', reason: 'live session ' + i++ });
        // RADIUS records are written at least every 512 (audit-log.ts, BULK_MAX_RECORDS):
        // by the 3,000th, 2,000 are in the file.
        if (i === 3000) process.stdout.write('written\\n');
        setImmediate(burst);
      };
      burst();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('written') && resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const killed = verifyAuditDir(dir);
    expect(['intact', 'torn']).toContain(killed.status);
    expect(killed.records).toBeGreaterThanOrEqual(2000);

    // The lock of the killed process is stale: a new writer takes over and the chain goes on.
    const audit = AuditLog.open({ dir, clock: { now: () => new Date() }, log: quiet });
    audit.record(enrolled(1));
    await audit.close();
    const after = verifyAuditDir(dir);
    expect(after.status).toBe('intact');
    expect(after.records).toBe(killed.records + 1 + (killed.status === 'torn' ? 1 : 0));
  });

  it('has one writer per directory; others spool their events for it', async () => {
    const clock = clockAt('2026-11-26T08:00:00Z');
    const audit = AuditLog.open({ dir, clock, log: quiet });
    // This process holds the lock; a live other process would be refused (simulated by its PID and start time: our parent's).
    writeFileSync(join(dir, 'audit.lock'), lockLine(process.ppid));
    expect(() => AuditLog.open({ dir, clock, log: quiet })).toThrow(AuditLockedError);
    // As a gateway of an earlier version wrote it, its PID only: a node process is taken at its word.
    writeFileSync(join(dir, 'audit.lock'), `${process.ppid}\n`);
    expect(() => AuditLog.open({ dir, clock, log: quiet })).toThrow(AuditLockedError);
    writeFileSync(join(dir, 'audit.lock'), lockLine());

    spoolAuditEvent(dir, { type: 'device.blocked', mac: '3c:a0:00:00:00:09', by: 'cli:root', reason: 'stolen' }, new Date('2026-11-26T07:59:00Z'));
    audit.drainSpool();
    await audit.close();
    expect(existsSync(join(dir, 'audit.lock'))).toBe(false);
    const [record] = linesOf('audit-2026-11-26.jsonl').map((l) => JSON.parse(l));
    expect(record).toMatchObject({ type: 'device.blocked', by: 'cli:root', requested_at: '2026-11-26T07:59:00.000Z' });
    expect(readdirSync(join(dir, 'spool'))).toEqual([]);
  });

  it('takes over a lock whose PID was given to another process after its writer died', async () => {
    const clock = clockAt('2026-11-26T08:00:00Z');
    const unrelated = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const pid = unrelated.pid!;
      const [ticks, boot] = processStart(pid)!.split('@');
      // Its writer started before it (another start time), or before a reboot (another boot), or wrote its PID only.
      for (const text of [`${pid} ${Number(ticks) - 1}@${boot}\n`, `${pid} ${ticks}@00000000-0000-0000-0000-000000000000\n`, `${pid}\n`]) {
        writeFileSync(join(dir, 'audit.lock'), text);
        const audit = AuditLog.open({ dir, clock, log: quiet });
        expect(readFileSync(join(dir, 'audit.lock'), 'utf8'), text).toBe(lockLine());
        await audit.close();
      }
      // Its own start time: it is the writer.
      writeFileSync(join(dir, 'audit.lock'), lockLine(pid));
      expect(() => AuditLog.open({ dir, clock, log: quiet })).toThrow(new AuditLockedError(dir, pid));
    } finally {
      unrelated.kill('SIGKILL');
    }
  });
});

describe('audit query', () => {
  beforeEach(async () => {
    const clock = clockAt('2026-11-24T12:00:00Z');
    const audit = AuditLog.open({ dir, clock, log: quiet });
    audit.record({ type: 'login.failed', user: 'alice', mac: '3c:a0:00:00:00:01', code: 'EG_INVALID_CREDENTIALS' });
    audit.record({ type: 'login.succeeded', user: 'alice', mac: '3c:a0:00:00:00:01' });
    clock.set('2026-11-25T12:00:00Z');
    audit.record(enrolled(1));
    audit.record({ type: 'radius.rejected', nas: 'wlc-1', mac: '3c:a0:00:00:00:02', reason: 'no session' });
    clock.set('2026-11-26T12:00:00Z');
    audit.record({ type: 'device.blocked', mac: '3c:a0:00:00:00:01', by: 'alice', reason: 'lost' });
    audit.record({ type: 'radius.accepted', nas: 'wlc-1', mac: '3c:a0:00:00:00:01', user: 'user1', reason: 'live session' });
    await audit.close();
  });

  const seqs = (filter: Parameters<typeof queryAudit>[1]) => {
    const out: number[] = [];
    queryAudit(dir, filter, (m) => out.push(m.record.seq));
    return out;
  };

  it('filters by time range, user (or who acted), MAC, type or type prefix, and outcome', () => {
    expect(seqs({})).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seqs({ from: new Date('2026-11-25T00:00:00Z'), to: new Date('2026-11-26T00:00:00Z') })).toEqual([3, 4]);
    expect(seqs({ user: 'alice' })).toEqual([1, 2, 5]);
    expect(seqs({ mac: '3c:a0:00:00:00:01' })).toEqual([1, 2, 3, 5, 6]);
    expect(seqs({ type: 'radius.*' })).toEqual([4, 6]);
    expect(seqs({ type: 'login.failed' })).toEqual([1]);
    expect(seqs({ outcome: 'failure' })).toEqual([1, 4]);
    expect(seqs({ mac: '3c:a0:00:00:00:01', type: 'device.', limit: 1 })).toEqual([3]);
  });
});
