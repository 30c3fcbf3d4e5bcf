import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GENESIS, headHmac, HEAD_FILE, lineHash, sealMembers, type AuditHead } from '../../../src/audit/record.js';
import { formatReport, verifyAuditDir, type VerifyReport } from '../../../src/audit/verify.js';

/**
 * readdirSync as the filesystem lists, or newest name first when `listing.newestFirst`.
 * The order a directory lists in is the filesystem's (ext4: by a hash of the name, which
 * listed the three names below in date order whichever order they were created in), so
 * only this makes it the test's own.
 */
const listing = vi.hoisted(() => ({ newestFirst: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readdirSync = ((path: string) => {
    const names = fs.readdirSync(path);
    return listing.newestFirst ? [...names].sort().reverse() : names;
  }) as typeof fs.readdirSync;
  return { ...fs, readdirSync };
});

/**
 * `audit verify` over trails written by hand from the line format (record.ts), so
 * that each break is exactly the one the test makes: no writer, no clock.
 */
const KEY = Buffer.from('an audit key of at least 32 characters!!');
const DAY1 = 'audit-2026-11-25.jsonl';
const DAY2 = 'audit-2026-11-26.jsonl';
const AT = new Date('2026-11-26T08:00:00.000Z');

const blocked = (seq: number) => `"type":"device.blocked","mac":"3c:a0:00:00:00:${String(seq).padStart(2, '0')}","by":"admin","reason":"lost","outcome":"success"`;

/** Records `from`…`to` chained from `prev`, each line sealed as the writer seals it. */
function chain(from: number, to: number, prev = GENESIS, key?: Buffer, members = blocked): string[] {
  const lines: string[] = [];
  for (let seq = from; seq <= to; seq++) {
    const line = sealMembers(members(seq), { seq, at: AT, prev }, key);
    lines.push(line);
    prev = lineHash(line);
  }
  return lines;
}

function head(seq: number, lastLine: string, file: string, line: number, key?: Buffer): AuditHead {
  const sha256 = lineHash(lastLine);
  return { seq, sha256, file, line, ...(key ? { hmac: headHmac(seq, sha256, key) } : {}) };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enrollgate-verify-'));
});
afterEach(() => {
  listing.newestFirst = false;
  rmSync(dir, { recursive: true, force: true });
});

const write = (file: string, lines: readonly string[], end = '\n') => writeFileSync(join(dir, file), lines.length ? lines.join('\n') + end : '');
const writeHead = (h: AuditHead | string) => writeFileSync(join(dir, HEAD_FILE), typeof h === 'string' ? h : `${JSON.stringify(h)}\n`);

/** Four records, two a day, with the checkpoint on the last. */
function fourRecords(key?: Buffer): string[] {
  const lines = chain(1, 4, GENESIS, key);
  write(DAY1, lines.slice(0, 2));
  write(DAY2, lines.slice(2));
  writeHead(head(4, lines[3]!, DAY2, 2, key));
  return lines;
}

const broken = (file: string, line: number | undefined, message: string, records: number, lastSeq: number, files = 2): VerifyReport => ({
  status: 'broken',
  files,
  records,
  lastSeq,
  problem: { file, line, message },
  notes: [],
});

