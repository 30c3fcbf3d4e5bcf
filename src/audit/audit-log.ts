/**
 * The audit trail's writer: appends hash-chained records (record.ts) to daily
 * files in one directory. One writer per directory: RADIUS workers send their
 * events to the main process (workers.ts), which owns the chain.
 *
 * Records are queued and written together with one synchronous write(2): at the
 * next turn of the event loop, or for RADIUS and accounting records every 20 ms
 * (BULK_FLUSH_MS), so that thousands of answers a second cost a few system calls. A process killed mid-write can leave a torn last line; at the next
 * start the writer ends it with a newline and appends an audit.recovered record
 * naming it (file, line, length, SHA-256), chained to the last whole record, so
 * the torn line is reported by `audit verify`, never silently accepted.
 *
 * Beside the files, audit-head.json names the last record written: a trail cut at
 * a record boundary ends before its checkpoint, and a change to its last record no
 * longer matches the checkpoint's hash. The checkpoint follows the records within
 * HEAD_INTERVAL_MS (a timer covers the last ones when no further event comes) and
 * at close, never per record. Whoever can write the directory can also roll the
 * checkpoint back; the SIEM copy (syslog.ts) is the defence against that.
 *
 * One writer per directory is enforced with a lock file (audit.lock, the owner's
 * PID and start time; a lock whose process is gone, or whose PID another process has
 * since, is taken over). Other processes (the command
 * line) hand their events to the owner through spool files (spoolAuditEvent),
 * which the owner records and deletes every SPOOL_INTERVAL_MS and when it opens.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../logger.js';
import { GatewayError } from '../errors.js';
import { lockHolder, lockLine } from '../process-identity.js';
import { readCheckpoint, writeCheckpoint, writeCheckpointSync } from './checkpoint.js';
import type { AuditEvent, AuditTrail } from './events.js';
import { AUDIT_FILE, eventMembers, fileFor, GENESIS, headHmac, HEAD_FILE, isSealed, lineHash, openRecord, sealMembers, type AuditHead } from './record.js';

/** Gets each line once it is written (the SIEM forwarder). Must return at once and never throw. */
export type AuditForwarder = (line: string, at: Date) => void;

export interface AuditLogOptions {
  readonly dir: string;
  /** audit.hmac_key, when configured. */
  readonly key?: Buffer;
  readonly clock: Clock;
  readonly log: Logger;
  readonly forward?: AuditForwarder;
}

/**
 * The checkpoint names the last record written at most this long after it was
 * written, even with no further event (docs/audit.md, "What is recorded", promises it).
 */
export const HEAD_INTERVAL_MS = 1000;
/**
 * RADIUS answers and accounting come by the thousand a second, a few per turn of the
 * event loop: written every BULK_FLUSH_MS (or BULK_MAX_RECORDS) they cost one write(2)
 * per batch instead of one per turn (bench:radius: −18 % throughput with a write per
 * turn). A crash can lose that many milliseconds of them; everything else (logins,
 * enrollments, admin actions) is written at the next turn.
 */
export const BULK_FLUSH_MS = 20;
export const BULK_MAX_RECORDS = 512;
/** The queued lines' buffer kept between writes (AuditLog.out): 512 RADIUS records of about 300 bytes, and room to spare. */
const OUT_KEPT_BYTES = 256 * 1024;
const NEWLINE = 0x0a;
const SPOOL_INTERVAL_MS = 2000;
export const LOCK_FILE = 'audit.lock';
const SPOOL_DIR = 'spool';

/** The HMAC key of audit.hmac_key, when one is configured. */
export function auditKey(config: Pick<Config, 'audit'>): Buffer | undefined {
  return config.audit.hmac_key ? Buffer.from(config.audit.hmac_key, 'utf8') : undefined;
}

