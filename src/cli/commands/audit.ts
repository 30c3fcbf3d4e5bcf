import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { auditKey, recordAside } from '../../audit/audit-log.js';
import { AUDIT_EVENT_TYPES, type AuditOutcome } from '../../audit/events.js';
import { auditMatches, exportChunks, readsOnlyReads, type AuditFilter } from '../../audit/query.js';
import { archiveFiles, planPrune, removePruned } from '../../audit/prune.js';
import { formatReport, verifyAuditDir } from '../../audit/verify.js';
import type { Config } from '../../config/load.js';
import { parseMac } from '../../mac.js';
import { systemClock } from '../../clock.js';
import { BadInputError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { operator } from './devices.js';
import { AUDIT_SUBCOMMANDS } from '../usage.js';


export type AuditSubcommand = (typeof AUDIT_SUBCOMMANDS)[number];

/** What `audit` may take besides --config. */
export interface AuditFlags {
  readonly dir?: string;
  readonly from?: string;
  readonly to?: string;
  readonly user?: string;
  readonly mac?: string;
  readonly type?: string;
  readonly outcome?: string;
  readonly format?: string;
  readonly limit?: string;
  readonly before?: string;
  readonly archive?: string;
}

const QUERY_ONLY = ['from', 'to', 'user', 'mac', 'type', 'outcome', 'format', 'limit'] as const;
const PRUNE_ONLY = ['before', 'archive'] as const;
/** How long prune waits for a running gateway to record the cut before it removes anything. */
const PRUNE_RECORD_WAIT_MS = 15_000;
const OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'info'];

/**
 * `enrollgate audit …`. Reads the directory of config's audit.dir (or --dir, which
 * needs no config: an auditor may check a copy). Returns the exit status; throws
 * BadInputError for a bad flag value (exit 2).
 */