describe('verifyAuditDir: an intact trail', () => {
  it('chains records across daily files up to the checkpoint', () => {
    fourRecords();
    expect(verifyAuditDir(dir)).toEqual({ status: 'intact', files: 2, records: 4, lastSeq: 4, notes: [] });
  });

  it('checks every HMAC and the checkpoint HMAC with the key', () => {
    fourRecords(KEY);
    expect(verifyAuditDir(dir, KEY)).toEqual({ status: 'intact', files: 2, records: 4, lastSeq: 4, notes: [] });
  });

  it('reads only audit-YYYY-MM-DD.jsonl files, in date order', () => {
    const lines = chain(1, 2);
    // Written the later day first: the directory's order is not the chain's.
    write('audit-2026-11-27.jsonl', [lines[1]!]);
    write('audit-2026-11-03.jsonl', [lines[0]!]);
    write('notes.txt', ['not a record']);
    write('audit-2026-11-26.jsonl.bak', ['not a record']);
    writeHead(head(2, lines[1]!, 'audit-2026-11-27.jsonl', 1));
    expect(verifyAuditDir(dir)).toEqual({ status: 'intact', files: 2, records: 2, lastSeq: 2, notes: [] });
  });

  it('sorts the daily files by date whichever order the directory lists them in', () => {
    const lines = chain(1, 3);
    const names = ['audit-2026-11-01.jsonl', 'audit-2026-11-02.jsonl', 'audit-2026-11-03.jsonl'];
    // Written in both orders: a directory lists in creation order, its reverse or by hash.
    for (const order of [[0, 1, 2], [2, 1, 0]]) {
      for (const f of names) rmSync(join(dir, f), { force: true });
      for (const i of order) write(names[i]!, [lines[i]!]);
      writeHead(head(3, lines[2]!, names[2]!, 1));
      expect(verifyAuditDir(dir), order.join()).toEqual({ status: 'intact', files: 3, records: 3, lastSeq: 3, notes: [] });
    }
  });

  it('sorts the daily files by date when the directory lists the newest first', () => {
    const lines = chain(1, 3);
    const names = ['audit-2026-11-01.jsonl', 'audit-2026-11-02.jsonl', 'audit-2026-11-03.jsonl'];
    names.forEach((name, i) => write(name, [lines[i]!]));
    writeHead(head(3, lines[2]!, names[2]!, 1));
    listing.newestFirst = true;
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([...names].reverse());
    expect(verifyAuditDir(dir)).toEqual({ status: 'intact', files: 3, records: 3, lastSeq: 3, notes: [] });
  });

  it('reads a day file without a trailing newline in the middle of the trail', () => {
    const lines = fourRecords();
    write(DAY1, lines.slice(0, 2), '');
    expect(verifyAuditDir(dir)).toEqual({ status: 'intact', files: 2, records: 4, lastSeq: 4, notes: [] });
  });

  it('notes every record as not yet covered when the checkpoint is still the new trail\'s (seq 0)', () => {
    const lines = chain(1, 2);
    write(DAY1, lines);
    writeHead({ seq: 0, sha256: GENESIS, file: DAY1, line: 0 });
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'intact', records: 2, notes: [expect.stringMatching(/^2 record\(s\) after the checkpoint \(seq 0\)/)] });
  });

  it('notes records after the checkpoint, which a running gateway covers within a second', () => {
    const lines = fourRecords();
    writeHead(head(2, lines[1]!, DAY1, 2));
    expect(verifyAuditDir(dir)).toEqual({
      status: 'intact',
      files: 2,
      records: 4,
      lastSeq: 4,
      notes: ['2 record(s) after the checkpoint (seq 2) are not yet covered by it: a running gateway covers them within a second; one that stopped without closing never does'],
    });
  });

  it("notes a torn line the writer recovered from, when the next record names it (file, line, length, SHA-256)", () => {
    const torn = '{"seq":2,"at":"2026-11-2';
    const one = chain(1, 1);
    const recovered = (seq: number) =>
      `"type":"audit.recovered","torn_file":"${DAY1}","torn_line":2,"torn_bytes":${torn.length},"torn_sha256":"${lineHash(torn)}","outcome":"success"`;
    const two = chain(2, 2, lineHash(one[0]!), undefined, recovered);
    write(DAY1, [one[0]!, torn, two[0]!]);
    writeHead(head(2, two[0]!, DAY1, 3));
    expect(verifyAuditDir(dir)).toEqual({
      status: 'intact',
      files: 1,
      records: 2,
      lastSeq: 2,
      notes: [`${DAY1} line 2: torn line (24 bytes, a crash while writing), recovered at line 3`],
    });
    expect(formatReport(verifyAuditDir(dir))).toBe(`note: ${DAY1} line 2: torn line (24 bytes, a crash while writing), recovered at line 3\nOK: 2 record(s) in 1 file(s) chain from seq 1 to 2`);
  });

  it('takes a torn line at the end of one day recovered at the start of the next', () => {
    const torn = '{"seq":2';
    const one = chain(1, 1);
    const recovered = () => `"type":"audit.recovered","torn_file":"${DAY1}","torn_line":2,"torn_bytes":8,"torn_sha256":"${lineHash(torn)}","outcome":"success"`;
    const two = chain(2, 2, lineHash(one[0]!), undefined, recovered);
    writeFileSync(join(dir, DAY1), `${one[0]}\n${torn}`);
    write(DAY2, two);
    writeHead(head(2, two[0]!, DAY2, 1));
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'intact', records: 2, notes: [`${DAY1} line 2: torn line (8 bytes, a crash while writing), recovered at line 1`] });
  });
});

