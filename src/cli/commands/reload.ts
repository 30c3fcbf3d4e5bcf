import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditWriter } from '../../audit/audit-log.js';
import { inspectConfig, loadConfig } from '../../config/load.js';
import type { ReloadOutcome } from '../../config/reload.js';


/**
 * Where the gateway leaves what its last reload did, for `enrollgate reload` to read: in
 * the audit directory, beside the lock file that names the gateway's PID (both the
 * gateway's own, mode 0600). Names and messages only, never a value of the config.
 */
const REPORT_FILE = 'reload.json';

/** A reload as the gateway reports it: which process, its how-manieth reload, and what it did. */
export type ReloadReport = ReloadOutcome & { readonly pid: number; readonly number: number; readonly at: string };

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

/** Exit statuses of `enrollgate reload`. */
export const RELOADED = 0;
export const NO_GATEWAY = 1;
export const REFUSED = 2;

/** How long `enrollgate reload` waits for the gateway's report: reading the files and the workers' confirmation take well under a second. */
export const RELOAD_WAIT_MS = 30_000;
const POLL_MS = 50;

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
  const lock = join(dir, 'audit.lock');
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
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    io.error(`cannot signal the gateway (process ${pid}): ${why(err)}`);
    return NO_GATEWAY;
  }
  const isNew = (r: ReloadReport | undefined): r is ReloadReport => r !== undefined && r.pid === pid && (before?.pid !== pid || r.number > before.number);
  const deadline = Date.now() + (io.waitMs ?? RELOAD_WAIT_MS);
  let report = readReloadReport(dir);
  while (!isNew(report)) {
    if (Date.now() > deadline) {
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
