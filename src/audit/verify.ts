/**
 * `enrollgate audit verify`: walks every daily file of an audit directory in order
 * and checks the chain (record.ts) record by record. It stops at the first break
 * and names it by file and line: a record altered (the next record's `prev` does
 * not match it, or its HMAC is wrong), records deleted (a jump in `seq`), records
 * reordered (`seq` going back), a line that is not a record, and a trail that ends
 * before its checkpoint (cut at a record boundary) or whose last record differs
 * from it. A torn line followed by the writer's audit.recovered record naming it
 * (same file, line, length and SHA-256) is a crash, reported as a note; a torn last
 * line not yet recovered is reported as such, with its own status.
 *
 * The checkpoint is what covers the end of the trail, so a missing or unreadable
 * one is a break: whoever cuts the trail can delete it too. The writer creates it
 * before the first record (audit-log.ts), so no crash leaves a trail without one.
 * A directory that does not exist or holds no trail is reported as missing, never
 * as an intact trail of 0 records (a wrong path, or a trail deleted whole).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint } from './checkpoint.js';
import { AUDIT_FILE, GENESIS, headHmac, HEAD_FILE, isSealed, lineHash, openRecord } from './record.js';

export interface VerifyReport {
  /**
   * intact: every record chains up to the checkpoint; torn: intact up to a torn last line (a crash,
   * not yet restarted); broken: tampered or lost records, or no checkpoint; missing: no trail at all.
   */
  readonly status: 'intact' | 'torn' | 'broken' | 'missing';
  readonly files: number;
  readonly records: number;
  readonly lastSeq: number;
  /** The first record's seq when records before it were pruned (audit.pruned); 1 otherwise. */
  readonly firstSeq?: number;
  /** The first break: where (a file, with a line when it is one of the trail's) and what. */
  readonly problem?: { readonly file: string; readonly line?: number; readonly message: string };
  /** Torn lines the writer recovered from (each a crash while writing). */
  readonly notes: readonly string[];
}

interface Place {
  file: string;
  line: number;
}