describe('verifyAuditDir: no trail', () => {
  it('reports a directory that does not exist as missing', () => {
    const gone = join(dir, 'gone');
    expect(verifyAuditDir(gone)).toEqual({ status: 'missing', files: 0, records: 0, lastSeq: 0, problem: { file: gone, message: 'does not exist' }, notes: [] });
  });

  it('reports an empty directory, or one whose checkpoint names no record, as missing', () => {
    const missing = { status: 'missing', files: 0, records: 0, lastSeq: 0, problem: { file: dir, message: 'holds no audit trail (no audit-YYYY-MM-DD.jsonl file)' }, notes: [] };
    expect(verifyAuditDir(dir)).toEqual(missing);
    writeHead({ seq: 0, sha256: GENESIS, file: DAY1, line: 0 });
    expect(verifyAuditDir(dir)).toEqual(missing);
  });

  it('reports files all deleted while the checkpoint names a record as a cut, not as missing', () => {
    writeHead({ seq: 3, sha256: GENESIS, file: DAY1, line: 3 });
    expect(verifyAuditDir(dir)).toEqual(broken(dir, undefined, `holds no record, but the checkpoint names seq 3 (${DAY1} line 3): the trail was cut`, 0, 0, 0));
  });

  it('reports files all deleted beside an unreadable checkpoint as broken', () => {
    writeHead('{');
    expect(verifyAuditDir(dir)).toEqual(broken(HEAD_FILE, undefined, 'is not a checkpoint: it is not JSON', 0, 0, 0));
  });
});

