/**
 * Retention (`enrollgate audit prune`): whole daily files before a date are copied into
 * an archive directory, the cut is recorded in the trail (audit.pruned: the files, the
 * record count, the last record's seq and SHA-256), and only then are the files removed.
 *
 * The audit.pruned record is what lets `audit verify` accept a trail that no longer
 * starts at seq 1: its first record must chain to the last pruned one, which the record
 * names (and, with the key, seals). Records cut without one still read as missing.
 *
 * The archive gets a checkpoint of its own (audit-head.json naming its last record, with
 * the HMAC when there is a key), so that `audit verify --dir ARCHIVE` checks it like any
 * trail; later cuts into the same archive continue its chain.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../errors.js';
import { readCheckpoint, writeCheckpointSync } from './checkpoint.js';
import { AUDIT_FILE, headHmac, lineHash, openRecord } from './record.js';

/** What a cut takes: the daily files before the date, oldest first, and the last record among them. */
export interface PrunePlan {
  readonly files: ReadonlyArray<{ readonly name: string; readonly lines: number }>;
  readonly records: number;
  readonly firstSeq: number;
  /** The first pruned record's `prev`: where an archive of earlier cuts must end. */
  readonly firstPrev: string;
  readonly lastSeq: number;
  /** SHA-256 of the last pruned record's line: the `prev` of the first record kept. */
  readonly lastSha256: string;
  /** The last pruned record's file and line, for the archive's checkpoint. */
  readonly lastFile: string;
  readonly lastLine: number;
}

/** The daily files of `dir` dated before `before` (YYYY-MM-DD, UTC), or undefined when there are none. */
export function planPrune(dir: string, before: string): PrunePlan | undefined {
  const names = readdirSync(dir)
    .filter((f) => {
      const day = AUDIT_FILE.exec(f)?.[1];
      return day !== undefined && day < before;
    })
    .sort();
  if (names.length === 0) return undefined;
  const files = names.map((name) => ({ name, lines: wholeLines(readFileSync(join(dir, name))).length }));
  const first = wholeLines(readFileSync(join(dir, names[0]!)))[0];
  const lastFile = names.at(-1)!;
  const lastLines = wholeLines(readFileSync(join(dir, lastFile)));
  const last = lastLines.at(-1);
  const firstRecord = first === undefined ? undefined : openRecord(first.toString('utf8'));
  const lastRecord = last === undefined ? undefined : openRecord(last.toString('utf8'));
  if (!firstRecord || !lastRecord || 'problem' in firstRecord || 'problem' in lastRecord) {
    throw new BadInputError(`the files to prune do not start and end with a record (${names[0]} … ${lastFile}); run enrollgate audit verify`);
  }
  const firstSeq = firstRecord.record.seq;
  const lastSeq = lastRecord.record.seq;
  return { files, records: lastSeq - firstSeq + 1, firstSeq, firstPrev: firstRecord.record.prev, lastSeq, lastSha256: lineHash(last!), lastFile, lastLine: lastLines.length };
}

/**
 * Copies the plan's files into `archive` (created 0700), durably, and brings the archive's
 * checkpoint up to the last of them. The archive must be new, or end just before the cut
 * (an earlier cut); one that already holds this cut (a run that stopped before removing
 * the files) is left as it is.
 */
export function archiveFiles(dir: string, archive: string, plan: PrunePlan, key?: Buffer): void {
  mkdirSync(archive, { recursive: true, mode: 0o700 });
  const checkpoint = readCheckpoint(archive);
  const held = readdirSync(archive).filter((f) => AUDIT_FILE.test(f));
  if ('head' in checkpoint && checkpoint.head.seq === plan.lastSeq && checkpoint.head.sha256 === plan.lastSha256) return;
  if ('head' in checkpoint ? checkpoint.head.seq !== plan.firstSeq - 1 || (plan.firstSeq > 1 && checkpoint.head.sha256 !== plan.firstPrev) : held.length > 0) {
    throw new BadInputError(`${archive} holds an audit trail that does not end where this cut begins (seq ${plan.firstSeq}): give a new directory or the one earlier cuts went to`);
  }
  for (const { name } of plan.files) {
    if (existsSync(join(archive, name))) throw new BadInputError(`${archive} already holds ${name}`);
    copyFileSync(join(dir, name), join(archive, name));
    fsyncPath(join(archive, name));
  }
  writeCheckpointSync(archive, {
    seq: plan.lastSeq,
    sha256: plan.lastSha256,
    file: plan.lastFile,
    line: plan.lastLine,
    ...(key ? { hmac: headHmac(plan.lastSeq, plan.lastSha256, key) } : {}),
  });
}

/** Removes the plan's files from the trail, oldest first, and makes the removal durable. */
export function removePruned(dir: string, plan: PrunePlan): void {
  for (const { name } of plan.files) rmSync(join(dir, name));
  fsyncPath(dir);
}

/** The newline-terminated lines of a file (a line torn by a crash, without its newline, is not one). */
function wholeLines(content: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let start = 0, end = content.indexOf(0x0a); end >= 0; start = end + 1, end = content.indexOf(0x0a, start)) {
    if (end > start) lines.push(content.subarray(start, end));
  }
  return lines;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
