import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditWriter, LOCK_FILE } from '../../audit/audit-log.js';
import { inspectConfig, loadConfig } from '../../config/load.js';
import type { ReloadOutcome } from '../../config/reload.js';


/**
 * Where the gateway leaves what its last reload did, for `enrollgate reload` to read: in
 * the audit directory, beside the lock file that names the gateway's PID (both the
 * gateway's own, mode 0600). Names and messages only, never a value of the config.
 */
const REPORT_FILE = 'reload.json';

/**
 * A reload as the gateway reports it: which process, its how-manieth reload, what it did, and
 * the requests (their nonces) of the `enrollgate reload` commands it answers.
 */
export type ReloadReport = ReloadOutcome & { readonly pid: number; readonly number: number; readonly at: string; readonly requests?: readonly string[] };

/** In the gateway: writes the report of a reload (whole, by rename: the command line never reads half of it). */
export function writeReloadReport(auditDir: string, report: ReloadReport): void {
  const path = join(auditDir, REPORT_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(report), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

function readReloadReport(auditDir: string): ReloadReport | undefined {
  try {
    return JSON.parse(readFileSync(join(auditDir, REPORT_FILE), 'utf8')) as ReloadReport;
  } catch {
    return undefined; // none yet (or, at worst, unreadable: then the wait below says so)
  }
}

/**
 * What `enrollgate reload` leaves in the audit directory before it sends SIGHUP, for the
 * gateway to tell its signal from a terminal's hangup. A gateway started in a terminal stops at
 * a SIGHUP when that terminal is gone; but one that outlived its terminal (a background job left
 * running when its shell or SSH session ended) lost it without being sent anything, and would
 * take the next reload's SIGHUP for the terminal closing. One request at a time: the file is
 * created whole and only where there is none (a link to a finished file), mode 0644.
 */
const REQUEST_FILE = 'reload-request';

/** A reload request: the command's PID, a random nonce that its answer names, and when it was made. */
export type ReloadRequest = { readonly pid: number; readonly nonce: string; readonly at: string };

/** A request found by the gateway: answered (fresh), or dropped (too old, or unreadable), and why. */
export type FoundRequest = { readonly request: ReloadRequest } | { readonly dropped: string };

/** Exit statuses of `enrollgate reload`. */
export const RELOADED = 0;
export const NO_GATEWAY = 1;
export const REFUSED = 2;

/** How long `enrollgate reload` waits for the gateway's report: reading the files and the workers' confirmation take well under a second. */
export const RELOAD_WAIT_MS = 30_000;
const POLL_MS = 50;

/**
 * How old a request may be and still be answered: as long as the command that made it waits.
 * Older, its command has given up (or crashed and left it): it must not make a terminal's real
 * hangup a reload.
 */
export const REQUEST_FRESH_MS = RELOAD_WAIT_MS;

/** Whether a request made at `at` is one to answer at `now`: not older than REQUEST_FRESH_MS (nor from further ahead, the clock set back). */
const isFresh = (at: string, now: number) => Math.abs(now - Date.parse(at)) <= REQUEST_FRESH_MS;

function readRequest(path: string): ReloadRequest | undefined {
  const r = JSON.parse(readFileSync(path, 'utf8')) as Partial<ReloadRequest>;
  const valid = typeof r.pid === 'number' && typeof r.nonce === 'string' && typeof r.at === 'string' && !Number.isNaN(Date.parse(r.at));
  return valid ? (r as ReloadRequest) : undefined;
}

const removed = (path: string): void => {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
};

/**
 * In the gateway, at a SIGHUP: the request of an `enrollgate reload`, taken (the file removed)
 * so that it answers one signal only; undefined when there is none. One too old or unreadable
 * is removed too, and said why.
 */
export function takeReloadRequest(auditDir: string, now = Date.now()): FoundRequest | undefined {
  const path = join(auditDir, REQUEST_FILE);
  let request: ReloadRequest | undefined;
  let why = '';
  try {
    request = readRequest(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code !== undefined) why = ` (${code})`;
  }
  removed(path);
  if (request === undefined) return { dropped: `${path} could not be read as a reload request${why}` };
  if (!isFresh(request.at, now)) return { dropped: `${path} (process ${request.pid}, ${request.at}) was more than ${REQUEST_FRESH_MS / 1000} s old` };
  return { request };
}

/**
 * In `enrollgate reload`: leaves its request. Another command's request still there is waited
 * for (the gateway takes it at its signal) until `deadline`; one too old or unreadable is removed.
 * Returns the nonce, or undefined when the other request stayed until the deadline.
 */
export async function leaveReloadRequest(auditDir: string, deadline: number): Promise<string | undefined> {
  const path = join(auditDir, REQUEST_FILE);
  const nonce = randomBytes(16).toString('hex');
  const draft = `${path}.${nonce}.tmp`;
  // Readable by all (it holds no secret; the audit directory keeps others out): `sudo enrollgate
  // reload` writes it as root, and the gateway, running as its own user, must read it.
  writeFileSync(draft, JSON.stringify({ pid: process.pid, nonce, at: new Date().toISOString() }), { mode: 0o644, flag: 'wx' });
  // The mode above is cut by the caller's umask (027 or 077 on a hardened root): set it whole.
  chmodSync(draft, 0o644);
  try {
    for (;;) {
      try {
        linkSync(draft, path);
        return nonce;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let other: ReloadRequest | undefined;
      try {
        other = readRequest(path);
      } catch {
        // taken meanwhile (or unreadable: removed below)
      }
      if (other === undefined || !isFresh(other.at, Date.now())) removed(path);
      else if (Date.now() > deadline) return undefined;
      else await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    removed(draft);
  }
}

/** In `enrollgate reload`, when no answer came: removes its request if the gateway did not take it. */
function withdrawReloadRequest(auditDir: string, nonce: string): void {
  const path = join(auditDir, REQUEST_FILE);
  try {
    if (readRequest(path)?.nonce === nonce) unlinkSync(path);
  } catch {
    // taken, or another's
  }
}

const why = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied: run it as the gateway\'s user or root, or use `systemctl reload enrollgate`' : (code ?? (err as Error).message);
};

/**
 * The audit directory of the gateway running on `file`, where its lock file names it. From
 * the file as it is now: a file the gateway will refuse still names it, unless its audit
 * section or its YAML is what is wrong (then undefined: the gateway cannot be found).
 */
export function gatewayAuditDir(file: string): { dir?: string; problem?: string } {
  try {
    return { dir: loadConfig(file).audit.dir };
  } catch (err) {
    const problem = (err as Error).message;
    try {
      const inspected = inspectConfig(file);
      const checked = inspected.checked === 'all' || inspected.checked.has('audit');
      return checked && inspected.config ? { dir: inspected.config.audit.dir, problem } : { problem };
    } catch {
      return { problem };
    }
  }
}

/**
 * `enrollgate reload`: finds the gateway running on `configFile` (the live PID in the lock
 * file of its audit directory, still the process that wrote it), sends it SIGHUP and waits
 * for its report of that reload. Returns the exit status: RELOADED, REFUSED (the gateway
 * keeps its config) or NO_GATEWAY (none runs, its PID is another process's now, it cannot
 * be signalled, or it did not answer).
 */
export async function reloadCommand(
  target: { configFile: string; auditDir: string },
  io: { print: (line: string) => void; error: (line: string) => void; waitMs?: number },
): Promise<number> {
  const dir = target.auditDir;
  const lock = join(dir, LOCK_FILE);
  let writer: ReturnType<typeof auditWriter>;
  try {
    writer = auditWriter(dir);
  } catch (err) {
    io.error(`cannot tell whether a gateway runs on ${target.configFile}: ${lock}: ${why(err)}`);
    return NO_GATEWAY;
  }
  const start = `start it with \`enrollgate start --config ${target.configFile}\` or \`systemctl start enrollgate\``;
  if (writer === undefined) {
    io.error(`no gateway runs on ${target.configFile} (no live process holds ${lock}); ${start}`);
    return NO_GATEWAY;
  }
  const pid = writer.pid;
  // A gateway that crashed left its lock, and its PID went to another process: never signal that one.
  if (writer.reused) {
    io.error(`the gateway that wrote ${lock} (pid ${pid}) is no longer running; pid ${pid} is now another process, which was not signalled; ${start}`);
    return NO_GATEWAY;
  }
  const before = readReloadReport(dir);
  const deadline = Date.now() + (io.waitMs ?? RELOAD_WAIT_MS);
  let nonce: string | undefined;
  try {
    nonce = await leaveReloadRequest(dir, deadline);
  } catch (err) {
    io.error(`cannot leave the reload request for the gateway (process ${pid}) in ${dir}: ${why(err)}`);
    return NO_GATEWAY;
  }
  if (nonce === undefined) {
    io.error(`another \`enrollgate reload\` of the gateway (process ${pid}) was not answered within ${(io.waitMs ?? RELOAD_WAIT_MS) / 1000} s; its log says why`);
    return NO_GATEWAY;
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    withdrawReloadRequest(dir, nonce);
    io.error(`cannot signal the gateway (process ${pid}): ${why(err)}`);
    return NO_GATEWAY;
  }
  // A gateway started before reports named their requests counts its reloads only.
  const answers = (r: ReloadReport | undefined): r is ReloadReport =>
    r !== undefined && r.pid === pid && (r.requests === undefined ? before?.pid !== pid || r.number > before.number : r.requests.includes(nonce));
  let report = readReloadReport(dir);
  while (!answers(report)) {
    if (Date.now() > deadline) {
      withdrawReloadRequest(dir, nonce);
      io.error(`the gateway (process ${pid}) did not report a reload within ${(io.waitMs ?? RELOAD_WAIT_MS) / 1000} s; its log says why`);
      return NO_GATEWAY;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    report = readReloadReport(dir);
  }
  // The gateway reads the file it was started with: say so when that is not the one named here.
  if (report.file !== target.configFile) io.error(`note: the gateway (process ${pid}) runs on ${report.file}, not ${target.configFile}; it read its own`);
  if (!report.ok) {
    io.error(`config not reloaded; the gateway (process ${pid}) runs on as before: ${report.message}`);
    return REFUSED;
  }
  io.print(`${report.file} reloaded (process ${pid}, sha256 ${report.sha256}): ${report.message}`);
  return RELOADED;
}
