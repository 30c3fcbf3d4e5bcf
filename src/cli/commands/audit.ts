import { resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { auditKey, recordAside } from '../../audit/audit-log.js';
import { AUDIT_EVENT_TYPES, type AuditOutcome } from '../../audit/events.js';
import { auditMatches, exportChunks, readsOnlyReads, type AuditFilter } from '../../audit/query.js';
import { formatReport, verifyAuditDir } from '../../audit/verify.js';
import type { Config } from '../../config/load.js';
import { parseMac } from '../../mac.js';
import { systemClock } from '../../clock.js';
import { BadInputError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { operator } from './devices.js';

/** The `audit` subcommands and their help (printed by `enrollgate help`). */
export const AUDIT_USAGE = `  enrollgate audit verify [--config FILE | --dir DIR]
      Check the audit trail's hash chain (and HMACs, with audit.hmac_key) up to its
      checkpoint (audit-head.json): exit 0 when intact, 1 at the first altered, deleted,
      reordered or cut record (named by file and line), at a missing or wrong
      checkpoint, and when the directory does not exist or holds no trail; 3 when it
      ends in a torn line from a crash not yet recovered.
  enrollgate audit query [--config FILE | --dir DIR] [--from T] [--to T] [--user U]
      [--mac MAC] [--type TYPE] [--outcome success|failure|info] [--format jsonl|csv]
      [--limit N]
      Print matching records, oldest first, as JSON lines (as stored) or CSV. T is a
      date (2026-11-26, UTC) or an ISO 8601 instant; --to is exclusive. TYPE is an
      event type (device.enrolled) or a prefix (device.*).
`;

export const AUDIT_SUBCOMMANDS = ['verify', 'query'] as const;
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
}

const QUERY_ONLY = ['from', 'to', 'user', 'mac', 'type', 'outcome', 'format', 'limit'] as const;
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
  if (sub === 'verify') {
    const misplaced = QUERY_ONLY.filter((k) => flags[k] !== undefined);
    if (misplaced.length > 0) throw new BadInputError(`audit verify does not take ${misplaced.map((k) => `--${k}`).join(', ')}`);
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

  const filter = parseFilter(flags);
  const format = flags.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new BadInputError(`--format: "${format}" is not jsonl or csv`);
  let records = 0;
  // Streamed with back-pressure, in chunks of 1,000 records: a year's export is large.
  await pipeline(Readable.from(exportChunks(auditMatches(dir, filter), format, (n) => (records = n))), out, { end: false });
  // The read is recorded in the trail it read (a copy named by --dir is evidence, never written to).
  if (c && !readsOnlyReads(filter)) {
    await recordAside(
      { dir, ...(key ? { key } : {}), clock: systemClock, log: createLogger('silent') },
      { type: 'audit.queried', by: `cli:${operator()}`, records, filter: JSON.stringify({ ...filter, format }) },
    );
  }
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