/** Another live process writes this audit directory. */
export class AuditLockedError extends GatewayError {
  readonly code = 'EG_AUDIT_LOCKED';
  readonly status = 503;
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the audit trail in ${dir} is written by process ${pid} (a running gateway)`);
  }
}

/**
 * Hands an event to the directory's writer: a file in spool/, renamed into place so
 * the writer never reads half of it. The writer stamps it when it records it; the
 * time it happened is kept as requested_at.
 */
export function spoolAuditEvent(dir: string, event: AuditEvent, now: Date = new Date()): string {
  const spool = join(dir, SPOOL_DIR);
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  const name = `${now.getTime()}-${process.pid}-${Math.random().toString(36).slice(2, 10)}.json`;
  writeFileSync(join(spool, `.${name}`), JSON.stringify({ ...event, requested_at: now.toISOString() }), { mode: 0o600 });
  renameSync(join(spool, `.${name}`), join(spool, name));
  return join(spool, name);
}

/**
 * Records events of a process that is not the trail's writer (the command line): spooled
 * for a running gateway, which records them within SPOOL_INTERVAL_MS; without one, this
 * process takes the writer's lock and records them itself. Returns the spool files a
 * running gateway has yet to record (each is gone once it has), none when recorded here.
 */
export async function recordAside(o: Omit<AuditLogOptions, 'forward'>, ...events: AuditEvent[]): Promise<string[]> {
  const spooled = events.map((event) => spoolAuditEvent(o.dir, event, o.clock.now()));
  if (spooled.length === 0) return [];
  try {
    await AuditLog.open(o).close();
    return [];
  } catch (err) {
    if (!(err instanceof AuditLockedError)) throw err;
    return spooled;
  }
}

export class AuditLog implements AuditTrail {
  private seq: number;
  private prev: string;
  private file: string | undefined;
  private fd: number | undefined;
  /** The file `fd` is open on. */
  private openFile: string | undefined;
  private line: number;
  /** The queued lines as text, for the forwarder only (none without one: they would live until the write, past a young-generation GC). */
  private queue: string[] = [];
  /** When each queued record was stamped (the file it goes in). */
  private queueAt: Date[] = [];
  /**
   * The queued lines as they will be written, each followed by its newline: encoded
   * once, as they are queued, and hashed for the chain from these bytes. Joining the
   * lines at each write and encoding them twice (for the hash, then for the file) was
   * a third of what the main process did under RADIUS load (bench:radius profile).
   * Kept between writes; one that grew past OUT_KEPT_BYTES is let go after its write.
   */
  private out = Buffer.allocUnsafe(OUT_KEPT_BYTES);
  private outLength = 0;
  /** Where each queued line's bytes end in `out` (after its newline). */
  private outEnds: number[] = [];
  /** A flush is due at the next turn of the event loop. */
  private scheduled = false;
  /** A flush is due when BULK_FLUSH_MS have passed (RADIUS and accounting records only). */
  private bulkTimer: NodeJS.Timeout | undefined;
  /** The last record in the file (`seq` and `prev` run ahead of it while records are queued). */
  private writtenSeq: number;
  private writtenPrev: string;
  /** The record the checkpoint names (or is being written to name), and when that write began (performance.now()). */
  private headSeq = 0;
  private headWrittenAt = Number.NEGATIVE_INFINITY;
  /** Brings the checkpoint up to the last record HEAD_INTERVAL_MS after the previous checkpoint. */
  private headTimer: NodeJS.Timeout | undefined;
  /** The checkpoint write under way (off the event loop: its fsyncs take milliseconds), and whether another is due after it. */
  private headWrite: Promise<void> | undefined;
  private headAgain = false;
  /** Daily files written since the last checkpoint: fsynced before it. */
  private unsynced = new Set<string>();
  private closed = false;
  private failures = 0;
  private spoolTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly o: AuditLogOptions,
    state: { seq: number; prev: string; file?: string; line: number },
  ) {
    this.seq = state.seq;
    this.prev = state.prev;
    this.writtenSeq = state.seq;
    this.writtenPrev = state.prev;
    this.file = state.file;
    this.line = state.line;
  }

  /** Opens the directory (creating it, 0700), picks up the chain where the last file ends, and recovers a torn last line. */
  static open(o: AuditLogOptions): AuditLog {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    takeLock(o.dir);
    const files = readdirSync(o.dir).filter((f) => AUDIT_FILE.test(f)).sort();
    const state = { seq: 0, prev: GENESIS, line: 0 } as { seq: number; prev: string; file?: string; line: number };
    let torn: { file: string; line: number; bytes: Buffer } | undefined;
    let unsealedTail = false;
    // The chain continues from the newest file that holds a whole record.
    for (let i = files.length - 1; i >= 0; i--) {
      const file = files[i]!;
      const content = readFileSync(join(o.dir, file));
      const end = content.lastIndexOf(0x0a);
      const lines = end < 0 ? 0 : countLines(content, end);
      if (i === files.length - 1 && end < content.length - 1) {
        torn = { file, line: lines + 1, bytes: content.subarray(end + 1) };
      }
      if (end < 0) continue;
      const start = content.lastIndexOf(0x0a, end - 1) + 1;
      const last = content.subarray(start, end);
      let opened = openRecord(last.toString('utf8'), o.key);
      if (o.key && 'problem' in opened && !isSealed(last.toString('utf8'))) {
        // Written before audit.hmac_key was set: sealing starts here (audit.sealed, below).
        opened = openRecord(last.toString('utf8'));
        if ('record' in opened) unsealedTail = true;
      }
      if ('problem' in opened) {
        // Not ours to repair: `audit verify` reports it. Chain on, so nothing after it is lost.
        o.log.error({ event: 'audit.tail_unreadable', file, line: lines, problem: opened.problem }, 'the last audit record does not read back; run enrollgate audit verify');
        state.seq = lines;
      } else {
        state.seq = opened.record.seq;
      }
      state.prev = lineHash(last);
      if (i === files.length - 1) {
        state.file = file;
        state.line = lines + (torn ? 1 : 0);
      }
      break;
    }
    // The checkpoint of a trail written without the key has no HMAC either.
    const mismatch = files.length > 0 ? tailMismatch(readCheckpoint(o.dir), state, unsealedTail ? undefined : o.key) : undefined;
    if (files.length === 0 && !existsSync(join(o.dir, HEAD_FILE))) {
      // A new trail has its checkpoint (seq 0) before its first record, so that a missing
      // checkpoint is never a crash before the first one was written: `audit verify` reports it.
      writeCheckpointSync(o.dir, { seq: 0, sha256: GENESIS, file: fileFor(o.clock.now()), line: 0, ...(o.key ? { hmac: headHmac(0, GENESIS, o.key) } : {}) });
    }
    const audit = new AuditLog(o, state);
    if (mismatch) {
      // The writer is about to replace the checkpoint: record what it found first, chained, so
      // `audit verify` still reports the cut or the change (a restart must not launder it).
      o.log.error({ event: 'audit.mismatch', ...mismatch }, 'the audit trail does not end where its checkpoint says: recorded; run enrollgate audit verify');
      audit.record({ type: 'audit.mismatch', ...mismatch });
    }
    if (torn) {
      // End the torn line, so that the recovery record starts a line of its own.
      audit.appendRaw(torn.file, Buffer.from('\n'));
      o.log.warn({ event: 'audit.torn_line', file: torn.file, line: torn.line, bytes: torn.bytes.length }, 'the audit trail ended in a torn line (a crash while writing); recorded');
      audit.record({ type: 'audit.recovered', torn_file: torn.file, torn_line: torn.line, torn_bytes: torn.bytes.length, torn_sha256: lineHash(torn.bytes) });
      audit.flush();
    }
    if (unsealedTail) {
      // The key's first record: sealed, it chains to (and so vouches for) every unsealed record before it.
      o.log.warn({ event: 'audit.sealed', unsealed_seq: state.seq }, 'audit.hmac_key is new for this trail: records from here on are sealed');
      audit.record({ type: 'audit.sealed', unsealed_seq: state.seq, unsealed_sha256: state.prev });
      audit.flush();
    }
    audit.drainSpool();
    audit.spoolTimer = setInterval(() => audit.drainSpool(), SPOOL_INTERVAL_MS);
    audit.spoolTimer.unref();
    return audit;
  }

  /** Records the events other processes spooled (oldest first) and deletes their files. */
  drainSpool(): void {
    const spool = join(this.o.dir, SPOOL_DIR);
    let names: string[];
    try {
      names = readdirSync(spool).filter((n) => !n.startsWith('.')).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(spool, name);
      try {
        this.record(JSON.parse(readFileSync(path, 'utf8')) as AuditEvent);
        rmSync(path);
      } catch (err) {
        this.o.log.error({ err, event: 'audit.spool_unreadable', file: name }, 'a spooled audit event could not be recorded; left in place');
      }
    }
    this.flush();
  }

  record(event: AuditEvent): void {
    if (this.closed) {
      this.o.log.error({ event: 'audit.after_close', type: event.type }, 'audit event after the trail was closed; not recorded');
      return;
    }
    this.append(eventMembers(event), this.o.clock.now(), isBulk(event));
  }

  /**
   * Records events another process of this gateway (a RADIUS worker) built with
   * eventMembers, oldest first, stamped with one time: when they arrived. `bulk`
   * (RADIUS answers and accounting only) lets them wait for the BULK_FLUSH_MS write.
   */
  recordMembers(members: readonly string[], bulk: boolean): void {
    if (this.closed) {
      this.o.log.error({ event: 'audit.after_close', records: members.length }, 'audit events after the trail was closed; not recorded');
      return;
    }
    const at = this.o.clock.now();
    for (const m of members) this.append(m, at, bulk);
  }

  private append(members: string, at: Date, bulk: boolean): void {
    this.seq += 1;
    const line = sealMembers(members, { seq: this.seq, at, prev: this.prev }, this.o.key);
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a pair of them, 4): room for the line and its newline.
    const start = this.outLength;
    if (start + line.length * 3 + 1 > this.out.length) this.growOut(start + line.length * 3 + 1);
    const end = start + this.out.write(line, start, 'utf8');
    this.prev = lineHash(this.out.subarray(start, end));
    this.out[end] = NEWLINE;
    this.outLength = end + 1;
    this.outEnds.push(this.outLength);
    if (this.o.forward) this.queue.push(line);
    this.queueAt.push(at);
    if (this.scheduled) return;
    if (bulk && this.queueAt.length < BULK_MAX_RECORDS) {
      this.bulkTimer ??= setTimeout(() => this.flush(), BULK_FLUSH_MS);
      return;
    }
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is queued now (normally once per event-loop turn). */
  flush(): void {
    this.scheduled = false;
    if (this.bulkTimer) {
      clearTimeout(this.bulkTimer);
      this.bulkTimer = undefined;
    }
    const queued = this.queueAt.length;
    if (queued === 0) return;
    const lines = this.queue;
    const ats = this.queueAt;
    const ends = this.outEnds;
    this.queue = [];
    this.queueAt = [];
    this.outEnds = [];
    // One write per file: a batch straddles midnight (UTC) only rarely.
    let from = 0;
    while (from < queued) {
      const file = fileFor(ats[from]!);
      const day = utcDay(ats[from]!);
      let to = from + 1;
      while (to < queued && utcDay(ats[to]!) === day) to++;
      if (file !== this.file) {
        this.file = file;
        this.line = 0;
      }
      this.appendRaw(file, this.out.subarray(from === 0 ? 0 : ends[from - 1]!, ends[to - 1]!));
      this.line += to - from;
      from = to;
    }
    // Written: `out` is free again (a forwarder that records an event below queues it from the start).
    this.outLength = 0;
    if (this.out.length > OUT_KEPT_BYTES) this.out = Buffer.allocUnsafe(OUT_KEPT_BYTES);
    this.writtenSeq = this.seq;
    this.writtenPrev = this.prev;
    for (let i = 0; i < lines.length; i++) this.o.forward?.(lines[i]!, ats[i]!);
    this.scheduleHead();
  }

  /** Writes everything queued and the checkpoint, and fsyncs; later events are refused (logged). */
  async close(): Promise<void> {
    if (this.spoolTimer) clearInterval(this.spoolTimer);
    this.drainSpool();
    this.flush();
    this.closed = true;
    this.writeHead();
    while (this.headWrite) await this.headWrite;
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    rmSync(join(this.o.dir, LOCK_FILE), { force: true });
  }

  /**
   * After records were written: the checkpoint follows now if the last one is
   * HEAD_INTERVAL_MS old, else when it will be, by a timer, so that it comes even if
   * no further event does (a burst, then quiet).
   */
  private scheduleHead(): void {
    const wait = this.headWrittenAt + HEAD_INTERVAL_MS - performance.now();
    if (wait <= 0) {
      this.writeHead();
    } else if (this.headTimer === undefined) {
      this.headTimer = setTimeout(() => {
        this.headTimer = undefined;
        // Bulk records waiting for their BULK_FLUSH_MS write go now, and the checkpoint names them.
        this.flush();
        this.writeHead();
      }, wait);
      this.headTimer.unref();
    }
  }

  /** Makes `out` hold at least `bytes`, keeping what is queued in it. */
  private growOut(bytes: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(bytes, 2 * this.out.length));
    this.out.copy(bigger, 0, 0, this.outLength);
    this.out = bigger;
  }

  private appendRaw(file: string, bytes: Buffer): void {
    try {
      if (this.fd === undefined || this.openFile !== file) {
        if (this.fd !== undefined) closeSync(this.fd);
        this.fd = openSync(join(this.o.dir, file), 'a', 0o600);
        this.openFile = file;
      }
      // write(2) may write less than asked (a signal, a disk filling up): the rest follows, or its error.
      for (let done = 0; done < bytes.length; ) {
        const written = writeSync(this.fd, bytes, done, bytes.length - done);
        if (written <= 0) throw new Error(`write(2) wrote nothing of ${bytes.length - done} bytes`);
        done += written;
      }
      this.unsynced.add(file);
      this.failures = 0;
    } catch (err) {
      // A full or read-only disk must not take RADIUS down; the gap shows in `audit verify` (seq jumps).
      if (this.failures++ === 0) this.o.log.error({ err, event: 'audit.write_failed', file }, 'audit records could not be written');
    }
  }

  /** Starts bringing the checkpoint up to the last record written, unless it names it already; one write at a time. */
  private writeHead(): void {
    if (this.headTimer !== undefined) {
      clearTimeout(this.headTimer);
      this.headTimer = undefined;
    }
    if (this.writtenSeq === this.headSeq || this.file === undefined) return;
    if (this.headWrite) {
      this.headAgain = true;
      return;
    }
    const head: AuditHead = {
      seq: this.writtenSeq,
      sha256: this.writtenPrev,
      file: this.file,
      line: this.line,
      ...(this.o.key ? { hmac: headHmac(this.writtenSeq, this.writtenPrev, this.o.key) } : {}),
    };
    const written = [...this.unsynced];
    this.unsynced.clear();
    this.headSeq = head.seq;
    this.headWrittenAt = performance.now();
    this.headWrite = writeCheckpoint(this.o.dir, head, written)
      .catch((err: unknown) => {
        // Written again after the next record, or at close.
        this.headSeq = -1;
        for (const file of written) this.unsynced.add(file);
        this.o.log.error({ err, event: 'audit.head_failed' }, 'the audit checkpoint could not be written');
      })
      .finally(() => {
        this.headWrite = undefined;
        if (this.headAgain) {
          this.headAgain = false;
          this.writeHead();
        }
      });
  }
}

/** Days since the epoch, in UTC: records of the same day go in the same file (fileFor). */
function utcDay(at: Date): number {
  return Math.floor(at.getTime() / 86_400_000);
}

/**
 * RADIUS answers (MAC authentication's and 802.1X's) and accounting: the records that come
 * by the hundred or thousand a second. An 802.1X answer written at once cost a RADIUS worker
 * one IPC message per handshake, about 4 % of its CPU under bench:eap.
 */
export function isBulk(event: AuditEvent): boolean {
  return event.type.startsWith('radius.') || event.type.startsWith('eap.') || event.type.startsWith('accounting.');
}

/**
 * Who writes the audit trail in `dir`, by its lock file: the running gateway of a config,
 * found by the command line. Undefined when there is no lock, or it names no live process
 * (or this one); `reused` when its PID is alive but is no longer the gateway that wrote it
 * (process-identity.ts). Throws what reading the lock file threw otherwise (EACCES: another user's).
 */
export function auditWriter(dir: string): { pid: number; reused: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, LOCK_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const holder = lockHolder(text);
  if (holder.state === 'gone' || holder.pid === process.pid) return undefined;
  return { pid: holder.pid, reused: holder.state === 'reused' };
}

/** Takes the directory's writer lock, or throws AuditLockedError naming the live process that holds it. */
function takeLock(dir: string): void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, lockLine(), { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = lockHolder(readFileSync(path, 'utf8'));
    if (holder.state === 'running' && holder.pid !== process.pid) throw new AuditLockedError(dir, holder.pid);
    // Left by a process that is gone (killed, crashed, its PID maybe another's since), or by this one: take it over.
    rmSync(path, { force: true });
  }
  throw new AuditLockedError(dir, 0);
}

/** Lines up to and including the newline at `end`. */
function countLines(content: Buffer, end: number): number {
  let n = 0;
  for (let i = content.indexOf(0x0a); i >= 0 && i <= end; i = content.indexOf(0x0a, i + 1)) n++;
  return n;
}

/**
 * Whether the trail's last whole record (seq, SHA-256 of its line) is where the checkpoint
 * says the trail ended, or after it (records written after the last checkpoint, by a writer
 * that did not close). Anything else at start is a cut, a change, or a checkpoint that is
 * gone or forged. A checkpoint behind the last record is not checked against the record it
 * names here (that needs a scan); `audit verify` checks it.
 */
function tailMismatch(
  checkpoint: ReturnType<typeof readCheckpoint>,
  last: { seq: number; prev: string },
  key: Buffer | undefined,
): Omit<Extract<AuditEvent, { type: 'audit.mismatch' }>, 'type'> | undefined {
  const found = { last_seq: last.seq, last_sha256: last.prev };
  if ('missing' in checkpoint) return { problem: 'the checkpoint is missing', ...found };
  if ('problem' in checkpoint) return { problem: `the checkpoint ${checkpoint.problem}`, ...found };
  const head = checkpoint.head;
  const named = { checkpoint_seq: head.seq, checkpoint_sha256: head.sha256 };
  if (key && (head.hmac === undefined || head.hmac !== headHmac(head.seq, head.sha256, key))) return { problem: 'the checkpoint has a missing or wrong HMAC', ...found, ...named };
  if (head.seq > last.seq) return { problem: 'the trail ends before the record the checkpoint names: records were cut', ...found, ...named };
  if (head.seq === last.seq && head.sha256 !== last.prev) return { problem: "the last record does not match the checkpoint's SHA-256: altered", ...found, ...named };
  return undefined;
}