describe('verifyAuditDir: a broken trail, named by file and line', () => {
  it('finds a record altered by the prev of the record after it', () => {
    const lines = fourRecords();
    write(DAY1, [lines[0]!, lines[1]!.replace('"lost"', '"found"')]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 2, `was altered: its SHA-256 does not match the prev of the next record (${DAY2} line 1)`, 2, 2));
  });

  it('finds the last record altered by the checkpoint', () => {
    const lines = fourRecords();
    write(DAY2, [lines[2]!, lines[3]!.replace('"lost"', '"found"')]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 2, "does not match the checkpoint's SHA-256 for seq 4: altered", 4, 4));
  });

  it('finds a wrong HMAC with the key, and none without it', () => {
    const lines = fourRecords(KEY);
    write(DAY1, [lines[0]!, lines[1]!.replace(/"hmac":"[0-9a-f]{64}"/, `"hmac":"${'0'.repeat(64)}"`)]);
    expect(verifyAuditDir(dir, KEY)).toEqual(broken(DAY1, 2, 'is not a valid record (it has a wrong HMAC), and the record after it does not recover it', 1, 1));
    // Without the key the HMAC is not read, but the changed line no longer matches the next prev.
    expect(verifyAuditDir(dir).problem).toEqual({ file: DAY1, line: 2, message: `was altered: its SHA-256 does not match the prev of the next record (${DAY2} line 1)` });
  });

  it("finds the checkpoint's HMAC missing or wrong with the key", () => {
    const lines = fourRecords(KEY);
    writeHead(head(4, lines[3]!, DAY2, 2));
    expect(verifyAuditDir(dir, KEY)).toEqual(broken(HEAD_FILE, undefined, 'has a missing or wrong HMAC', 4, 4));
    writeHead({ ...head(4, lines[3]!, DAY2, 2, KEY), hmac: headHmac(3, lineHash(lines[3]!), KEY) });
    expect(verifyAuditDir(dir, KEY)).toEqual(broken(HEAD_FILE, undefined, 'has a missing or wrong HMAC', 4, 4));
  });

  it('finds deleted records by the jump in seq', () => {
    const lines = fourRecords();
    write(DAY1, [lines[0]!]);
    write(DAY2, [lines[3]!]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 1, 'jumps from seq 1 to seq 4: 2 record(s) missing before it (deleted lines or a deleted file)', 1, 1));
  });

  it('finds the first day deleted: the trail then starts after seq 1', () => {
    fourRecords();
    rmSync(join(dir, DAY1));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 1, 'jumps from seq 0 to seq 3: 2 record(s) missing before it (deleted lines or a deleted file)', 0, 0, 1));
  });

  it('finds two records swapped', () => {
    const lines = fourRecords();
    write(DAY2, [lines[3]!, lines[2]!]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 1, 'has seq 4 before seq 3 (line 2): records reordered', 2, 2));
  });

  it('finds the first two records swapped: seq 2 on line 1, then seq 1', () => {
    const lines = fourRecords();
    write(DAY1, [lines[1]!, lines[0]!]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 1, 'has seq 2 before seq 1 (line 2): records reordered', 0, 0));
  });

  it('finds a record deleted in the middle, with records after it, as a jump, not a reordering', () => {
    const lines = chain(1, 6);
    write(DAY1, [...lines.slice(0, 3), ...lines.slice(4)]);
    writeHead(head(6, lines[5]!, DAY1, 5));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 4, 'jumps from seq 3 to seq 5: 1 record(s) missing before it (deleted lines or a deleted file)', 3, 3, 1));
  });

  it('finds the first record repeated in a trail that does not start the chain as repeated, not reordered', () => {
    const [first] = chain(1, 1, lineHash('an earlier record'));
    write(DAY1, [first!, first!]);
    writeHead(head(1, first!, DAY1, 1));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 2, 'has seq 1 after seq 1: records reordered or repeated', 1, 1, 1));
  });

  it.each([
    ['at seq 1 with another prev', 1, lineHash('an earlier record')],
    ['after seq 1 with the genesis prev', 3, GENESIS],
  ])('finds a record altered after a first record %s (the start is judged only at the end, when no audit.pruned record took it)', (_what, from, prev) => {
    const lines = chain(from, from + 2, prev);
    write(DAY1, [lines[0]!, lines[1]!.replace('"lost"', '"found"'), lines[2]!]);
    writeHead(head(from + 2, lines[2]!, DAY1, 3));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 2, `was altered: its SHA-256 does not match the prev of the next record (${DAY1} line 3)`, 2, from + 1, 1));
  });

  it('finds a first record that does not start the chain alone in its file', () => {
    const lines = chain(1, 2, lineHash('an earlier record'));
    write(DAY1, [lines[0]!]);
    write(DAY2, [lines[1]!]);
    writeHead(head(2, lines[1]!, DAY2, 1));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 1, 'is the first record but does not start the chain (records before it are missing)', 0, 0));
  });

  it('finds an empty first line in the last day as not a record, not as a torn line', () => {
    const lines = fourRecords();
    writeFileSync(join(dir, DAY2), `\n${lines[2]}\n${lines[3]}\n`);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 1, 'is not a valid record (it is not a JSON record), and the record after it does not recover it', 2, 2));
  });

  it('finds a record repeated', () => {
    const lines = fourRecords();
    write(DAY1, [lines[0]!, lines[1]!, lines[1]!]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 3, 'has seq 2 after seq 2: records reordered or repeated', 2, 2));
  });

  it('finds a first record that does not start the chain', () => {
    const lines = chain(1, 2, lineHash('an earlier record'));
    write(DAY1, lines);
    writeHead(head(2, lines[1]!, DAY1, 2));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 1, 'is the first record but does not start the chain (records before it are missing)', 0, 0, 1));
  });

  it('finds a line that is not a record and that no audit.recovered record follows', () => {
    const lines = fourRecords();
    write(DAY1, [lines[0]!, 'not a record', lines[1]!]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 2, 'is not a valid record (it is not a JSON record), and the record after it does not recover it', 1, 1));
    write(DAY1, [lines[0]!, 'not a record', 'nor this', lines[1]!]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 2, 'is not a valid record, and no audit.recovered record follows it', 1, 1));
  });

  it('finds an empty first line', () => {
    const lines = fourRecords();
    writeFileSync(join(dir, DAY1), `\n${lines[0]}\n${lines[1]}\n`);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 1, 'is not a valid record (it is not a JSON record), and the record after it does not recover it', 0, 0));
  });

  it('finds a whole line that is not a record at the very end', () => {
    const lines = fourRecords();
    write(DAY2, [lines[2]!, lines[3]!, '{"seq":5}']);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 3, 'is not a valid record (it lacks the chain fields (seq, at, type, prev))', 4, 4));
  });

  it('finds an audit.recovered record that names another line', () => {
    const torn = '{"seq":2,"at"';
    const one = chain(1, 1);
    const wrongLine = () => `"type":"audit.recovered","torn_file":"${DAY1}","torn_line":3,"torn_bytes":${torn.length},"torn_sha256":"${lineHash(torn)}","outcome":"success"`;
    const two = chain(2, 2, lineHash(one[0]!), undefined, wrongLine);
    write(DAY1, [one[0]!, torn, two[0]!]);
    writeHead(head(2, two[0]!, DAY1, 3));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 2, 'is not a valid record (it is not a JSON record), and the record after it does not recover it', 1, 1, 1));
  });

  it.each([
    ['file', 'audit.recovered', (t: string) => `"torn_file":"${DAY2}","torn_line":2,"torn_bytes":${t.length},"torn_sha256":"${lineHash(t)}"`],
    ['length', 'audit.recovered', (t: string) => `"torn_file":"${DAY1}","torn_line":2,"torn_bytes":${t.length + 1},"torn_sha256":"${lineHash(t)}"`],
    ['SHA-256', 'audit.recovered', (t: string) => `"torn_file":"${DAY1}","torn_line":2,"torn_bytes":${t.length},"torn_sha256":"${lineHash(t + 'x')}"`],
    ['type', 'audit.recovery', (t: string) => `"torn_file":"${DAY1}","torn_line":2,"torn_bytes":${t.length},"torn_sha256":"${lineHash(t)}"`],
  ])('finds an audit.recovered record whose %s does not match the torn line', (_what, type, fields) => {
    const torn = '{"seq":2,"at"';
    const one = chain(1, 1);
    const two = chain(2, 2, lineHash(one[0]!), undefined, () => `"type":"${type}",${fields(torn)},"outcome":"success"`);
    write(DAY1, [one[0]!, torn, two[0]!]);
    writeHead(head(2, two[0]!, DAY1, 3));
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'broken', problem: { file: DAY1, line: 2 } });
  });

  it('finds the audit.mismatch record the writer leaves when the trail at rest did not end at its checkpoint', () => {
    const one = chain(1, 1);
    const mismatch = (withCheckpoint: boolean) => () =>
      `"type":"audit.mismatch","problem":"the last record differs from the checkpoint","last_seq":1${withCheckpoint ? ',"checkpoint_seq":3' : ''},"outcome":"failure"`;
    const two = chain(2, 2, lineHash(one[0]!), undefined, mismatch(true));
    write(DAY1, [one[0]!, two[0]!]);
    writeHead(head(2, two[0]!, DAY1, 2));
    expect(verifyAuditDir(dir)).toEqual(
      broken(DAY1, 2, 'records what the gateway found when it started: the last record differs from the checkpoint (the trail\'s last record was seq 1, the checkpoint named seq 3)', 1, 1, 1),
    );
    const plain = chain(2, 2, lineHash(one[0]!), undefined, mismatch(false));
    write(DAY1, [one[0]!, plain[0]!]);
    expect(verifyAuditDir(dir).problem?.message).toBe("records what the gateway found when it started: the last record differs from the checkpoint (the trail's last record was seq 1)");
  });

  it('finds the end cut at a record boundary by the checkpoint', () => {
    const lines = fourRecords();
    write(DAY2, [lines[2]!]);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 1, `is the last record (seq 3), but the checkpoint names seq 4 (${DAY2} line 2): the trail was cut`, 3, 3));
  });

  it('reports a missing checkpoint as a break: whoever cuts the trail can delete it too', () => {
    fourRecords();
    rmSync(join(dir, HEAD_FILE));
    expect(verifyAuditDir(dir)).toEqual(
      broken(HEAD_FILE, undefined, 'is missing: nothing shows where the trail ended, so records cut from its end would go unnoticed (the last one here is seq 4)', 4, 4),
    );
  });

  it('reports a checkpoint that does not read', () => {
    fourRecords();
    writeHead('{"seq":4}');
    expect(verifyAuditDir(dir)).toEqual(broken(HEAD_FILE, undefined, 'is not a checkpoint: it lacks seq, sha256, file or line', 4, 4));
  });
});

