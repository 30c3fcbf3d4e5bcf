/**
 * `enrollgate audit verify`: walks every daily file of an audit directory in order
 * and checks the chain (record.ts) record by record. It stops at the first break
 * and names it by file and line: a record altered (the next record's `prev` does
 * not match it, or its HMAC is wrong), records deleted (a jump in `seq`), records
 * reordered (`seq` going back), a line that is not a record, and a trail that ends
 * before its checkpoint (cut at a record boundary). A torn line followed by the
 * writer's audit.recovered record naming it (same file, line, length and SHA-256)
 * is a crash, reported as a note; a torn last line not yet recovered is reported
 * as such, with its own status.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_FILE, GENESIS, headHmac, HEAD_FILE, lineHash, openRecord, type AuditHead } from './record.js';

export interface VerifyReport {
  /** intact: every record chains; torn: intact up to a torn last line (a crash, not yet restarted); broken: tampered or lost records. */
  readonly status: 'intact' | 'torn' | 'broken';
  readonly files: number;
  readonly records: number;
  readonly lastSeq: number;
  /** The first break: where and what. */
  readonly problem?: { readonly file: string; readonly line: number; readonly message: string };
  /** Torn lines the writer recovered from (each a crash while writing). */
  readonly notes: readonly string[];
}

interface Place {
  file: string;
  line: number;
}

/** Checks a whole audit directory; `key` is audit.hmac_key when one is configured. */
export function verifyAuditDir(dir: string, key?: Buffer): VerifyReport {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => AUDIT_FILE.test(f)).sort() : [];
  const notes: string[] = [];
  let prev = GENESIS;
  let prevSeq = 0;
  let prevPlace: Place | undefined;
  let records = 0;
  let torn: (Place & { bytes: Buffer }) | undefined;
  const hashes = new Map<number, string>();
  const head = readHead(dir);
  const broken = (file: string, line: number, message: string): VerifyReport => ({
    status: 'broken',
    files: files.length,
    records,
    lastSeq: prevSeq,
    problem: { file, line, message },
    notes,
  });

  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const lines = splitLines(readFileSync(join(dir, file)));
    for (let i = 0; i < lines.length; i++) {
      const { bytes, newline } = lines[i]!;
      const line = i + 1;
      const opened = openRecord(bytes.toString('utf8'), key);
      if ('problem' in opened) {
        if (torn) return broken(torn.file, torn.line, 'is not a valid record, and no audit.recovered record follows it');
        if (!newline && f === files.length - 1) {
          return {
            status: 'torn',
            files: files.length,
            records,
            lastSeq: prevSeq,
            problem: { file, line, message: `is torn (${bytes.length} bytes without a newline): a crash while writing; the gateway records it when it next starts` },
            notes,
          };
        }
        torn = { file, line, bytes };
        continue;
      }
      const r = opened.record;
      if (torn) {
        const t = torn;
        torn = undefined;
        const acknowledged =
          r.type === 'audit.recovered' && r.torn_file === t.file && r.torn_line === t.line && r.torn_bytes === t.bytes.length && r.torn_sha256 === lineHash(t.bytes);
        if (!acknowledged) return broken(t.file, t.line, `is not a valid record (${describeProblem(t.bytes, key)}), and the record after it does not recover it`);
        notes.push(`${t.file} line ${t.line}: torn line (${t.bytes.length} bytes, a crash while writing), recovered at line ${line}`);
      }
      if (r.seq > prevSeq + 1) {
        const next = lines[i + 1] && openRecord(lines[i + 1]!.bytes.toString('utf8'), key);
        if (next && 'record' in next && next.record.seq === prevSeq + 1) {
          return broken(file, line, `has seq ${r.seq} before seq ${prevSeq + 1} (line ${line + 1}): records reordered`);
        }
        return broken(file, line, `jumps from seq ${prevSeq} to seq ${r.seq}: ${r.seq - prevSeq - 1} record(s) missing before it (deleted lines or a deleted file)`);
      }
      if (r.seq <= prevSeq) return broken(file, line, `has seq ${r.seq} after seq ${prevSeq}: records reordered or repeated`);
      if (r.prev !== prev) {
        return prevPlace
          ? broken(prevPlace.file, prevPlace.line, `was altered: its SHA-256 does not match the prev of the next record (${file} line ${line})`)
          : broken(file, line, 'is the first record but does not start the chain (records before it are missing)');
      }
      prev = lineHash(bytes);
      prevSeq = r.seq;
      prevPlace = { file, line };
      records++;
      if (head && r.seq === head.seq) hashes.set(r.seq, prev);
    }
  }
  if (torn) return broken(torn.file, torn.line, `is not a valid record (${describeProblem(torn.bytes, key)})`);

  if (head) {
    const last = prevPlace ?? { file: files.at(-1) ?? HEAD_FILE, line: 0 };
    if (key && (head.hmac === undefined || head.hmac !== headHmac(head.seq, head.sha256, key))) {
      return broken(HEAD_FILE, 1, 'has a missing or wrong HMAC');
    }
    if (head.seq > prevSeq) {
      return broken(last.file, last.line, `is the last record (seq ${prevSeq}), but the checkpoint names seq ${head.seq} (${head.file} line ${head.line}): the trail was cut`);
    }
    const seen = hashes.get(head.seq);
    if (seen !== undefined && seen !== head.sha256) {
      return broken(head.file, head.line, `does not match the checkpoint's SHA-256 for seq ${head.seq}: altered`);
    }
  }
  return { status: 'intact', files: files.length, records, lastSeq: prevSeq, notes };
}

/** The lines of a file; the last one has newline: false when the file does not end with one. */
function splitLines(content: Buffer): Array<{ bytes: Buffer; newline: boolean }> {
  const lines: Array<{ bytes: Buffer; newline: boolean }> = [];
  for (let start = 0; start < content.length; ) {
    const end = content.indexOf(0x0a, start);
    if (end < 0) {
      lines.push({ bytes: content.subarray(start), newline: false });
      break;
    }
    lines.push({ bytes: content.subarray(start, end), newline: true });
    start = end + 1;
  }
  return lines;
}

function readHead(dir: string): AuditHead | undefined {
  const path = join(dir, HEAD_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const head = JSON.parse(readFileSync(path, 'utf8')) as AuditHead;
    return Number.isSafeInteger(head.seq) && typeof head.sha256 === 'string' ? head : undefined;
  } catch {
    return undefined;
  }
}

function describeProblem(bytes: Buffer, key?: Buffer): string {
  const opened = openRecord(bytes.toString('utf8'), key);
  return 'problem' in opened ? `it ${opened.problem}` : 'it reads as a record';
}

/** The report as the command line prints it. */
export function formatReport(report: VerifyReport): string {
  const lines = [...report.notes.map((n) => `note: ${n}`)];
  if (report.status === 'intact') {
    lines.push(`OK: ${report.records} record(s) in ${report.files} file(s) chain from seq 1 to ${report.lastSeq}`);
  } else {
    const p = report.problem!;
    lines.push(
      `${report.status === 'torn' ? 'TORN' : 'BROKEN'}: ${p.file} line ${p.line} ${p.message}`,
      `(${report.records} record(s) before it verified, up to seq ${report.lastSeq})`,
    );
  }
  return lines.join('\n');
}
