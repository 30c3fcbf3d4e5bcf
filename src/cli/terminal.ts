import { closeSync, constants, openSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * The terminal a gateway was started from. SIGHUP means "reload" for a daemon (systemctl
 * reload, `enrollgate reload`), but it is also what the kernel sends when the terminal a
 * program runs in is closed (its window, an SSH session that ended); a gateway started by
 * hand must then stop, as any program started there does, not reload and run on unseen.
 */

/**
 * Whether this process still has its controlling terminal: /dev/tty opens. When the terminal
 * is closed the kernel hangs it up and takes it from every process of its session before the
 * SIGHUP arrives; /dev/tty then fails (ENXIO), as it always does under systemd.
 */
export function hasTerminal(): boolean {
  try {
    closeSync(openSync('/dev/tty', constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the gateway runs attached to a terminal: its input or output is one, and it is its
 * controlling terminal's. `nohup` (its output sent to a file, its input from /dev/null) and
 * systemd are not; there, a SIGHUP is a reload only.
 */
export function startedOnTerminal(): boolean {
  return (process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY) === true && hasTerminal();
}

/**
 * Writing to a terminal that was closed fails (EIO), and to a pipe or socket whose reader is
 * gone (a log collector that died, `| tee` killed) with EPIPE: what was written has nowhere to
 * go, and must not crash the gateway, which would then stop without closing its audit trail.
 * Any other write error is thrown, as before.
 */
export function survivingHangup(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EIO' && err.code !== 'EPIPE') throw err;
    });
  }
}

/** The standard streams (0, 1, 2) that were terminals when the process started. */
const terminalsAtStart = [0, 1, 2].filter((fd) => isatty(fd));

/**
 * Ends the process with `code`; but by SIGHUP when a terminal among its standard streams was
 * hung up since it started (closed, or its session ended): no longer a terminal (isatty asks it
 * for its settings, which fails). Node 20's exit restores the settings of each standard stream
 * that was a terminal, gets EIO from a hung-up one and aborts (SIGABRT, and a core dump of the
 * process's memory, secrets and all, where core dumps are on; nodejs/node#51519). A signal's
 * default action ends the process without running that exit; SIGHUP is the one a process whose
 * terminal went away ends by, and its shell, if it has one still, reports it as such (129).
 */
export function exitProcess(code: number): never {
  if (terminalsAtStart.some((fd) => !isatty(fd))) {
    // Our listeners removed, SIGHUP has its default action again, which ends the process before kill() returns.
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
  return process.exit(code);
}