describe('verifyAuditDir: a torn last line', () => {
  it('reports a last line without its newline as torn, not broken', () => {
    const lines = fourRecords();
    writeFileSync(join(dir, DAY2), `${lines[2]}\n${lines[3]}\n{"seq":5,"at":"2026`);
    const report = verifyAuditDir(dir);
    expect(report).toEqual({
      status: 'torn',
      files: 2,
      records: 4,
      lastSeq: 4,
      problem: { file: DAY2, line: 3, message: 'is torn (19 bytes without a newline): a crash while writing; the gateway records it when it next starts' },
      notes: [],
    });
    expect(formatReport(report)).toBe(
      `TORN: ${DAY2} line 3 is torn (19 bytes without a newline): a crash while writing; the gateway records it when it next starts\n(4 record(s) before it verified, up to seq 4)`,
    );
  });

  it('reports a line without its newline in an earlier day as broken (it is not the end of the trail)', () => {
    const lines = fourRecords();
    writeFileSync(join(dir, DAY1), `${lines[0]}\n${lines[1]}\n{"seq":3`);
    expect(verifyAuditDir(dir)).toEqual(broken(DAY1, 3, 'is not a valid record (it is not a JSON record), and the record after it does not recover it', 2, 2));
  });

  it('reads a last record without its newline as a record', () => {
    const lines = fourRecords();
    write(DAY2, [lines[2]!, lines[3]!], '');
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'intact', records: 4 });
  });
});

