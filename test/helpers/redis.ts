import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { freeTcpPort } from './ports.js';

/** A private redis-server (docs/development.md, "Private peers"), on a free port, keeping nothing on disk. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGTERM, waits for exit); `start()` starts it again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /**
   * Freezes it (SIGSTOP): connections stay open and nothing is answered, a store that
   * hangs, until `thaw()` (SIGCONT). Unlike CLIENT PAUSE, this can be ended at a moment
   * of the test's choosing: Redis 7.0 pauses even a CLIENT UNPAUSE sent during the pause.
   */
  freeze(): void;
  thaw(): void;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

const READY_DEADLINE_MS = 10_000;

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-redis-'));
  const port = await freeTcpPort();
  let child: ChildProcess | undefined;
  const kill = () => child?.kill('SIGKILL');
  process.once('exit', kill);

  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    child = proc;
    const deadline = Date.now() + READY_DEADLINE_MS;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}) before it answered`);
      const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { connectTimeout: 200, reconnectStrategy: false } });
      client.on('error', () => {});
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') {
          await client.quit();
          return;
        }
      } catch {
        // A client whose connection failed may have closed itself already: destroy() would throw.
        if (client.isOpen) client.destroy();
      }
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      // A frozen server acts on SIGTERM once it runs again.
      proc.kill('SIGCONT');
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    async close() {
      await stop();
      process.removeListener('exit', kill);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