export async function auditCommand(
  sub: AuditSubcommand,
  args: readonly string[],
  flags: AuditFlags,
  config: () => Config | undefined,
  out: Writable,
): Promise<number> {
  const write = (text: string) => void out.write(text);
  if (args.length > 0) throw new BadInputError(`audit ${sub} takes no arguments, got: ${args.join(' ')}`);
  if (sub !== 'query') {
    const misplaced = QUERY_ONLY.filter((k) => flags[k] !== undefined);
    if (misplaced.length > 0) throw new BadInputError(`audit ${sub} does not take ${misplaced.map((k) => `--${k}`).join(', ')}`);
  }
  if (sub !== 'prune') {
    const misplaced = PRUNE_ONLY.filter((k) => flags[k] !== undefined);
    if (misplaced.length > 0) throw new BadInputError(`audit ${sub} does not take ${misplaced.map((k) => `--${k}`).join(', ')}`);
  } else if (flags.dir !== undefined) {
    throw new BadInputError('audit prune writes the trail (its audit.pruned record, sealed with the key): give --config, not --dir');
  }
  const c = flags.dir === undefined ? config() : undefined;
  const dir = flags.dir !== undefined ? resolve(flags.dir) : c!.audit.dir;
  const key = c ? auditKey(c) : undefined;

  if (sub === 'verify') {
    const report = verifyAuditDir(dir, key);
    write(`${formatReport(report)}\n`);
    if (report.status === 'intact' && key === undefined && flags.dir === undefined) {
      write('note: no audit.hmac_key is configured: the chain shows changes, but whoever can write the files could rebuild it\n');
    }
    return report.status === 'intact' ? 0 : report.status === 'torn' ? 3 : 1;
  }

  if (sub === 'prune') return prune(dir, key, flags, write);

  const filter = parseFilter(flags);
  const format = flags.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new BadInputError(`--format: "${format}" is not jsonl or csv`);
  let records = 0;
  // Streamed with back-pressure, in chunks of 1,000 records: a year's export is large.
  try {
    await pipeline(Readable.from(exportChunks(auditMatches(dir, filter), format, (n) => (records = n))), out, { end: false });
  } catch (err) {
    // The reader stopped (`| head`): what was read up to then is still a read, recorded below; exit 0.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  }
  // The read is recorded in the trail it read (a copy named by --dir is evidence, never written to).
  if (c && !readsOnlyReads(filter)) {
    await recordAside(
      { dir, ...(key ? { key } : {}), clock: systemClock, log: createLogger('silent') },
      { type: 'audit.queried', by: `cli:${operator()}`, records, filter: JSON.stringify({ ...filter, format }) },
    );
  }
  return 0;
}

/**
 * `audit prune`: the trail must verify (a cut must not take the evidence of a break with it);
 * the files are archived, the cut recorded (by the running gateway, waited for, or here),
 * and only then removed.
 */
async function prune(dir: string, key: Buffer | undefined, flags: AuditFlags, write: (text: string) => void): Promise<number> {
  if (flags.before === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(flags.before) || Number.isNaN(Date.parse(`${flags.before}T00:00:00Z`))) {
    throw new BadInputError(`--before: ${flags.before === undefined ? 'missing' : `"${flags.before}" is not a date`}: the first day to keep (2026-01-01, UTC)`);
  }
  if (flags.archive === undefined) throw new BadInputError('--archive: missing: the directory the pruned files go to');
  const today = systemClock.now().toISOString().slice(0, 10);
  if (flags.before > today) throw new BadInputError(`--before: ${flags.before} is after today (${today}, UTC): today's file is still being written`);
  const archive = resolve(flags.archive);
  if (archive === resolve(dir)) throw new BadInputError('--archive: must not be the audit directory itself');

  const report = verifyAuditDir(dir, key);
  if (report.status !== 'intact') {
    write(`${formatReport(report)}\nNothing pruned: the trail does not verify, and a cut could take the evidence with it.\n`);
    return 1;
  }
  const plan = planPrune(dir, flags.before);
  if (!plan) {
    write(`Nothing to prune: no daily file before ${flags.before} in ${dir}.\n`);
    return 0;
  }
  archiveFiles(dir, archive, plan, key);
  const files = plan.files.map((f) => f.name);
  const pending = await recordAside(
    { dir, ...(key ? { key } : {}), clock: systemClock, log: createLogger('silent') },
    { type: 'audit.pruned', by: `cli:${operator()}`, before: flags.before, archive, files, records: plan.records, first_seq: plan.firstSeq, last_seq: plan.lastSeq, last_sha256: plan.lastSha256 },
  );
  const deadline = Date.now() + PRUNE_RECORD_WAIT_MS;
  while (pending.some((p) => existsSync(p))) {
    if (Date.now() > deadline) {
      write(`The running gateway did not record the cut within ${PRUNE_RECORD_WAIT_MS / 1000} s: nothing was removed (the copies are in ${archive}). Run the command again.\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  removePruned(dir, plan);
  write(
    [
      `Archived ${plan.files.length} file(s), ${plan.records} record(s) (seq ${plan.firstSeq} to ${plan.lastSeq}), to ${archive}:`,
      ...plan.files.map((f) => `  ${f.name}  ${f.lines} line(s)`),
      `Last archived record: seq ${plan.lastSeq}, SHA-256 ${plan.lastSha256}`,
      `Recorded as audit.pruned; the trail in ${dir} now starts at seq ${plan.lastSeq + 1}.`,
      '',
    ].join('\n'),
  );
  return 0;
}

function parseFilter(flags: AuditFlags): AuditFilter {
  const from = flags.from === undefined ? undefined : instant(flags.from, '--from');
  const to = flags.to === undefined ? undefined : instant(flags.to, '--to');
  if (from && to && from >= to) throw new BadInputError(`--from (${flags.from}) must be before --to (${flags.to})`);
  let mac: string | undefined;
  if (flags.mac !== undefined) {
    mac = parseMac(flags.mac) ?? undefined;
    if (mac === undefined) throw new BadInputError(`--mac: ${JSON.stringify(flags.mac)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  if (flags.type !== undefined) {
    const prefix = flags.type.endsWith('.*') ? flags.type.slice(0, -1) : flags.type.endsWith('.') ? flags.type : undefined;
    const known = prefix ? AUDIT_EVENT_TYPES.some((t) => t.startsWith(prefix)) : (AUDIT_EVENT_TYPES as readonly string[]).includes(flags.type);
    if (!known) throw new BadInputError(`--type: "${flags.type}" is not an event type or prefix; known types: ${AUDIT_EVENT_TYPES.join(', ')}`);
  }
  if (flags.outcome !== undefined && !(OUTCOMES as readonly string[]).includes(flags.outcome)) {
    throw new BadInputError(`--outcome: "${flags.outcome}" is not one of ${OUTCOMES.join(', ')}`);
  }
  let limit: number | undefined;
  if (flags.limit !== undefined) {
    limit = Number(flags.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new BadInputError(`--limit: "${flags.limit}" is not a whole number of at least 1`);
  }
  return {
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(flags.user !== undefined ? { user: flags.user } : {}),
    ...(mac ? { mac } : {}),
    ...(flags.type !== undefined ? { type: flags.type } : {}),
    ...(flags.outcome !== undefined ? { outcome: flags.outcome as AuditOutcome } : {}),
    ...(limit ? { limit } : {}),
  };
}

/** 2026-11-26 (midnight UTC) or an ISO 8601 instant with its offset. */
function instant(value: string, flag: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(value) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!ok || Number.isNaN(date.getTime())) throw new BadInputError(`${flag}: "${value}" is not a date (2026-11-26) or an ISO 8601 time with its offset (2026-11-26T08:00:00Z)`);
  return date;
}
