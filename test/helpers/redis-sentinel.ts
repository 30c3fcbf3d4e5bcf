import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { freeTcpPort } from './ports.js';

/**
 * A private Redis primary with replicas and three sentinels watching it (Debian
 * redis-server and redis-sentinel), on free ports in a temporary directory, keeping
 * nothing on disk. Each sentinel has a config file of its own: sentinels rewrite them.
 * The sentinels declare a primary down after 1 s without an answer.
 */
export interface TestSentinels {
  /** The name the sentinels monitor the primary under. */
  readonly name: string;
  /** The sentinels' addresses, as store.redis.sentinel.sentinels takes them. */
  readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
  /** The ports of the Redis servers (primary and replicas), as started. */
  readonly serverPorts: readonly number[];
  /** The port of the server the sentinels name as primary now. */
  primaryPort(): Promise<number>;
  /**
   * Waits until every sentinel names a primary other than `port`, that primary answers
   * as one, and the sentinels know at least `replicas` of its replicas; returns its port.
   */
  waitForPrimaryOtherThan(port: number, replicas?: number, deadlineMs?: number): Promise<number>;
  /** SIGKILLs the server on `port` by its PID. */
  kill(port: number): void;
  /** SIGSTOPs (true) or SIGCONTs (false) the server on `port`. */
  freeze(port: number, frozen: boolean): void;
  /** Starts a killed server again on its port, empty; the sentinels make it a replica of the primary. */
  restart(port: number): Promise<void>;
  /** Waits until the server on `port` is a replica of the current primary, in sync, and the sentinels list it as such. */
  waitForReplica(port: number, deadlineMs?: number): Promise<void>;
  /** A Redis command to one server or sentinel (its reply as node-redis gives it). */
  ask(port: number, ...args: string[]): Promise<unknown>;
  /** Stops every process and removes the directory. */
  close(): Promise<void>;
}

const NAME = 'eg';
const READY_DEADLINE_MS = 30_000;
/**
 * A restarted server becomes a replica only when a sentinel next looks at it (its INFO every
 * 10 s) and tells it to, then it syncs: 30 s ran out once in CI while the packed-install
 * test compiled better-sqlite3 beside it. A poll that ends as soon as it is in sync: what it
 * waits for is set-up, not what a test asserts.
 */
const REPLICA_DEADLINE_MS = 90_000;
const POLL_MS = 50;