describe('formatReport', () => {
  it('prints OK with the count, MISSING with where, BROKEN with the line and what verified before it', () => {
    expect(formatReport({ status: 'intact', files: 2, records: 4, lastSeq: 4, notes: [] })).toBe('OK: 4 record(s) in 2 file(s) chain from seq 1 to 4');
    expect(formatReport({ status: 'missing', files: 0, records: 0, lastSeq: 0, problem: { file: '/var/audit', message: 'does not exist' }, notes: [] })).toBe('MISSING: /var/audit does not exist');
    expect(formatReport(broken(DAY1, 2, 'was altered', 1, 1))).toBe(`BROKEN: ${DAY1} line 2 was altered\n(1 record(s) before it verified, up to seq 1)`);
    expect(formatReport({ ...broken(HEAD_FILE, undefined, 'is missing', 4, 4), notes: ['one', 'two'] })).toBe(
      `note: one\nnote: two\nBROKEN: ${HEAD_FILE} is missing\n(4 record(s) before it verified, up to seq 4)`,
    );
  });
});

describe('verifyAuditDir: a checkpoint that cannot be read', () => {
  it('names the error code', () => {
    fourRecords();
    rmSync(join(dir, HEAD_FILE));
    mkdirSync(join(dir, HEAD_FILE));
    expect(verifyAuditDir(dir)).toEqual(broken(HEAD_FILE, undefined, 'is not a checkpoint: it could not be read (EISDIR)', 4, 4));
  });
});

