import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tell, workerExecArgv, type WorkerMessage } from '../../../src/radius/workers.js';

/** A real child process with an IPC channel, as cluster forks a worker, running `code`. */
function child(code: string): ChildProcess {
  return spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

const asWorker = (c: ChildProcess) => ({ send: c.send.bind(c) as never, process: c as never });

function recordingLog() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, debug: (o: Record<string, unknown>) => void lines.push(o) } as { lines: typeof lines; debug: never };
}

/**
 * tell(): a worker whose channel has closed (killed with its siblings, not yet seen to
 * exit) made Node raise an 'error' event in the main process, which ended the gateway.
 */
describe('tell', () => {
  const message: WorkerMessage = { type: 'eg:started' };

  it('hands a message to a worker that runs', async () => {
    const c = child("process.once('message', (m) => { process.send(m); process.disconnect(); })");
    const failed: unknown[] = [];
    tell(asWorker(c), message, recordingLog() as never, () => failed.push(1));
    const [echoed] = await once(c, 'message');
    expect(echoed).toEqual(message);
    await once(c, 'exit');
    expect(failed).toEqual([]);
  });

  it('logs, and calls failed, for a worker whose channel has closed: no error event ends the gateway', async () => {
    const c = child("process.disconnect()");
    await once(c, 'exit');
    expect(c.connected).toBe(false);
    const log = recordingLog();
    const failed = new Promise<void>((resolve) => tell(asWorker(c), message, log as never, resolve));
    await failed;
    expect(log.lines).toEqual([expect.objectContaining({ event: 'radius.worker_unreachable', pid: c.pid, message: 'eg:started' })]);
  });

  it('does not raise either for a worker dead before the main process has seen its channel close (EPIPE)', async () => {
    // Once the worker is a zombie, a write to its channel fails at once with EPIPE about half
    // the time (the rest, Node queues it and drops it without an error): try until one has.
    const seen: string[] = [];
    for (let attempt = 0; attempt < 40 && !seen.includes('EPIPE'); attempt++) {
      const c = child("process.send('up'); setInterval(() => {}, 1000)");
      await once(c, 'message');
      const errorEvents: unknown[] = [];
      c.on('error', (err) => errorEvents.push(err));
      const exited = once(c, 'exit');
      c.kill('SIGKILL');
      // Without giving the event loop a turn (so the channel is not seen closed): until the kernel has made it a zombie.
      const deadline = Date.now() + 30_000;
      while (!/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${c.pid}/stat`, 'utf8'))) if (Date.now() > deadline) throw new Error('the worker did not die');
      expect(c.connected).toBe(true);
      const log = recordingLog();
      tell(asWorker(c), message, log as never, () => seen.push(String((log.lines[0]?.err as NodeJS.ErrnoException | undefined)?.code)));
      await exited;
      expect(errorEvents).toEqual([]);
    }
    expect(seen).toContain('EPIPE');
  });
});

/** RADIUS workers start with the gateway's OpenSSL settings unless an OpenSSL configuration was chosen for the gateway. */
describe('workerExecArgv', () => {
  const settings = new URL('../../../deploy/openssl.cnf', import.meta.url).pathname;

  it('adds deploy/openssl.cnf to the gateway\'s own options', () => {
    expect(workerExecArgv(['--enable-source-maps'], {}, settings)).toEqual(['--enable-source-maps', `--openssl-config=${settings}`]);
  });

  it('leaves an OpenSSL configuration the gateway was started with to decide', () => {
    expect(workerExecArgv(['--openssl-config=/etc/ssl/mine.cnf'], {}, settings)).toEqual(['--openssl-config=/etc/ssl/mine.cnf']);
    expect(workerExecArgv(['--openssl-shared-config'], {}, settings)).toEqual(['--openssl-shared-config']);
    expect(workerExecArgv([], { NODE_OPTIONS: '--max-old-space-size=512 --openssl-config=/etc/ssl/mine.cnf' }, settings)).toEqual([]);
    expect(workerExecArgv([], { OPENSSL_CONF: '/etc/ssl/mine.cnf' }, settings)).toEqual([]);
  });

  it('starts the workers without it when the file is missing (a package without deploy/), rather than not at all', () => {
    expect(workerExecArgv([], {}, '/nonexistent/openssl.cnf')).toEqual([]);
  });

  it('ships a file that asks for one TLS 1.3 session ticket, in the section Node reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(settings, 'utf8');
    expect(text).toMatch(/^nodejs_conf = (\S+)$/m);
    expect(text).toMatch(/^NumTickets = 1$/m);
  });
});