/** A primary, `replicas` replicas of it, and three sentinels that all know them and one another. */
export async function startRedisSentinels(replicas = 1): Promise<TestSentinels> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-sentinel-'));
  const servers = new Map<number, ChildProcess>();
  const sentinelProcs: ChildProcess[] = [];
  const all = () => [...servers.values(), ...sentinelProcs];
  const killAll = () => {
    for (const p of all()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const serverPorts = [await freeTcpPort()];
  for (let i = 0; i < replicas; i++) serverPorts.push(await freeTcpPort());
  const primary = serverPorts[0]!;
  const startServer = async (port: number, replicaOf?: number) => {
    const home = join(dir, `redis-${port}`);
    await mkdir(home, { recursive: true });
    // Diskless replication without its default 5 s delay: a replica (or a killed primary
    // back as one) is in sync at once.
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', home, '--repl-diskless-sync-delay', '0'];
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    servers.set(port, proc);
    await until(`redis-server on ${port} answers`, async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited (${proc.exitCode})`);
      return (await ask(port, 'PING')) === 'PONG';
    });
  };

  try {
    await startServer(primary);
    for (const port of serverPorts.slice(1)) await startServer(port, primary);
    for (const port of serverPorts.slice(1)) await until(`replica ${port} in sync`, async () => /master_link_status:up/.test(String(await ask(port, 'INFO', 'replication'))));

    const sentinelPorts = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
    for (const [i, port] of sentinelPorts.entries()) {
      const home = join(dir, `sentinel-${i + 1}`);
      await mkdir(home);
      const file = join(home, 'sentinel.conf');
      await writeFile(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${home}`,
          `sentinel monitor ${NAME} 127.0.0.1 ${primary} 2`,
          `sentinel down-after-milliseconds ${NAME} 1000`,
          `sentinel failover-timeout ${NAME} 5000`,
          '',
        ].join('\n'),
      );
      sentinelProcs.push(spawn('redis-sentinel', [file], { stdio: 'ignore' }));
    }
    // A failover needs the sentinels to know the replicas (from the primary's INFO) and one another (hello messages).
    await until('the sentinels know the replicas and one another', async () => {
      for (const port of sentinelPorts) {
        if ((await sentinelReplicas(port)).filter((r) => r.flags === 'slave').length < replicas) return false;
        if (((await ask(port, 'SENTINEL', 'SENTINELS', NAME)) as unknown[]).length < 2) return false;
      }
      return true;
    });

    const primaryPort = async () => Number(((await ask(sentinelPorts[0]!, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as string[])[1]);
    const process_ = (port: number) => {
      const p = servers.get(port);
      if (!p?.pid) throw new Error(`no redis-server on ${port}`);
      return p;
    };
    return {
      name: NAME,
      sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
      serverPorts,
      primaryPort,
      async waitForPrimaryOtherThan(port, replicasWanted = 0, deadlineMs = READY_DEADLINE_MS) {
        let found = 0;
        await until(
          `a primary other than ${port}`,
          async () => {
            const named = await Promise.all(sentinelPorts.map(async (s) => Number(((await ask(s, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as string[])[1])));
            if (named.some((p) => p === port || p !== named[0])) return false;
            if (!/role:master/.test(String(await ask(named[0]!, 'INFO', 'replication')))) return false;
            const known = (await sentinelReplicas(sentinelPorts[0]!)).filter((r) => r.flags === 'slave' && r['master-link-status'] === 'ok');
            if (known.length < replicasWanted) return false;
            found = named[0]!;
            return true;
          },
          deadlineMs,
        );
        return found;
      },
      kill(port) {
        process.kill(process_(port).pid!, 'SIGKILL');
      },
      freeze(port, frozen) {
        process.kill(process_(port).pid!, frozen ? 'SIGSTOP' : 'SIGCONT');
      },
      async restart(port) {
        const old = servers.get(port);
        if (old && old.exitCode === null && old.signalCode === null) throw new Error(`redis-server on ${port} is still running`);
        await startServer(port);
      },
      async waitForReplica(port, deadlineMs = REPLICA_DEADLINE_MS) {
        await until(
          `${port} a replica in sync`,
          async () => {
            const info = String(await ask(port, 'INFO', 'replication'));
            if (!/role:slave/.test(info) || !/master_link_status:up/.test(info)) return false;
            const listed = await sentinelReplicas(sentinelPorts[0]!);
            return listed.some((r) => r.port === String(port) && r.flags === 'slave' && r['master-link-status'] === 'ok');
          },
          deadlineMs,
        );
      },
      ask,
      async close() {
        await Promise.all(
          all().map(
            (p) =>
              new Promise<void>((resolve) => {
                if (p.exitCode !== null || p.signalCode !== null) return resolve();
                p.once('exit', () => resolve());
                // A frozen process ignores SIGTERM until it runs again: SIGKILL is delivered anyway.
                p.kill('SIGKILL');
              }),
          ),
        );
        process.removeListener('exit', killAll);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    killAll();
    process.removeListener('exit', killAll);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** One command on a fresh connection (the servers here are short-lived; a client pool would outlive them). */
async function ask(port: number, ...args: string[]): Promise<unknown> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { connectTimeout: 500, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

/** SENTINEL REPLICAS as records (field → value). */
async function sentinelReplicas(port: number): Promise<Array<Record<string, string>>> {
  const rows = (await ask(port, 'SENTINEL', 'REPLICAS', NAME)) as string[][];
  return rows.map((flat) => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!])));
}

/** Polls `check` until it holds, at most `deadlineMs`; an error counts as "not yet" (the last one is reported). */
async function until(what: string, check: () => Promise<boolean>, deadlineMs = READY_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
      if (/exited/.test((err as Error).message)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${deadlineMs / 1000} s${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
