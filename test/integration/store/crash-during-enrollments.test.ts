import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCommand } from '../../../src/cli/commands/init.js';
import { loadConfig } from '../../../src/config/load.js';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac } from '../../../src/mac.js';
import { createLogger } from '../../../src/logger.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { httpsCall } from '../../helpers/https.js';
import { freeTcpPort, freeUdpPort } from '../../helpers/ports.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { cliEntry, ROOT, TSX_LOADER } from '../../helpers/source.js';
import { STOP_AFTER_ENROLLMENTS_ENV } from '../../helpers/stop-at-answer.js';

/**
 * kill -9 of a real gateway process during a burst of enrollments (agent API, 8 at
 * a time): every enrollment the client saw confirmed (201) is in the store after
 * the crash, with its session. SQLite writes devices and sessions with
 * synchronous=FULL before answering; Redis has acknowledged the write.
 *
 * The crash comes at the worst moment, every time: the gateway stops itself the instant
 * it has sent its STOP_AFTER-th 201 (helpers/stop-at-answer.ts), and is killed while
 * stopped. A kill sent when the client got the answer came too late to catch a store
 * that answers before its commit: the commit follows the answer within the same
 * event-loop turn, long before the client has read it.
 */
const STOP_AFTER = 60;
const STOP_AT_ANSWER = pathToFileURL(join(ROOT, 'test', 'helpers', 'stop-at-answer.ts')).href;
/** How long starting the gateway, and then the burst up to STOP_AFTER enrollments, may each take: 2 to 5 s here, several times that on a slower machine. */
const STEP_DEADLINE_MS = 40_000;
let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => redis?.close());

/** Whether the process is stopped (SIGSTOP): the state after its name in /proc/<pid>/stat. */
function stopped(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
}

/** Polls `check` until it holds; fails naming `what` at the deadline. */
async function until(what: string, check: () => boolean, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function gatewayProcess(store: Record<string, unknown>): Promise<{ child: ChildProcess; https: number; configFile: string; dir: string; password: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-crash-'));
  let password = '';
  const configFile = await initCommand({ dir, certsDir: join(dir, 'certs'), print: (l) => (password = /shown only this once: (\S+)/.exec(l)?.[1] ?? password) });
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  const https = await freeTcpPort();
  doc.log = { level: 'info' };
  doc.portal.http.port = await freeTcpPort();
  doc.portal.https.port = https;
  doc.radius.auth_port = await freeUdpPort();
  doc.radius.acct_port = await freeUdpPort();
  // One process to kill: what is under test is the store, not the RADIUS workers.
  doc.radius.workers = 1;
  doc.enrollment = { randomised_macs: 'accept', device_limit: 0 };
  doc.store = store;
  await writeFile(configFile, stringify(doc));
  const child = spawn(process.execPath, ['--import', TSX_LOADER, '--import', STOP_AT_ANSWER, cliEntry(), 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [STOP_AFTER_ENROLLMENTS_ENV]: String(STOP_AFTER) },
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"event":"gateway.started"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before it started:\n${out}`)));
  });
  return { child, https, configFile, dir, password };
}

describe.each([
  { name: 'sqlite', store: () => ({ kind: 'sqlite' }) },
  { name: 'redis', store: () => ({ kind: 'redis', redis: { url: redis.url, key_prefix: `crash${Date.now()}:` } }) },
])('kill -9 during a burst of enrollments: $name', ({ store }) => {
  it('loses no enrollment the client saw confirmed', async () => {
    const g = await gatewayProcess(store());
    try {
      const ca = await readFile(join(g.dir, 'certs', 'ca.pem'));
      const confirmed: string[] = [];
      let next = 0;
      let killed = false;
      const worker = async () => {
        while (!killed) {
          const i = next++;
          const mac = `3c:cc:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
          const r = await httpsCall(g.https, ca, '/api/agent/v1/enroll', {
            json: { username: 'employee', password: g.password, device: { mac, model: 'x', os_version: '14', agent_version: '1.0' } },
          }).catch(() => undefined);
          if (r?.status === 201) confirmed.push(mac);
        }
      };
      const burst = Promise.all(Array.from({ length: 8 }, worker));
      // The gateway stops itself once its STOP_AFTER-th confirmation is on the wire; the
      // client reads that one, and the requests under way get no answer.
      await until('the gateway stopped itself at an answer', () => stopped(g.child.pid!), STEP_DEADLINE_MS);
      await until(`the client got the ${STOP_AFTER} confirmations sent`, () => confirmed.length >= STOP_AFTER, STEP_DEADLINE_MS);
      // The crash, while stopped: nothing the gateway had not done by its answer is ever done.
      killed = true;
      g.child.kill('SIGKILL');
      await burst;
      await new Promise((resolve) => (g.child.exitCode !== null || g.child.signalCode !== null ? resolve(undefined) : g.child.once('exit', resolve)));
      expect(g.child.signalCode).toBe('SIGKILL');
      expect(confirmed).toHaveLength(STOP_AFTER);

      const config = loadConfig(g.configFile);
      const state = await openStateStore(config, createLogger('silent'));
      try {
        const registry = new DeviceRegistry(state.kv, state.withLock);
        const sessions = new SessionStore(state.kv.sessions);
        const missing: string[] = [];
        for (const mac of confirmed) {
          const m = parseMac(mac)!;
          if (!(await registry.get(m)) || !(await sessions.live(m, new Date()))) missing.push(mac);
        }
        expect(missing).toEqual([]);
      } finally {
        await state.close();
      }
    } finally {
      g.child.kill('SIGKILL');
      await rm(g.dir, { recursive: true, force: true });
    }
  }, 2 * STEP_DEADLINE_MS);
});
