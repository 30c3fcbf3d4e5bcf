import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, HEAD_INTERVAL_MS } from '../../../src/audit/audit-log.js';
import type { AuditEvent } from '../../../src/audit/events.js';
import { eventMembers, HEAD_FILE, lineHash, type AuditHead } from '../../../src/audit/record.js';
import { verifyAuditDir } from '../../../src/audit/verify.js';
import { systemClock } from '../../../src/clock.js';
import { createLogger } from '../../../src/logger.js';
import { builtUrl, cliEntry, SOURCE_RUN_MS } from '../../helpers/source.js';

/**
 * The end of the audit trail. audit-head.json names the last record written, within a
 * second of it even when no further event comes, so a trail at rest (the gateway idle,
 * not stopped) verifies only as written. `enrollgate audit verify` runs from this run's build of
 * the sources (helpers/source.ts).
 */
const run = promisify(execFile);
const quiet = createLogger('silent');
const KEY = Buffer.from('an audit key of at least 32 characters!!');
/** The checkpoint is due HEAD_INTERVAL_MS (a second) after the last record; ten times that leaves room for a loaded machine. */
const CHECKPOINT_DEADLINE_MS = 10 * HEAD_INTERVAL_MS;

let dir: string;
let audit: AuditLog | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enrollgate-checkpoint-'));
});
afterEach(async () => {
  await audit?.close();
  audit = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function verifyCli(target: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliEntry(), 'audit', 'verify', '--dir', target]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function readHead(): AuditHead | undefined {
  const path = join(dir, HEAD_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as AuditHead) : undefined;
}

/** Polls until the checkpoint names record `seq`; fails with what it names at the deadline. */
async function untilCheckpointed(seq: number): Promise<void> {
  const deadline = Date.now() + CHECKPOINT_DEADLINE_MS;
  while (readHead()?.seq !== seq) {
    if (Date.now() > deadline) throw new Error(`after ${CHECKPOINT_DEADLINE_MS} ms the checkpoint names seq ${readHead()?.seq}, the last record is seq ${seq}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const login = (i: number): AuditEvent => ({ type: 'login.succeeded', user: `user${i}`, mac: '3c:a0:00:00:00:01' });
const accepted = (i: number) => eventMembers({ type: 'radius.accepted', nas: 'wlc-1', mac: '3c:a0:00:00:00:01', user: `user${i}`, reason: 'live session' });

/**
 * What a gateway writes in a busy moment and then nothing more: five turns of a login
 * and 100 RADIUS answers sent as text (as RADIUS workers send them). The writer stays
 * open, idle. Returns the last seq.
 */
async function burstThenIdle(key?: Buffer): Promise<number> {
  audit = AuditLog.open({ dir, clock: systemClock, log: quiet, ...(key ? { key } : {}) });
  let seq = 0;
  for (let turn = 0; turn < 5; turn++) {
    audit.record(login(turn));
    audit.recordMembers(
      Array.from({ length: 100 }, (_, i) => accepted(i)),
      true,
    );
    seq += 101;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return seq;
}

const trailFile = () => readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort().at(-1)!;

describe('a trail at rest: the gateway idle after a burst', () => {
  it('has its checkpoint brought up to the last record with no further event; cutting the last 1 to 4 records then fails verify', async () => {
    const last = await burstThenIdle();
    await untilCheckpointed(last);

    const file = join(dir, trailFile());
    const original = readFileSync(file, 'utf8');
    const lines = original.split('\n').filter(Boolean);
    expect(lines).toHaveLength(last);
    for (let cut = 1; cut <= 4; cut++) {
      writeFileSync(file, `${lines.slice(0, -cut).join('\n')}\n`);
      const verify = await verifyCli(dir);
      expect(verify.code, `cut ${cut}: ${verify.stdout}`).toBe(1);
      expect(verify.stdout).toContain(`is the last record (seq ${last - cut}), but the checkpoint names seq ${last}`);
    }
    writeFileSync(file, original);
    expect((await verifyCli(dir)).code).toBe(0);
  }, CHECKPOINT_DEADLINE_MS + 5 * SOURCE_RUN_MS);

  it('fails verify at a change of any byte of the last record', async () => {
    const last = await burstThenIdle();
    await untilCheckpointed(last);

    const file = join(dir, trailFile());
    const original = readFileSync(file);
    const start = original.lastIndexOf(0x0a, original.length - 2) + 1;
    for (let i = start; i < original.length; i++) {
      const altered = Buffer.from(original);
      altered[i] = altered[i]! ^ 0x01;
      writeFileSync(file, altered);
      if (verifyAuditDir(dir).status === 'intact') throw new Error(`a flip of byte ${i - start} of the last record went unnoticed`);
    }

    // A change that leaves a well-formed record (user99 → user98): only the checkpoint shows it.
    const text = original.toString('utf8');
    writeFileSync(file, `${text.slice(0, start)}${text.slice(start).replace('"user":"user99"', '"user":"user98"')}`);
    const verify = await verifyCli(dir);
    expect(verify.code, verify.stdout).toBe(1);
    expect(verify.stdout).toContain(`does not match the checkpoint's SHA-256 for seq ${last}: altered`);
  });
});

describe('audit verify without a whole trail', () => {
  /** Writes a closed trail of `n` records (its checkpoint current). */
  async function closedTrail(n: number, key?: Buffer): Promise<void> {
    const writer = AuditLog.open({ dir, clock: systemClock, log: quiet, ...(key ? { key } : {}) });
    for (let i = 1; i <= n; i++) writer.record(login(i));
    await writer.close();
  }

  it('is an error for a directory that does not exist', async () => {
    const verify = await verifyCli(join(dir, 'no-such-dir'));
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`MISSING: ${join(dir, 'no-such-dir')} does not exist`);
  });

  it('is an error for a directory that holds no trail; with the checkpoint left behind, the records are missing', async () => {
    // What a writer leaves besides the records: its spool.
    mkdirSync(join(dir, 'spool'));
    const verify = await verifyCli(dir);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`MISSING: ${dir} holds no audit trail`);

    await closedTrail(3);
    rmSync(join(dir, trailFile()));
    const deleted = await verifyCli(dir);
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toContain('BROKEN:');
    expect(deleted.stdout).toContain('the checkpoint names seq 3');
  });

  it('reports a missing or unreadable checkpoint', async () => {
    await closedTrail(3);
    rmSync(join(dir, HEAD_FILE));
    const missing = await verifyCli(dir);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`BROKEN: ${HEAD_FILE} is missing`);

    writeFileSync(join(dir, HEAD_FILE), '{"seq":3,');
    const unreadable = await verifyCli(dir);
    expect(unreadable.code).toBe(1);
    expect(unreadable.stdout).toContain(`BROKEN: ${HEAD_FILE} is not a checkpoint`);
  });

  it('never lacks a checkpoint through a crash: a new trail has one (seq 0) before its first record', async () => {
    // Killed right after writing its first record: the first checkpoint naming it, written
    // off the event loop, never lands.
    const script = `
      import { AuditLog } from '${builtUrl('audit/audit-log.js')}';
      import { createLogger } from '${builtUrl('logger.js')}';
      const audit = AuditLog.open({ dir: process.argv[1], clock: { now: () => new Date() }, log: createLogger('silent') });
      audit.record({ type: 'login.succeeded', user: 'alice', mac: '3c:a0:00:00:00:01' });
      audit.flush();
      process.kill(process.pid, 'SIGKILL');
    `;
    const killed = await run(process.execPath, ['--input-type=module', '-e', script, dir]).then(
      () => undefined,
      (err: { signal?: string }) => err.signal,
    );
    expect(killed).toBe('SIGKILL');
    expect(readHead()?.seq).toBe(0);

    const verify = await verifyCli(dir);
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stdout).toContain('note: 1 record(s) after the checkpoint (seq 0) are not yet covered by it');
    expect(verify.stdout).toContain('OK: 1 record(s) in 1 file(s)');
  });

  it('with a key: a cut trail whose checkpoint was recomputed (all but its HMAC) fails', async () => {
    await closedTrail(6, KEY);
    const file = join(dir, trailFile());
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`);
    const genuine = readHead()!;
    const forged: AuditHead = { ...genuine, seq: 5, sha256: lineHash(lines[4]!), line: 5 };
    writeFileSync(join(dir, HEAD_FILE), `${JSON.stringify(forged)}\n`);

    // Without the key the forgery is consistent: the key is what makes the checkpoint unforgeable.
    expect(verifyAuditDir(dir).status).toBe('intact');
    expect(verifyAuditDir(dir, KEY)).toMatchObject({ status: 'broken', problem: { file: HEAD_FILE, message: expect.stringContaining('HMAC') } });

    const { hmac: _hmac, ...unsealed } = forged;
    writeFileSync(join(dir, HEAD_FILE), `${JSON.stringify(unsealed)}\n`);
    expect(verifyAuditDir(dir, KEY)).toMatchObject({ status: 'broken', problem: { file: HEAD_FILE, message: expect.stringContaining('HMAC') } });
  });
});

describe('a restart after the trail was changed at rest', () => {
  /** A closed trail of `n` logins (its checkpoint current), then the change, then a writer opens it again, records one event and closes. */
  async function changeThenRestart(n: number, change: (file: string, lines: string[]) => void, key?: Buffer): Promise<void> {
    const first = AuditLog.open({ dir, clock: systemClock, log: quiet, ...(key ? { key } : {}) });
    for (let i = 1; i <= n; i++) first.record(login(i));
    await first.close();
    const file = join(dir, trailFile());
    change(file, readFileSync(file, 'utf8').split('\n').filter(Boolean));
    const again = AuditLog.open({ dir, clock: systemClock, log: quiet, ...(key ? { key } : {}) });
    again.record(login(n + 1));
    await again.close();
  }

  it('does not launder a cut: the writer records what it found, and verify reports it', async () => {
    for (let cut = 1; cut <= 3; cut++) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      await changeThenRestart(8, (file, lines) => writeFileSync(file, `${lines.slice(0, -cut).join('\n')}\n`));
      const report = verifyAuditDir(dir);
      expect(report.status, `cut ${cut}`).toBe('broken');
      expect(report.problem?.message).toContain('records what the gateway found when it started: the trail ends before the record the checkpoint names: records were cut');
      expect(report.problem?.message).toContain(`the trail's last record was seq ${8 - cut}, the checkpoint named seq 8`);
    }
  });

  it('does not launder a change to the last record', async () => {
    await changeThenRestart(5, (file, lines) => writeFileSync(file, `${[...lines.slice(0, -1), lines.at(-1)!.replace('"user":"user5"', '"user":"user4"')].join('\n')}\n`));
    const verify = await verifyCli(dir);
    expect(verify.code, verify.stdout).toBe(1);
    expect(verify.stdout).toContain("the last record does not match the checkpoint's SHA-256: altered");
  });

  it('does not launder a deleted checkpoint, nor one forged without the key', async () => {
    await changeThenRestart(4, () => rmSync(join(dir, HEAD_FILE)));
    expect(verifyAuditDir(dir).problem?.message).toContain('the checkpoint is missing');

    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    await changeThenRestart(
      4,
      (file, lines) => {
        const kept = lines.slice(0, -1);
        writeFileSync(file, `${kept.join('\n')}\n`);
        // The cut trail's own last record, named by a checkpoint with no HMAC.
        const head = readHead()!;
        writeFileSync(join(dir, HEAD_FILE), JSON.stringify({ ...head, seq: 3, sha256: lineHash(Buffer.from(kept.at(-1)!)), line: 3, hmac: undefined }));
      },
      KEY,
    );
    expect(verifyAuditDir(dir, KEY).problem?.message).toContain('the checkpoint has a missing or wrong HMAC');
  });

  it('is quiet after an ordinary restart: no mismatch, the trail verifies', async () => {
    await changeThenRestart(5, () => undefined);
    const verify = await verifyCli(dir);
    expect(verify.code, verify.stdout).toBe(0);
    expect(readFileSync(join(dir, trailFile()), 'utf8')).not.toContain('audit.mismatch');
  });
});
