import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Telling the process that wrote a lock file from a later one given the same PID. A gateway
 * that crashed leaves its lock behind, and the kernel hands its PID to the next process that
 * needs one: checking that the PID is alive is not enough to know the gateway still runs.
 *
 * On Linux the lock also holds the process's start time, field 22 of /proc/<pid>/stat (clock
 * ticks since boot, proc(5)), and the boot's id (/proc/sys/kernel/random/boot_id, new at
 * each boot, when the ticks start again): a PID alive with another start time, or after
 * another boot, is another process. A lock without them (written by an earlier version, or
 * on a system without /proc) names the gateway only if its PID runs node. Where /proc
 * cannot be read at all, a live PID is taken at its word, as before.
 */

/** Who the PID of a lock file is now. */
export type LockHolder =
  /** The process that wrote the lock. */
  | { readonly state: 'running'; readonly pid: number }
  /** No process has the PID (or the file names none). */
  | { readonly state: 'gone'; readonly pid?: number }
  /** A live process that is not the one that wrote the lock: its PID was given to another. */
  | { readonly state: 'reused'; readonly pid: number };

let bootId: string | undefined | null = null;

function thisBoot(): string | undefined {
  if (bootId === null) bootId = readProc('/proc/sys/kernel/random/boot_id')?.trim();
  return bootId;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** When `pid` started, as `<ticks since boot>@<boot id>`; undefined without /proc (or when the PID is gone). */
export function processStart(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  const boot = thisBoot();
  if (stat === undefined || boot === undefined) return undefined;
  // Field 2 is the command name in parentheses, which may itself hold spaces and ")": count from the last ")".
  const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  return ticks !== undefined && /^\d+$/.test(ticks) ? `${ticks}@${boot}` : undefined;
}

/** What this process writes into a lock file it takes: its PID, then its start time where it is known. */
export function lockLine(pid = process.pid): string {
  const started = processStart(pid);
  return started === undefined ? `${pid}\n` : `${pid} ${started}\n`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` runs node, by its command line; undefined when that cannot be read. */
function runsNode(pid: number): boolean | undefined {
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  if (cmdline === undefined) return undefined;
  const program = basename(cmdline.split('\0')[0] ?? '');
  return program === basename(process.execPath) || /^node(js)?(\d+)?$/.test(program);
}

/** Who the lock file whose text is `text` names now (lockLine wrote it). */
export function lockHolder(text: string): LockHolder {
  const [pidText, started] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return { state: 'gone' };
  if (!isAlive(pid)) return { state: 'gone', pid };
  const now = processStart(pid);
  if (started !== undefined) {
    // Unreadable here (no /proc, or another user's hidden by hidepid): a live PID is taken at its word.
    if (now === undefined || now === started) return { state: 'running', pid };
    return { state: 'reused', pid };
  }
  return runsNode(pid) === false ? { state: 'reused', pid } : { state: 'running', pid };
}
