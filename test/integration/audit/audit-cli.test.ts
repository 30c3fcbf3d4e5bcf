import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { createLogger } from '../../../src/logger.js';
import { initOnFreePorts, startCliGateway } from '../../helpers/gateway.js';
import { cliEntry, runCli, SOURCE_RUN_MS } from '../../helpers/source.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * `enrollgate audit …` from the sources against trails a real gateway (`enrollgate start`)
 * wrote: what an auditor runs, with --config (the key) and --dir (a copy, no key).
 */
let dir: string;
let configFile: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'enrollgate-audit-cli-'));
  ({ configFile } = await initOnFreePorts(dir));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const auditDir = () => join(dir, 'audit');
const cli = (...args: string[]) => runCli(args, { cwd: dir });
const records = (): AuditRecord[] =>
  readdirSync(auditDir())
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readFileSync(join(auditDir(), f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as AuditRecord);

/** `enrollgate start`, until it says it started, then SIGTERM: a gateway's whole life in the trail. */
async function startAndStop(): Promise<void> {
  const started = await startCliGateway(configFile, dir);
  await stopChild(started.child, 10_000);
}

function setKey(key = randomBytes(32).toString('base64')): void {
  writeFileSync(join(dir, 'secrets', 'audit-key'), key, { mode: 0o600 });
  const doc = parse(readFileSync(configFile, 'utf8')) as Record<string, any>;
  doc.audit = { ...doc.audit, hmac_key: { file: 'secrets/audit-key' } };
  writeFileSync(configFile, stringify(doc));
}

describe('audit.hmac_key set on a trail that already exists', () => {
  it('is recorded as audit.sealed at the next start, and verify accepts it with --config and --dir alike', async () => {
    await startAndStop();
    expect((await cli('audit', 'verify', '--config', configFile)).code).toBe(0);
    setKey();

    // Key set, gateway not restarted yet: no record is sealed, and that is not a trail that verifies.
    const before = await cli('audit', 'verify', '--config', configFile);
    expect(before.code, before.stdout).toBe(1);
    expect(before.stdout).toContain('line 1 has no HMAC: audit.hmac_key is configured, but no audit.sealed record after it says sealing started');

    await startAndStop();
    const all = records();
    const sealed = all.findIndex((r) => r.type === 'audit.sealed');
    expect(sealed).toBe(3);
    expect(all[sealed]).toMatchObject({ seq: 4, unsealed_seq: 3, outcome: 'info', hmac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(all.slice(0, sealed).every((r) => r.hmac === undefined)).toBe(true);
    expect(all.slice(sealed).every((r) => typeof r.hmac === 'string')).toBe(true);
    // No audit.mismatch: the unsealed checkpoint is what a trail without the key has.
    expect(all.map((r) => r.type)).not.toContain('audit.mismatch');

    const [withKey, copy] = await Promise.all([cli('audit', 'verify', '--config', configFile), cli('audit', 'verify', '--dir', auditDir())]);
    expect(withKey.code, withKey.stdout).toBe(0);
    expect(withKey.stdout).toMatch(/line 4: sealing started at seq 4: seq 1 to 3 were written without audit.hmac_key/);
    expect(withKey.stdout).toContain(`OK: ${all.length} record(s) in 1 file(s) chain from seq 1 to ${all.length}`);
    expect(copy.code, copy.stdout).toBe(0);
    expect(copy.stdout).toContain('line 4: audit.hmac_key was set on this trail at seq 4');

    // The seal covers what came before it: a change to an unsealed record is still caught, with the key.
    const file = join(auditDir(), readdirSync(auditDir()).find((f) => f.endsWith('.jsonl'))!);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"type":"gateway.started","version":"', '"type":"gateway.started","version":"9'));
    const altered = await cli('audit', 'verify', '--config', configFile);
    expect(altered.code).toBe(1);
    expect(altered.stdout).toContain('line 2 was altered');
  }, 6 * SOURCE_RUN_MS);
});

describe('reading the trail is recorded', () => {
  it('audit query --config records audit.queried (who, what, how many); --dir (a copy) and a search of the reads themselves do not', async () => {
    await startAndStop();
    const before = records().length;
    const q = await cli('audit', 'query', '--config', configFile, '--type', 'gateway.*', '--format', 'csv');
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout.trim().split('\n')).toHaveLength(3); // the header, gateway.started, gateway.stopped
    const after = records();
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ type: 'audit.queried', by: expect.stringMatching(/^cli:.+/), records: 2, outcome: 'info' });
    expect(JSON.parse(after.at(-1)!.filter as string)).toEqual({ type: 'gateway.*', format: 'csv' });

    // Who read the trail, read twice: neither read is recorded (a monitor polling it would feed on its own records).
    for (let i = 0; i < 2; i++) {
      const reads = await cli('audit', 'query', '--config', configFile, '--type', 'audit.queried');
      expect(reads.stdout.trim().split('\n')).toHaveLength(1);
    }
    // A copy is evidence: never written to.
    expect((await cli('audit', 'query', '--dir', auditDir(), '--type', 'gateway.*')).code).toBe(0);
    expect(records()).toHaveLength(before + 1);
    expect((await cli('audit', 'verify', '--config', configFile)).code).toBe(0);
  }, 8 * SOURCE_RUN_MS);
});

