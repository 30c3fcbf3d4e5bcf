import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { auditKey } from '../../audit/audit-log.js';
import { AUDIT_FILE, HEAD_FILE } from '../../audit/record.js';
import { formatReport, verifyAuditDir } from '../../audit/verify.js';
import type { Config } from '../../config/load.js';
import { BadInputError } from '../../errors.js';


const MANIFEST = 'backup.json';
const STATE = 'state.sqlite';
const AUDIT = 'audit';

interface Manifest {
  readonly made_at: string;
  /** Paths inside the backup directory, with their SHA-256. */
  readonly files: Record<string, string>;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** `enrollgate backup --to DIR`. */
export async function backupCommand(config: Config, to: string | undefined, print: (line: string) => void): Promise<number> {
  if (to === undefined) throw new BadInputError('backup: --to DIR is required');
  const dir = resolve(to);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new BadInputError(`backup: ${dir} is not empty; give a new or empty directory`);
  mkdirSync(join(dir, AUDIT), { recursive: true, mode: 0o700 });
  const files: Record<string, string> = {};

  if (config.store.kind === 'sqlite') {
    if (!existsSync(config.store.sqlite_file)) throw new BadInputError(`backup: ${config.store.sqlite_file} (store.sqlite_file) does not exist: no state to back up`);
    // The online backup API copies pages under SQLite's own locking: one consistent moment,
    // the WAL's commits included, while the gateway goes on writing.
    const db = new Database(config.store.sqlite_file, { fileMustExist: true, timeout: 5000 });
    try {
      await db.backup(join(dir, STATE));
    } finally {
      db.close();
    }
    files[STATE] = sha256(join(dir, STATE));
    print(`State: ${config.store.sqlite_file} → ${join(dir, STATE)}`);
  } else {
    print('State: store.kind is redis; not copied (back Redis up with its own tools: BGSAVE, or its append-only file).');
  }

  // The checkpoint first: it names a record already written, so every file copied after it
  // holds that record (audit verify reads in the same order).
  const src = config.audit.dir;
  const names = existsSync(src) ? readdirSync(src) : [];
  let records = 0;
  if (names.includes(HEAD_FILE)) {
    copyFileSync(join(src, HEAD_FILE), join(dir, AUDIT, HEAD_FILE));
    files[`${AUDIT}/${HEAD_FILE}`] = sha256(join(dir, AUDIT, HEAD_FILE));
  }
  // The daily files only: the writer's lock (audit.lock) belongs to the running gateway, and a
  // restored copy of it would keep the restored gateway from starting.
  for (const name of names.filter((n) => AUDIT_FILE.test(n)).sort()) {
    // Up to the last newline: a record being appended right now is the next backup's.
    const text = readFileSync(join(src, name));
    const whole = text.subarray(0, text.lastIndexOf(0x0a) + 1);
    writeFileSync(join(dir, AUDIT, name), whole, { mode: 0o600 });
    files[`${AUDIT}/${name}`] = sha256(join(dir, AUDIT, name));
    records += whole.toString('utf8').split('\n').filter(Boolean).length;
  }
  const daily = Object.keys(files).filter((f) => f.startsWith(`${AUDIT}/`) && f !== `${AUDIT}/${HEAD_FILE}`).length;
  print(`Audit trail: ${daily} daily file(s), ${records} record(s)${files[`${AUDIT}/${HEAD_FILE}`] ? ` and ${HEAD_FILE}` : ''} → ${join(dir, AUDIT)}`);
  const manifest: Manifest = { made_at: new Date().toISOString(), files };
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  print(`Wrote ${join(dir, MANIFEST)}.`);
  return 0;
}

/**
 * backup.json as `backup` writes it, or a clear refusal: a damaged or hand-edited manifest
 * must not name a file outside the backup or the audit directory (restore copies by these names).
 */
function readManifest(file: string): Manifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BadInputError(`restore: ${file} is not valid JSON (${(err as Error).message}); the backup is damaged`);
  }
  const files = (parsed as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw new BadInputError(`restore: ${file} lists no files; the backup is damaged`);
  for (const [name, digest] of Object.entries(files)) {
    const known = name === STATE || name === `${AUDIT}/${HEAD_FILE}` || (name.startsWith(`${AUDIT}/`) && AUDIT_FILE.test(name.slice(AUDIT.length + 1)));
    if (!known) throw new BadInputError(`restore: ${file} names ${JSON.stringify(name)}, which enrollgate backup never writes; the backup is damaged`);
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) throw new BadInputError(`restore: ${file} has no SHA-256 for ${name}; the backup is damaged`);
  }
  return parsed as Manifest;
}

/** `enrollgate restore --from DIR`; 1 when the restored trail does not verify or the state is damaged. */
export function restoreCommand(config: Config, from: string | undefined, print: (line: string) => void): number {
  if (from === undefined) throw new BadInputError('restore: --from DIR is required');
  const dir = resolve(from);
  if (!existsSync(join(dir, MANIFEST))) throw new BadInputError(`restore: ${dir} has no ${MANIFEST}: not a backup made by enrollgate backup`);
  const manifest = readManifest(join(dir, MANIFEST));
  for (const [name, digest] of Object.entries(manifest.files)) {
    if (!existsSync(join(dir, name)) || sha256(join(dir, name)) !== digest) throw new BadInputError(`restore: ${join(dir, name)} is missing or differs from ${MANIFEST}; the backup is damaged`);
  }
  const state = manifest.files[STATE] !== undefined;
  if (state) {
    if (config.store.kind !== 'sqlite') throw new BadInputError(`restore: the backup holds SQLite state, but store.kind is ${config.store.kind}`);
    const target = config.store.sqlite_file;
    for (const f of [target, `${target}-wal`, `${target}-shm`]) {
      if (existsSync(f)) throw new BadInputError(`restore: ${f} exists; restore never overwrites (stop the gateway and move it aside)`);
    }
  }
  const auditDir = config.audit.dir;
  if (existsSync(auditDir) && readdirSync(auditDir).length > 0) throw new BadInputError(`restore: ${auditDir} (audit.dir) is not empty; restore never overwrites (stop the gateway and move it aside)`);

  if (state) {
    copyFileSync(join(dir, STATE), config.store.sqlite_file);
    const db = new Database(config.store.sqlite_file, { fileMustExist: true });
    try {
      const check = db.pragma('integrity_check', { simple: true });
      if (check !== 'ok') {
        print(`State: ${config.store.sqlite_file} fails SQLite's integrity check: ${String(check)}`);
        return 1;
      }
    } finally {
      db.close();
    }
    print(`State: ${join(dir, STATE)} → ${config.store.sqlite_file} (integrity check: ok)`);
  }
  mkdirSync(auditDir, { recursive: true, mode: 0o700 });
  const auditFiles = Object.keys(manifest.files).filter((f) => f.startsWith(`${AUDIT}/`));
  for (const name of auditFiles) copyFileSync(join(dir, name), join(auditDir, name.slice(AUDIT.length + 1)));
  const report = verifyAuditDir(auditDir, auditKey(config));
  print(`Audit trail: ${auditFiles.filter((f) => f !== `${AUDIT}/${HEAD_FILE}`).length} daily file(s) → ${auditDir}; ${formatReport(report)}`);
  return report.status === 'intact' || report.status === 'missing' ? 0 : 1;
}
