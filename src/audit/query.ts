/**
 * `enrollgate audit query` (and the admin console's search): filters the daily
 * files by time range, user, MAC, event type and outcome, and hands back matching
 * records in order.
 *
 * It reads only the files of the days in the range (files are named by UTC date),
 * and when a user or MAC is asked for it jumps from one occurrence of that text in
 * the file to the next (Buffer.indexOf) instead of parsing every line: a query for
 * one device over a year parses only that device's lines. bench/audit.ts measures it.
 * It does not verify the chain (`audit verify` does).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_FILE, type AuditRecord } from './record.js';
import type { AuditOutcome } from './events.js';

export interface AuditFilter {
  /** Records at or after this instant. */
  readonly from?: Date;
  /** Records before this instant. */
  readonly to?: Date;
  /**
   * The person, in every record about them or by them: `user` (who logged in, whose
   * device or session: the owner, also when somebody else acted on it), `by` (who acted)
   * or `admin` (the console's and API's own records: logged in, refused, …).
   */
  readonly user?: string;
  /** A device MAC in the gateway's form (aa:bb:cc:dd:ee:ff). */
  readonly mac?: string;
  /** An event type (device.enrolled), or a prefix ending in "." or ".*" (device.*). */
  readonly type?: string;
  readonly outcome?: AuditOutcome;
  /** Stop after this many matches. */
  readonly limit?: number;
}

export interface AuditMatch {
  readonly record: AuditRecord;
  /** The line as stored (what a JSON-lines export writes, so it can be checked against the trail). */
  readonly line: string;
  readonly file: string;
}

/**
 * Whether a search reads only the records of searches (audit.queried): it is then not
 * recorded itself, so that a monitor polling who read the trail does not feed on its own
 * records, one more at every poll. Every other search and every export is recorded.
 */
export function readsOnlyReads(filter: AuditFilter): boolean {
  return filter.type === 'audit.queried';
}

/** Calls `emit` for each matching record, oldest first; returns how many matched. */
export function queryAudit(dir: string, filter: AuditFilter, emit: (match: AuditMatch) => void): number {
  let n = 0;
  for (const m of auditMatches(dir, filter)) {
    emit(m);
    n++;
  }
  return n;
}

/** The matching records, oldest first, one at a time (an export of a year streams instead of filling memory). */
export function* auditMatches(dir: string, filter: AuditFilter): Generator<AuditMatch> {
  const fromDay = filter.from?.toISOString().slice(0, 10);
  const toDay = filter.to?.toISOString().slice(0, 10);
  const files = readdirSync(dir)
    .filter((f) => {
      const day = AUDIT_FILE.exec(f)?.[1];
      return day !== undefined && (fromDay === undefined || day >= fromDay) && (toDay === undefined || day <= toDay);
    })
    .sort();
  const typePrefix = filter.type?.endsWith('.*') ? filter.type.slice(0, -1) : filter.type?.endsWith('.') ? filter.type : undefined;
  // The most selective text that every matching line must contain, as JSON writes it.
  const needle = filter.mac
    ? Buffer.from(`"mac":${JSON.stringify(filter.mac)}`)
    : filter.user
      ? Buffer.from(JSON.stringify(filter.user))
      : filter.type && !typePrefix
        ? Buffer.from(`"type":${JSON.stringify(filter.type)}`)
        : undefined;
  const limit = filter.limit ?? Number.POSITIVE_INFINITY;
  const fromIso = filter.from?.toISOString();
  const toIso = filter.to?.toISOString();
  let matched = 0;

  const consider = (content: Buffer, start: number, end: number, file: string): AuditMatch | undefined => {
    const line = content.toString('utf8', start, end);
    let r: AuditRecord;
    try {
      r = JSON.parse(line) as AuditRecord;
    } catch {
      return undefined; // a torn or altered line: `audit verify` reports it
    }
    if (fromIso && r.at < fromIso) return undefined;
    if (toIso && r.at >= toIso) return undefined;
    if (filter.mac && r.mac !== filter.mac) return undefined;
    if (filter.user && r.user !== filter.user && r.by !== filter.user && r.admin !== filter.user) return undefined;
    if (filter.type && (typePrefix ? !r.type.startsWith(typePrefix) : r.type !== filter.type)) return undefined;
    if (filter.outcome && r.outcome !== filter.outcome) return undefined;
    return { record: r, line, file };
  };

  for (const file of files) {
    const content = readFileSync(join(dir, file));
    if (needle) {
      // From one occurrence to the next; a line with two occurrences is considered once.
      for (let at = content.indexOf(needle); at >= 0; ) {
        const start = content.lastIndexOf(0x0a, at) + 1;
        let end = content.indexOf(0x0a, at);
        if (end < 0) end = content.length;
        const m = consider(content, start, end, file);
        if (m) {
          yield m;
          if (++matched >= limit) return;
        }
        at = content.indexOf(needle, end);
      }
    } else {
      for (let start = 0; start < content.length; ) {
        let end = content.indexOf(0x0a, start);
        if (end < 0) end = content.length;
        const m = end > start ? consider(content, start, end, file) : undefined;
        if (m) {
          yield m;
          if (++matched >= limit) return;
        }
        start = end + 1;
      }
    }
  }
}

