import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initOnFreePorts, type GatewayPorts } from '../../helpers/gateway.js';
import { answers, RawNas } from '../../helpers/raw-nas.js';
import { cliEntry } from '../../helpers/source.js';
import { macAuthRequest } from '../../unit/radius/radius-bytes.js';

/**
 * "Ready" means RADIUS answers: a router that fails over to a gateway the instant its
 * health check turns green must not lose its first request. The gateway runs as people
 * run it (the CLI in its own process, with RADIUS workers, as init writes them), and the
 * requests go out the moment each readiness signal turns true: /healthz, /readyz, and
 * the "enrollgate started" log line. Each request is sent once, as a router's first try.
 */


/** How long a first request may wait for its answer: generous for a slow machine (answers take milliseconds). */
const ANSWER_WITHIN_MS = 10_000;
/** How long one start may take to be ready (workers load the code and open the store). */
const START_WITHIN_MS = 40_000;
/** Requests sent at once when a signal turns true: more than the workers, so each is likely to get some. */
const BURST = 8;

type Signal = 'healthz' | 'readyz' | 'log';

let dir: string;
let configFile: string;
let secret: string;
let ports: GatewayPorts;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-readiness-'));
  // Two authentication workers and the accounting one, whatever this machine's core count.
  ({ configFile, ports, secret } = await initOnFreePorts(dir, (doc) => void (doc.radius.workers = 2)));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Resolves when `signal` first turns true for the gateway `child`, polling the HTTP endpoints without pause. */
function whenReady(child: ChildProcess, signal: Signal): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + START_WITHIN_MS;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve();
    };
    child.once('exit', (code) => finish(new Error(`the gateway exited (${code}) before it was ready`)));
    if (signal === 'log') {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('"msg":"enrollgate started"')) finish();
      });
      setTimeout(() => finish(new Error('no "enrollgate started" line')), START_WITHIN_MS).unref();
      return;
    }
    const poll = async (): Promise<void> => {
      while (!done) {
        if (Date.now() > deadline) return finish(new Error(`/${signal} did not answer 200 within ${START_WITHIN_MS} ms`));
        try {
          const r = await fetch(`http://127.0.0.1:${ports.http}/${signal}`);
          await r.arrayBuffer();
          if (r.status === 200) return finish();
        } catch {
          // Not listening yet: ask again at once (a connection refused costs nothing).
        }
      }
    };
    void poll();
  });
}

async function startAndAsk(signal: Signal, nas: RawNas, round: number): Promise<void> {
  const child = spawn(process.execPath, [cliEntry(), 'start', '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.resume();
  if (signal !== 'log') child.stdout!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await whenReady(child, signal);
    const requests = Array.from({ length: BURST }, (_, i) =>
      macAuthRequest({ secret, identifier: (round * BURST + i) & 0xff, userName: 'aabbccddeeff', callingStationId: 'AA-BB-CC-DD-EE-FF' }),
    );
    const outcomes = await Promise.allSettled(requests.map((r) => nas.ask(ports.auth, r, answers(r, secret), 1, ANSWER_WITHIN_MS)));
    const lost = outcomes.filter((o) => o.status === 'rejected').length;
    expect(lost, `${lost} of ${BURST} first requests sent when ${signal} turned ready went unanswered`).toBe(0);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('readiness', () => {
  // Two rounds of each signal: the race is at start-up, so each round is a fresh start.
  const rounds: Signal[] = ['healthz', 'readyz', 'log', 'healthz', 'readyz', 'log'];
  it(
    'every request sent the instant /healthz, /readyz or the start line says ready is answered',
    async () => {
      const nas = await RawNas.open();
      try {
        for (const [round, signal] of rounds.entries()) await startAndAsk(signal, nas, round);
      } finally {
        await nas.close();
      }
    },
    rounds.length * (START_WITHIN_MS + ANSWER_WITHIN_MS),
  );
});