describe('audit query into a reader that stops (`| head`)', () => {
  it('ends quietly with status 0, and the read is still recorded', async () => {
    await startAndStop();
    // Far more than a pipe holds: the command is still writing when the reader goes.
    const trail = AuditLog.open({ dir: auditDir(), clock: { now: () => new Date() }, log: createLogger('silent') });
    for (let i = 0; i < 5000; i++) trail.record({ type: 'device.unenrolled', user: `user${i}`, mac: '02-00-00-00-00-01', reason: 'owner' });
    await trail.close();

    const child = spawn(process.execPath, [cliEntry(), 'audit', 'query', '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The first line, then the reader closes its end, as head does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    expect(await status).toBe(0);
    expect(stderr).toBe('');
    expect(records().at(-1)).toMatchObject({ type: 'audit.queried', by: expect.stringMatching(/^cli:.+/) });
    expect((await cli('audit', 'verify', '--config', configFile)).code).toBe(0);
  }, 8 * SOURCE_RUN_MS);
});

describe('audit prune', () => {
  const KEY = 'a-test-audit-key-of-at-least-32-characters';
  const DAYS = ['2026-11-24', '2026-11-25', '2026-11-26'];

  /** Three days of four records each, sealed with KEY, written as the gateway writes them. */
  async function threeDays(): Promise<void> {
    setKey(KEY);
    let now = new Date(`${DAYS[0]}T08:00:00Z`);
    const audit = AuditLog.open({ dir: auditDir(), key: Buffer.from(KEY), clock: { now: () => now }, log: createLogger('silent') });
    for (const day of DAYS) {
      for (let i = 0; i < 4; i++) {
        now = new Date(`${day}T08:00:0${i}Z`);
        audit.record({ type: 'login.succeeded', user: `user-${day}-${i}`, surface: 'portal', ip: '10.0.0.1' });
      }
      audit.flush();
    }
    await audit.close();
  }

  it('archives the days before the date, records the cut sealed, and verify of the rest (and of the archive) passes, showing where it starts', async () => {
    await threeDays();
    const archive = join(dir, 'audit-archive');
    const pruned = await cli('audit', 'prune', '--config', configFile, '--before', DAYS[2]!, '--archive', archive);
    expect(pruned.code, pruned.stdout + pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(`Archived 2 file(s), 8 record(s) (seq 1 to 8), to ${archive}:`);
    expect(pruned.stdout).toContain('now starts at seq 9');
    expect(readdirSync(auditDir()).filter((f) => f.endsWith('.jsonl'))).toEqual([`audit-${DAYS[2]}.jsonl`, `audit-${new Date().toISOString().slice(0, 10)}.jsonl`]);
    expect(readdirSync(archive).sort()).toEqual(['audit-2026-11-24.jsonl', 'audit-2026-11-25.jsonl', 'audit-head.json']);

    const cut = records().find((r) => r.type === 'audit.pruned');
    expect(cut).toMatchObject({ by: expect.stringMatching(/^cli:/), before: DAYS[2], archive, files: ['audit-2026-11-24.jsonl', 'audit-2026-11-25.jsonl'], records: 8, first_seq: 1, last_seq: 8, outcome: 'info', hmac: expect.any(String) });

    const [rest, copy] = await Promise.all([cli('audit', 'verify', '--config', configFile), cli('audit', 'verify', '--dir', archive)]);
    expect(rest.code, rest.stdout).toBe(0);
    expect(rest.stdout).toMatch(/note: audit-\d{4}-\d{2}-\d{2}\.jsonl line 1: seq 1 to 8 were pruned \(2 file\(s\), audit-2026-11-24\.jsonl to audit-2026-11-25\.jsonl\) to .*; the trail here starts at seq 9 \(audit-2026-11-26\.jsonl line 1\)/);
    expect(rest.stdout).toContain('OK: 5 record(s) in 2 file(s) chain from seq 9 to 13');
    expect(copy.code, copy.stdout).toBe(0);
    expect(copy.stdout).toContain('OK: 8 record(s) in 2 file(s) chain from seq 1 to 8');

    // Cutting more than was recorded is still a break.
    rmSync(join(auditDir(), `audit-${DAYS[2]}.jsonl`));
    const more = await cli('audit', 'verify', '--config', configFile);
    expect(more.code).toBe(1);
    expect(more.stdout).toContain('jumps from seq 0 to seq 13: 12 record(s) missing before it');
  }, 6 * SOURCE_RUN_MS);

  it('with the gateway running: the gateway records the cut, later cuts continue the same archive, and a trail that does not verify is not pruned', async () => {
    await threeDays();
    const archive = join(dir, 'audit-archive');
    expect((await cli('audit', 'prune', '--config', configFile, '--before', DAYS[1]!, '--archive', archive)).code).toBe(0);
    const started = await startCliGateway(configFile, dir);
    try {
      const second = await cli('audit', 'prune', '--config', configFile, '--before', DAYS[2]!, '--archive', archive);
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.stdout).toContain('Archived 1 file(s), 4 record(s) (seq 5 to 8)');
      const rest = await cli('audit', 'verify', '--config', configFile);
      expect(rest.code, rest.stdout).toBe(0);
      expect(rest.stdout).toMatch(/seq 5 to 8 were pruned .*; the trail here starts at seq 9/);
      expect((await cli('audit', 'verify', '--dir', archive)).stdout).toContain('OK: 8 record(s) in 2 file(s) chain from seq 1 to 8');
    } finally {
      await stopChild(started.child, 10_000);
    }
    // An altered record: nothing is pruned, whatever the date.
    const file = join(auditDir(), `audit-${DAYS[2]}.jsonl`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('user-2026-11-26-1', 'user-2026-11-26-X'));
    const refused = await cli('audit', 'prune', '--config', configFile, '--before', new Date().toISOString().slice(0, 10), '--archive', archive);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Nothing pruned: the trail does not verify');
    expect(readdirSync(auditDir())).toContain(`audit-${DAYS[2]}.jsonl`);
  }, 10 * SOURCE_RUN_MS);

  it('refuses a date after today, --dir, and a missing --archive, with exit 2', async () => {
    const bad = async (...args: string[]) => {
      const r = await cli('audit', 'prune', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      return r.stderr;
    };
    const [future, copy, noArchive] = await Promise.all([
      bad('--config', configFile, '--before', '2999-01-01', '--archive', join(dir, 'a')),
      bad('--dir', auditDir(), '--before', '2026-01-01', '--archive', join(dir, 'a')),
      bad('--config', configFile, '--before', '2026-01-01'),
    ]);
    expect(future).toContain("is after today");
    expect(copy).toContain('give --config, not --dir');
    expect(noArchive).toContain('--archive: missing');
  }, 3 * SOURCE_RUN_MS);
});