/** Checks a whole audit directory; `key` is audit.hmac_key when one is configured. */
export function verifyAuditDir(dir: string, key?: Buffer): VerifyReport {
  if (!existsSync(dir)) return { status: 'missing', files: 0, records: 0, lastSeq: 0, problem: { file: dir, message: 'does not exist' }, notes: [] };
  // The checkpoint before the files: it names a record already written, so a running writer
  // cannot make it name one in a file not yet listed.
  const checkpoint = readCheckpoint(dir);
  const files = readdirSync(dir).filter((f) => AUDIT_FILE.test(f)).sort();
  if (files.length === 0 && ('missing' in checkpoint || ('head' in checkpoint && checkpoint.head.seq === 0))) {
    return { status: 'missing', files: 0, records: 0, lastSeq: 0, problem: { file: dir, message: 'holds no audit trail (no audit-YYYY-MM-DD.jsonl file)' }, notes: [] };
  }
  const head = 'head' in checkpoint ? checkpoint.head : undefined;
  const notes: string[] = [];
  let prev = GENESIS;
  let prevSeq = 0;
  let prevPlace: Place | undefined;
  let records = 0;
  let torn: (Place & { bytes: Buffer }) | undefined;
  /** The first record without an HMAC (the key configured) since the last audit.sealed record: one must follow it. */
  /** Where the trail starts when not at seq 1, and whether an audit.pruned record accounts for the records before it. */
  let start: (Place & { seq: number; sha256: string; problem: string; cut?: boolean }) | undefined;
  let unsealedSince: (Place & { seq: number; before: number }) | undefined;
  const hashes = new Map<number, string>();
  const broken = (file: string, line: number | undefined, message: string): VerifyReport => ({
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
      const text = bytes.toString('utf8');
      let opened = openRecord(text, key);
      let unsealed = false;
      if (key && 'problem' in opened && !isSealed(text)) {
        // Written before audit.hmac_key was set: accepted while an audit.sealed record follows it.
        const plain = openRecord(text);
        if ('record' in plain) {
          opened = plain;
          unsealed = true;
        }
      }
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
      if (!prevPlace && (r.seq !== 1 || r.prev !== GENESIS)) {
        // The trail does not start at seq 1: records before it were pruned, which a later
        // audit.pruned record must say (naming the record this one chains to), or they are missing.
        const next = r.seq > 1 && lines[i + 1] && openRecord(lines[i + 1]!.bytes.toString('utf8'), key);
        if (next && 'record' in next && next.record.seq === 1) return broken(file, line, `has seq ${r.seq} before seq 1 (line ${line + 1}): records reordered`);
        const problem =
          r.seq > 1
            ? `jumps from seq 0 to seq ${r.seq}: ${r.seq - 1} record(s) missing before it (deleted lines or a deleted file)`
            : 'is the first record but does not start the chain (records before it are missing)';
        start = { file, line, seq: r.seq - 1, sha256: r.prev, problem };
        prevSeq = r.seq - 1;
        prev = r.prev;
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
      if (r.type === 'audit.mismatch') {
        // The writer found the trail at rest not ending where its checkpoint said, before it replaced the checkpoint.
        return broken(file, line, `records what the gateway found when it started: ${String(r.problem)} (the trail's last record was seq ${String(r.last_seq)}${r.checkpoint_seq !== undefined ? `, the checkpoint named seq ${String(r.checkpoint_seq)}` : ''})`);
      }
      if (unsealed) unsealedSince ??= { file, line, seq: r.seq, before: records };
      if (r.type === 'audit.pruned' && start && !start.cut && !unsealed && r.last_seq === start.seq && r.last_sha256 === start.sha256) {
        start.cut = true;
        const names = r.files as string[];
        notes.push(
          `${file} line ${line}: seq ${String(r.first_seq)} to ${String(r.last_seq)} were pruned (${names.length} file(s), ${names[0]} to ${names.at(-1)}) to ${String(r.archive)}; the trail here starts at seq ${start.seq + 1} (${start.file} line ${start.line})`,
        );
      }
      if (r.type === 'audit.sealed') {
        if (r.unsealed_seq !== prevSeq || r.unsealed_sha256 !== prev) {
          return broken(file, line, `says sealing started after seq ${String(r.unsealed_seq)}, but it follows seq ${prevSeq}`);
        }
        if (!key) {
          notes.push(`${file} line ${line}: audit.hmac_key was set on this trail at seq ${r.seq}; its HMACs are checked only with the key (--config)`);
        } else if (!unsealed) {
          const from = unsealedSince ? `seq ${unsealedSince.seq} to ${prevSeq} were written without audit.hmac_key` : 'no record before it lacks an HMAC';
          notes.push(`${file} line ${line}: sealing started at seq ${r.seq}: ${from}, and its HMAC covers them through the chain`);
          unsealedSince = undefined;
        }
      }
      prev = lineHash(bytes);
      prevSeq = r.seq;
      prevPlace = { file, line };
      records++;
      if (r.seq === head?.seq) hashes.set(r.seq, prev);
    }
  }
  if (torn) return broken(torn.file, torn.line, `is not a valid record (${describeProblem(torn.bytes, key)})`);
  if (start && !start.cut) return { ...broken(start.file, start.line, start.problem), records: 0, lastSeq: 0 };
  if (unsealedSince) {
    return {
      ...broken(
        unsealedSince.file,
        unsealedSince.line,
        'has no HMAC: audit.hmac_key is configured, but no audit.sealed record after it says sealing started (the gateway records one when it next starts with the key)',
      ),
      records: unsealedSince.before,
      lastSeq: unsealedSince.seq - 1,
    };
  }

  if (!head) {
    return 'problem' in checkpoint
      ? broken(HEAD_FILE, undefined, `is not a checkpoint: it ${checkpoint.problem}`)
      : broken(HEAD_FILE, undefined, `is missing: nothing shows where the trail ended, so records cut from its end would go unnoticed (the last one here is seq ${prevSeq})`);
  }
  if (key && (head.hmac === undefined || head.hmac !== headHmac(head.seq, head.sha256, key))) {
    return broken(HEAD_FILE, undefined, 'has a missing or wrong HMAC');
  }
  if (head.seq > prevSeq) {
    const cut = `the checkpoint names seq ${head.seq} (${head.file} line ${head.line}): the trail was cut`;
    return prevPlace ? broken(prevPlace.file, prevPlace.line, `is the last record (seq ${prevSeq}), but ${cut}`) : broken(dir, undefined, `holds no record, but ${cut}`);
  }
  const seen = hashes.get(head.seq);
  if (seen !== undefined && seen !== head.sha256) {
    return broken(head.file, head.line, `does not match the checkpoint's SHA-256 for seq ${head.seq}: altered`);
  }
  if (head.seq < prevSeq) {
    notes.push(`${prevSeq - head.seq} record(s) after the checkpoint (seq ${head.seq}) are not yet covered by it: a running gateway covers them within a second; one that stopped without closing never does`);
  }
  return { status: 'intact', files: files.length, records, lastSeq: prevSeq, ...(start ? { firstSeq: start.seq + 1 } : {}), notes };
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

function describeProblem(bytes: Buffer, key?: Buffer): string {
  const opened = openRecord(bytes.toString('utf8'), key);
  return 'problem' in opened ? `it ${opened.problem}` : 'it reads as a record';
}

/** The report as the command line prints it. */
export function formatReport(report: VerifyReport): string {
  const lines = [...report.notes.map((n) => `note: ${n}`)];
  const p = report.problem;
  if (report.status === 'intact') {
    lines.push(`OK: ${report.records} record(s) in ${report.files} file(s) chain from seq ${report.firstSeq ?? 1} to ${report.lastSeq}`);
  } else if (report.status === 'missing') {
    lines.push(`MISSING: ${p!.file} ${p!.message}`);
  } else {
    lines.push(
      `${report.status === 'torn' ? 'TORN' : 'BROKEN'}: ${p!.file}${p!.line === undefined ? '' : ` line ${p!.line}`} ${p!.message}`,
      `(${report.records} record(s) before it verified, up to seq ${report.lastSeq})`,
    );
  }
  return lines.join('\n');
}
