import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/**
 * kill -9 of a real gateway process during a burst of enrollments (agent API, 8 at
 * a time): every enrollment the client saw confirmed (201) is in the store after
 * the crash, with its session. SQLite writes devices and sessions with
 * synchronous=FULL before answering; Redis has acknowledged the write.
 */
const require = createRequire(import.meta.url);
const CLI = fileURLToPath(new URL('../../../src/cli/index.ts', import.meta.url));
const TSX = pathToFileURL(require.resolve('tsx')).href;
let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => redis?.close());

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
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
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
          // The crash, in the middle of the burst: the requests under way get no answer.
          if (confirmed.length >= 60 && !killed) {
            killed = true;
            g.child.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await new Promise((resolve) => (g.child.exitCode !== null || g.child.signalCode !== null ? resolve(undefined) : g.child.once('exit', resolve)));
      expect(confirmed.length).toBeGreaterThanOrEqual(60);

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
  });
});
