/**
 * audit-head.json, the checkpoint beside the daily files (record.ts, AuditHead),
 * as the writer (audit-log.ts) writes it.
 *
 * Written durably: after a power cut the checkpoint is the old one or the new one,
 * whole, and names no record the disk lost (which `audit verify` would report as a
 * cut). The daily files written since the last checkpoint are fsynced first; the
 * new checkpoint goes to a temporary file, which is fsynced and renamed over the
 * old one; then the directory is fsynced, so that the rename (and a new daily
 * file's name) lasts.
 */
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { HEAD_FILE, type AuditHead } from './record.js';

const TMP_FILE = `.${HEAD_FILE}.tmp`;

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

/** fsync(2) of a file or directory by name: any descriptor of it flushes it (Linux). */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
