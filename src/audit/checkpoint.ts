/**
 * audit-head.json, the checkpoint beside the daily files (record.ts, AuditHead):
 * written by the writer (audit-log.ts), read by the checker (verify.ts).
 *
 * Written durably: after a power cut the checkpoint is the old one or the new one,
 * whole, and names no record the disk lost (which `audit verify` would report as a
 * cut). The daily files written since the last checkpoint are fsynced first; the
 * new checkpoint goes to a temporary file, which is fsynced and renamed over the
 * old one; then the directory is fsynced, so that the rename (and a new daily
 * file's name) lasts.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { HEAD_FILE, type AuditHead } from './record.js';

const TMP_FILE = `.${HEAD_FILE}.tmp`;
const HEX64 = /^[0-9a-f]{64}$/;

/** Replaces the checkpoint durably, off the event loop (its fsyncs take milliseconds); `written`: the daily files written since the last one. */
export async function writeCheckpoint(dir: string, head: AuditHead, written: readonly string[]): Promise<void> {
  for (const file of written) await fsyncPath(join(dir, file));
  const tmp = await open(join(dir, TMP_FILE), 'w', 0o600);
  try {
    await tmp.writeFile(`${JSON.stringify(head)}\n`);
    await tmp.sync();
  } finally {
    await tmp.close();
  }
  await rename(join(dir, TMP_FILE), join(dir, HEAD_FILE));
  await fsyncPath(dir);
}

/** A new trail's first checkpoint (seq 0, no record written yet), before the writer goes on. */
export function writeCheckpointSync(dir: string, head: AuditHead): void {
  const fd = openSync(join(dir, TMP_FILE), 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(head)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(join(dir, TMP_FILE), join(dir, HEAD_FILE));
  fsyncPathSync(dir);
}

/** The checkpoint of a directory: none, one that does not read (problem), or the checkpoint. */
export function readCheckpoint(dir: string): { head: AuditHead } | { missing: true } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(join(dir, HEAD_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { missing: true } : { problem: `could not be read (${code})` };
  }
  let head: Partial<AuditHead> | null;
  try {
    head = JSON.parse(text) as Partial<AuditHead> | null;
  } catch {
    return { problem: 'is not JSON' };
  }
  if (
    typeof head !== 'object' ||
    head === null ||
    !Number.isSafeInteger(head.seq) ||
    (head.seq as number) < 0 ||
    typeof head.sha256 !== 'string' ||
    !HEX64.test(head.sha256) ||
    typeof head.file !== 'string' ||
    !Number.isSafeInteger(head.line) ||
    (head.hmac !== undefined && (typeof head.hmac !== 'string' || !HEX64.test(head.hmac)))
  ) {
    return { problem: 'lacks seq, sha256, file or line' };
  }
  return { head: head as AuditHead };
}

/** fsync(2) of a file or directory by name: any descriptor of it flushes it (Linux). */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function fsyncPathSync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