describe('verifyAuditDir: audit.hmac_key set on a trail written without it', () => {
  /** Records 1–2 unsealed, 3 the writer's audit.sealed (sealed), 4 sealed: what a restart with a new key leaves. */
  function sealedAtThree(sealedMembers?: (seq: number) => string): string[] {
    const plain = chain(1, 2);
    const transition = sealMembers(sealedMembers?.(3) ?? `"type":"audit.sealed","unsealed_seq":2,"unsealed_sha256":"${lineHash(plain[1]!)}","outcome":"info"`, { seq: 3, at: AT, prev: lineHash(plain[1]!) }, KEY);
    const after = chain(4, 4, lineHash(transition), KEY);
    const lines = [...plain, transition, ...after];
    write(DAY2, lines);
    writeHead(head(4, lines[3]!, DAY2, 4, KEY));
    return lines;
  }

  it('accepts the unsealed records before audit.sealed, and says where sealing started', () => {
    sealedAtThree();
    expect(verifyAuditDir(dir, KEY)).toEqual({
      status: 'intact',
      files: 1,
      records: 4,
      lastSeq: 4,
      notes: [`${DAY2} line 3: sealing started at seq 3: seq 1 to 2 were written without audit.hmac_key, and its HMAC covers them through the chain`],
    });
    expect(verifyAuditDir(dir).notes).toEqual([`${DAY2} line 3: audit.hmac_key was set on this trail at seq 3; its HMACs are checked only with the key (--config)`]);
  });

  it('finds an HMAC stripped from a record after audit.sealed (the chain rebuilt after it)', () => {
    const lines = sealedAtThree();
    const stripped = lines[3]!.replace(/,"hmac":"[0-9a-f]{64}"\}$/, '}');
    write(DAY2, [...lines.slice(0, 3), stripped]);
    writeHead(head(4, stripped, DAY2, 4, KEY));
    expect(verifyAuditDir(dir, KEY).problem).toEqual({ file: DAY2, line: 4, message: expect.stringContaining('has no HMAC: audit.hmac_key is configured, but no audit.sealed record after it') });
  });

  it('reports the records verified before the first record without an HMAC', () => {
    const lines = sealedAtThree();
    const stripped = lines[3]!.replace(/,"hmac":"[0-9a-f]{64}"\}$/, '}');
    write(DAY2, [...lines.slice(0, 3), stripped]);
    writeHead(head(4, stripped, DAY2, 4, KEY));
    expect(verifyAuditDir(dir, KEY)).toEqual({
      ...broken(
        DAY2,
        4,
        'has no HMAC: audit.hmac_key is configured, but no audit.sealed record after it says sealing started (the gateway records one when it next starts with the key)',
        3,
        3,
        1,
      ),
      notes: [`${DAY2} line 3: sealing started at seq 3: seq 1 to 2 were written without audit.hmac_key, and its HMAC covers them through the chain`],
    });
  });

  it.each([
    ['only its unsealed_seq', 1, 1, 'says sealing started after seq 1, but it follows seq 2'],
    ['only its unsealed_sha256', 2, 0, 'says sealing started after seq 2, but it follows seq 2'],
  ])('finds an audit.sealed record wrong in %s', (_what, seq, shaOf, message) => {
    const plain = chain(1, 2);
    sealedAtThree(() => `"type":"audit.sealed","unsealed_seq":${seq},"unsealed_sha256":"${lineHash(plain[shaOf]!)}","outcome":"info"`);
    expect(verifyAuditDir(dir, KEY)).toEqual(broken(DAY2, 3, message, 2, 2, 1));
  });

  it('says so when no record before an audit.sealed record lacks an HMAC', () => {
    const lines = chain(1, 2, GENESIS, KEY);
    const sealed = sealMembers(`"type":"audit.sealed","unsealed_seq":2,"unsealed_sha256":"${lineHash(lines[1]!)}","outcome":"info"`, { seq: 3, at: AT, prev: lineHash(lines[1]!) }, KEY);
    write(DAY2, [...lines, sealed]);
    writeHead(head(3, sealed, DAY2, 3, KEY));
    expect(verifyAuditDir(dir, KEY)).toEqual({
      status: 'intact',
      files: 1,
      records: 3,
      lastSeq: 3,
      notes: [`${DAY2} line 3: sealing started at seq 3: no record before it lacks an HMAC, and its HMAC covers them through the chain`],
    });
  });

  it('takes an audit.sealed record only sealed, and only naming the record before it', () => {
    // Unsealed: anyone could write one.
    const plain = chain(1, 2);
    const fake = sealMembers(`"type":"audit.sealed","unsealed_seq":2,"unsealed_sha256":"${lineHash(plain[1]!)}","outcome":"info"`, { seq: 3, at: AT, prev: lineHash(plain[1]!) });
    write(DAY2, [...plain, fake]);
    writeHead(head(3, fake, DAY2, 3, KEY));
    expect(verifyAuditDir(dir, KEY).problem).toMatchObject({ file: DAY2, line: 1, message: expect.stringContaining('has no HMAC') });
    sealedAtThree(() => `"type":"audit.sealed","unsealed_seq":1,"unsealed_sha256":"${'0'.repeat(64)}","outcome":"info"`);
    expect(verifyAuditDir(dir, KEY).problem).toEqual({ file: DAY2, line: 3, message: 'says sealing started after seq 1, but it follows seq 2' });
  });
});