/**
 * An export as text, in chunks of up to 1,000 records: JSON lines as stored, or CSV
 * with its header. `done` is told how many records went out (also when the reader
 * stops early).
 */
export function* exportChunks(matches: Iterable<AuditMatch>, format: 'jsonl' | 'csv', done?: (records: number) => void): Generator<string> {
  let n = 0;
  try {
    if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\n`;
    let chunk: string[] = [];
    for (const m of matches) {
      chunk.push(format === 'csv' ? csvRow(m.record) : m.line);
      n++;
      if (chunk.length >= 1000) {
        yield `${chunk.join('\n')}\n`;
        chunk = [];
      }
    }
    if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
  } finally {
    done?.(n);
  }
}

/**
 * CSV columns: the fields most searches need, then the rest of the record as JSON. `by` is
 * the actor: the record's `by`, or `admin` for the console's and API's own records.
 */
export const CSV_COLUMNS = ['seq', 'at', 'type', 'outcome', 'user', 'by', 'mac', 'nas', 'reason', 'details'] as const;

const CHAIN_FIELDS = new Set(['seq', 'at', 'type', 'outcome', 'user', 'by', 'admin', 'mac', 'nas', 'reason', 'prev', 'hmac']);

/** Who acted, as the CSV's and the console's "by" column show it: `by`, or the console's and API's `admin`. */
export function actorOf(r: AuditRecord): string | undefined {
  const actor = r.by ?? r.admin;
  return typeof actor === 'string' ? actor : undefined;
}

/**
 * One CSV row: RFC 4180 quoting; control characters written as JSON escapes; a leading
 * =, +, - or @ prefixed with ' so that spreadsheets do not run it.
 */
export function csvRow(r: AuditRecord): string {
  const details = Object.fromEntries(Object.entries(r).filter(([k]) => !CHAIN_FIELDS.has(k)));
  const cells = [r.seq, r.at, r.type, r.outcome, r.user, actorOf(r), r.mac, r.nas, r.reason, Object.keys(details).length > 0 ? JSON.stringify(details) : ''];
  return cells.map(csvCell).join(',');
}

/**
 * Characters a cell shows as `\u0000`…: C0 controls (NUL, CR, LF, ESC…), DEL, C1 controls
 * and the Unicode line and paragraph separators. Raw, a NUL ends the field for C tools,
 * CR and LF split a record for every line-based reader (grep, SIEM imports) even inside
 * quotes, and ESC sequences drive the terminal of whoever views the file. The name a
 * person typed may hold any of them, and it is evidence: escaped, not dropped, in the
 * JSON notation the details column and the JSON lines export use (which keep the exact
 * value: a typed backslash-u reads the same here).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = String(value).replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  // A leading tab or CR, which spreadsheets also take for the start of a formula, is escaped above.
  if (/^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
