/**
 * The audit trail's on-disk format, shared by the writer (audit-log.ts) and the
 * checker (verify.ts). Pure: no files.
 *
 * One record is one line of JSON, in daily files named audit-YYYY-MM-DD.jsonl
 * (UTC date of the record):
 *
 *   {"seq":42,"at":"2026-11-26T08:15:04.120Z","type":"device.enrolled","mac":"…","user":"…",…,
 *    "outcome":"success","prev":"<SHA-256 hex of the previous line>"[,"hmac":"<hex>"]}
 *
 * `seq` counts records from 1 across all files; `prev` is the SHA-256 of the
 * previous record's line exactly as written (without its newline), or 64 zeros for
 * the first record. Changing, deleting or reordering any record therefore breaks
 * the chain at the record after it. With a key configured, `hmac` is HMAC-SHA256
 * over the line as it would read without the hmac member, so that only the key's
 * holder can write a chain that verifies (without it, anyone who can write the
 * files can rebuild a consistent chain from the point they changed).
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { outcomeOf, type AuditEvent, type AuditOutcome } from './events.js';

/** `prev` of the very first record. */
export const GENESIS = '0'.repeat(64);

/** Daily audit files: audit-YYYY-MM-DD.jsonl. */
export const AUDIT_FILE = /^audit-(\d{4}-\d{2}-\d{2})\.jsonl$/;

/** The checkpoint the writer keeps beside the files: the last record it wrote (catches a trail cut at a record boundary). */
export const HEAD_FILE = 'audit-head.json';

/** A record as read back: the event's fields plus the chain's. */
export type AuditRecord = { seq: number; at: string; type: string; outcome: AuditOutcome; prev: string } & Record<string, unknown>;

/** The checkpoint's content. */
export interface AuditHead {
  readonly seq: number;
  /** SHA-256 of record `seq`'s line. */
  readonly sha256: string;
  readonly file: string;
  readonly line: number;
  /** HMAC-SHA256 of `seq:sha256` with the audit key, when one is configured. */
  readonly hmac?: string;
}

const HMAC_SUFFIX = /,"hmac":"([0-9a-f]{64})"\}$/;

/** The file a record stamped `at` belongs in. */
export function fileFor(at: Date): string {
  return `audit-${isoTime(at).slice(0, 10)}.jsonl`;
}

/**
 * at.toISOString(), remembered for the last millisecond asked: RADIUS records come by
 * the thousand a second, many in the same millisecond, and each is stamped and filed.
 */
export function isoTime(at: Date): string {
  const ms = at.getTime();
  if (ms !== lastIso.ms) {
    lastIso.ms = ms;
    lastIso.text = at.toISOString();
  }
  return lastIso.text;
}
const lastIso = { ms: Number.NaN, text: '' };

/** SHA-256 (hex) of a line as written, without its newline (one-shot: no Hash object per record). */
export function lineHash(line: string | Buffer): string {
  return hash('sha256', line, 'hex');
}

/**
 * An event's own part of its line: its members and its outcome, as JSON members
 * without the braces (type first, as the union declares it). RADIUS workers build
 * this part and send it as text, so the process that owns the chain only seals it
 * (sealMembers): parsing their events and writing them out again was most of what
 * the main process did under RADIUS load (bench:radius profile).
 */
export function eventMembers(event: AuditEvent): string {
  if (event.type === 'radius.accepted' || event.type === 'radius.rejected') return accessMembers(event);
  return `${JSON.stringify(event).slice(1, -1)},"outcome":"${outcomeOf(event)}"`;
}

/**
 * eventMembers of a RADIUS answer, the event written at every answer: the same text as
 * JSON.stringify gives for the object radius/audit-records.ts builds (its members in
 * that order, undefined ones left out), from pieces. The NAS, the reason and the
 * attribute summary repeat from one answer to the next, so their JSON is remembered;
 * JSON.stringify of the whole object was a tenth of a MAC authentication (bench:radius-cpu).
 */
function accessMembers(event: Extract<AuditEvent, { type: 'radius.accepted' | 'radius.rejected' }>): string {
  let text = `"type":"${event.type}","nas":${quotedOften(event.nas)}`;
  if (event.mac !== undefined) text += `,"mac":${JSON.stringify(event.mac)}`;
  if (event.type === 'radius.accepted') {
    if (event.user !== undefined) text += `,"user":${JSON.stringify(event.user)}`;
    if (event.reason !== undefined) text += `,"reason":${quotedOften(event.reason)}`;
    if (event.attributes !== undefined) text += `,"attributes":${quotedOften(event.attributes)}`;
    return `${text},"outcome":"success"`;
  }
  return `${text},"reason":${quotedOften(event.reason)},"outcome":"failure"`;
}

/** JSON strings of values that repeat (NAS names, reasons, attribute summaries), bounded. */
const quoted = new Map<string, string>();
const QUOTED_MAX = 1000;

function quotedOften(value: string): string {
  let json = quoted.get(value);
  if (json === undefined) {
    if (quoted.size >= QUOTED_MAX) quoted.clear();
    json = JSON.stringify(value);
    quoted.set(value, json);
  }
  return json;
}

/** Builds the line of an event's members (eventMembers): chained to `prev`, and sealed with the key when there is one. */
export function sealMembers(members: string, chain: { seq: number; at: Date; prev: string }, key?: Buffer): string {
  const body = `{"seq":${chain.seq},"at":"${isoTime(chain.at)}",${members},"prev":"${chain.prev}"}`;
  if (!key) return body;
  return `${body.slice(0, -1)},"hmac":"${createHmac('sha256', key).update(body).digest('hex')}"}`;
}

/** Whether a line carries an HMAC at all (right or wrong): a line without one was written before the key was set. */
export function isSealed(line: string): boolean {
  return HMAC_SUFFIX.test(line);
}

/**
 * Reads a line back. A problem (not JSON, missing chain fields, a missing or wrong
 * HMAC when a key is given) comes back as text; the record otherwise.
 */
export function openRecord(line: string, key?: Buffer): { record: AuditRecord } | { problem: string } {
  let body = line;
  if (key) {
    const m = HMAC_SUFFIX.exec(line);
    if (!m) return { problem: 'has no HMAC (the audit key is configured)' };
    body = `${line.slice(0, m.index)}}`;
    const expected = createHmac('sha256', key).update(body).digest();
    if (!timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'))) return { problem: 'has a wrong HMAC' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { problem: 'is not a JSON record' };
  }
  const r = parsed as Partial<AuditRecord> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    !Number.isSafeInteger(r.seq) ||
    (r.seq as number) < 1 ||
    typeof r.at !== 'string' ||
    typeof r.type !== 'string' ||
    typeof r.prev !== 'string' ||
    !/^[0-9a-f]{64}$/.test(r.prev)
  ) {
    return { problem: 'lacks the chain fields (seq, at, type, prev)' };
  }
  return { record: r as AuditRecord };
}

/** The checkpoint's HMAC (binds seq and hash, so an old checkpoint cannot be edited to match a cut trail). */
export function headHmac(seq: number, sha256: string, key: Buffer): string {
  return createHmac('sha256', key).update(`${seq}:${sha256}`).digest('hex');
}