describe('verifyAuditDir: a trail pruned by audit prune', () => {
  /** Records 1–4; 1–2 pruned (their file gone), 5 the audit.pruned record naming seq 2 and its SHA-256. */
  function prunedAtTwo(key?: Buffer, lastSha = (lines: string[]) => lineHash(lines[1]!), sealed = true, edit = (members: string) => members): string[] {
    const lines = chain(1, 4, GENESIS, key);
    const cut = sealMembers(
      edit(`"type":"audit.pruned","by":"cli:root","before":"2026-11-26","archive":"/srv/archive","files":["${DAY1}"],"records":2,"first_seq":1,"last_seq":2,"last_sha256":"${lastSha(lines)}","outcome":"info"`),
      { seq: 5, at: AT, prev: lineHash(lines[3]!) },
      sealed ? key : undefined,
    );
    write(DAY2, [...lines.slice(2), cut]);
    writeHead(head(5, cut, DAY2, 3, key));
    return lines;
  }

  it('starts where the cut ends, and says so', () => {
    prunedAtTwo(KEY);
    const report = verifyAuditDir(dir, KEY);
    expect(report).toEqual({
      status: 'intact',
      files: 1,
      records: 3,
      lastSeq: 5,
      firstSeq: 3,
      notes: [`${DAY2} line 3: seq 1 to 2 were pruned (1 file(s), ${DAY1} to ${DAY1}) to /srv/archive; the trail here starts at seq 3 (${DAY2} line 1)`],
    });
    expect(formatReport(report)).toContain('OK: 3 record(s) in 1 file(s) chain from seq 3 to 5');
  });

  it('takes no audit.pruned that names another record, nor one without its HMAC when the key is configured', () => {
    prunedAtTwo(undefined, () => '1'.repeat(64));
    expect(verifyAuditDir(dir)).toEqual(broken(DAY2, 1, 'jumps from seq 0 to seq 3: 2 record(s) missing before it (deleted lines or a deleted file)', 0, 0, 1));
    prunedAtTwo(KEY, undefined, false);
    expect(verifyAuditDir(dir, KEY)).toMatchObject({ status: 'broken', problem: { file: DAY2, line: 1 } });
  });

  it('takes no record that names the cut but is not audit.pruned, nor an audit.pruned naming the right SHA-256 under another seq', () => {
    const jump = broken(DAY2, 1, 'jumps from seq 0 to seq 3: 2 record(s) missing before it (deleted lines or a deleted file)', 0, 0, 1);
    prunedAtTwo(undefined, undefined, true, (m) => m.replace('"type":"audit.pruned"', '"type":"audit.prunes"'));
    expect(verifyAuditDir(dir)).toEqual(jump);
    prunedAtTwo(undefined, undefined, true, (m) => m.replace('"last_seq":2', '"last_seq":1'));
    expect(verifyAuditDir(dir)).toEqual(jump);
  });

  it('starts where the cut ends when the first day kept holds a single record', () => {
    const lines = chain(1, 4);
    const DAY3 = 'audit-2026-11-27.jsonl';
    const cut = sealMembers(
      `"type":"audit.pruned","by":"cli:root","before":"2026-11-26","archive":"/srv/archive","files":["${DAY1}"],"records":2,"first_seq":1,"last_seq":2,"last_sha256":"${lineHash(lines[1]!)}","outcome":"info"`,
      { seq: 5, at: AT, prev: lineHash(lines[3]!) },
    );
    write(DAY2, [lines[2]!]);
    write(DAY3, [lines[3]!, cut]);
    writeHead(head(5, cut, DAY3, 2));
    expect(verifyAuditDir(dir)).toEqual({
      status: 'intact',
      files: 2,
      records: 3,
      lastSeq: 5,
      firstSeq: 3,
      notes: [`${DAY3} line 2: seq 1 to 2 were pruned (1 file(s), ${DAY1} to ${DAY1}) to /srv/archive; the trail here starts at seq 3 (${DAY2} line 1)`],
    });
  });

  it('reads a forged audit.pruned record in a trail that starts at seq 1 as an ordinary record', () => {
    const lines = chain(1, 2);
    const forged = sealMembers(
      `"type":"audit.pruned","by":"cli:root","before":"2026-11-26","archive":"/srv/archive","files":["${DAY1}"],"records":2,"first_seq":1,"last_seq":2,"last_sha256":"${lineHash(lines[1]!)}","outcome":"info"`,
      { seq: 3, at: AT, prev: lineHash(lines[1]!) },
    );
    write(DAY2, [...lines, forged]);
    writeHead(head(3, forged, DAY2, 3));
    expect(verifyAuditDir(dir)).toEqual({ status: 'intact', files: 1, records: 3, lastSeq: 3, notes: [] });
  });
});
