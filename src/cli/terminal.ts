import { closeSync, constants, openSync } from 'node:fs';

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
