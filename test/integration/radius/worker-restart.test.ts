import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { CLI_GATEWAY_SETUP_MS, editConfig, initOnFreePorts, startCliGateway, TEST_NAS_SECRET, type CliGateway, type GatewayPorts } from '../../helpers/gateway.js';
import { freeUdpPort } from '../../helpers/ports.js';
import { FIRST_ANSWER, macAuth, radclient } from '../../helpers/radclient.js';
import { runCli, SOURCE_RUN_MS } from '../../helpers/source.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * A RADIUS worker that dies is restarted (radius.workers > 1): the new one runs the config
 * the gateway runs, with what reloads applied, whatever the file on disk says by then (a
 * broken file a reload refused, an edit that needs a restart). The workers are killed with
 * SIGKILL, as a crash would end them; radclient is the router.
 */

const RELOADED_SECRET = 'worker-restart-reloaded-0123456789';
const RELOADED_AGAIN = 'worker-restart-reloaded-again-4567';
const UNAPPLIED_SECRET = 'worker-restart-not-reloaded-98765';
/** A device with no session: any answer (a Reject) shows the request was checked and answered. */
const MAC = '02:00:00:00:19:01';

let dir: string;
let configFile: string;
let ports: GatewayPorts;
let gateway: CliGateway;
/** The config file the gateway was started with. */
let startedText: string;

/** The RADIUS workers listening so far, by the log lines they wrote when they started. */
function listening(): Array<{ pid: number; authPort?: number; acctPort?: number }> {
  return gateway
    .output()
    .split('\n')
    .filter((l) => l.includes('"event":"radius.listening"'))
    .map((l) => JSON.parse(l) as { radiusWorker: number; authPort?: number; acctPort?: number })
    .map((l) => ({ pid: l.radiusWorker, ...(l.authPort ? { authPort: l.authPort } : {}), ...(l.acctPort ? { acctPort: l.acctPort } : {}) }));
}

/** The log lines of one event so far. */
const logged = (event: string) => gateway.output().split('\n').filter((l) => l.includes(`"event":"${event}"`));

/** Sets the router's secret in the file the gateway was started with, and reloads it. */
async function reloadWithSecret(secret: string): Promise<void> {
  await writeFile(configFile, startedText);
  await editConfig(configFile, (doc) => void (doc.radius.clients[0].secret = secret));
  const r = await runCli(['reload', '--config', configFile], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
}

/** Kills `pids` (SIGKILL, as a crash) and resolves once as many new workers listen, with what they listen on. */
async function crash(pids: readonly number[]): Promise<ReturnType<typeof listening>> {
  const before = new Set(listening().map((w) => w.pid));
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  // A worker takes a second or so to start (up to 60 s on a loaded machine, workers.ts), after 1 s of restart delay.
  await expect.poll(() => listening().filter((w) => !before.has(w.pid)).length, { timeout: 75_000, interval: 200 }).toBe(pids.length);
  return listening().filter((w) => !before.has(w.pid));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-worker-restart-'));
  ({ configFile, ports } = await initOnFreePorts(dir, (doc) => {
    doc.radius.workers = 2;
    doc.radius.clients = [{ name: 'test-nas', address: '127.0.0.1', secret: TEST_NAS_SECRET }];
    // Every worker, the accounting one too, builds its EAP server (init's certificate and key).
    doc.eap = { ...doc.eap, enabled: true };
  }));
  startedText = await readFile(configFile, 'utf8');
  gateway = await startCliGateway(configFile, dir);
  // Every worker listens before the gateway says it started.
  expect(listening()).toHaveLength(3);
}, CLI_GATEWAY_SETUP_MS);

afterAll(async () => {
  if (gateway) await stopChild(gateway.child, 15_000);
  await rm(dir, { recursive: true, force: true });
});

describe('a restarted RADIUS worker', () => {
  it('after a refused reload (the file on disk broken): comes up with the reloaded secret, and answers', async () => {
    await reloadWithSecret(RELOADED_SECRET);
    await writeFile(configFile, 'radius: [unclosed\n');

    const exited = logged('radius.worker_exited').length;
    const restarted = await crash(listening().slice(-3).map((w) => w.pid));
    expect(restarted.filter((w) => w.authPort === ports.auth)).toHaveLength(2);
    expect(restarted.filter((w) => w.acctPort === ports.acct)).toHaveLength(1);
    expect((await radclient(ports.auth, 'auth', RELOADED_SECRET, macAuth(MAC), FIRST_ANSWER)).reply).toBe('Access-Reject');
    // The secret of the file the gateway was started with is no longer a router's: dropped.
    expect((await radclient(ports.auth, 'auth', TEST_NAS_SECRET, macAuth(MAC))).reply).toBeUndefined();
    const accounting = await radclient(ports.acct, 'acct', RELOADED_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "restart-1"', `Calling-Station-Id = "${MAC}"`]);
    expect(accounting.reply).toBe('Accounting-Response');
    // Each worker restarted once: no crash loop.
    expect(logged('radius.worker_exited')).toHaveLength(exited + 3);
    expect(logged('radius.worker_restart_failed')).toEqual([]);
  }, 2 * SOURCE_RUN_MS + 75_000);

  it('after an edit that needs a restart (a new port, a secret not reloaded): stays with its siblings', async () => {
    await reloadWithSecret(RELOADED_AGAIN);
    const otherPort = await freeUdpPort();
    await editConfig(configFile, (doc) => {
      doc.radius.auth_port = otherPort;
      doc.radius.clients = [{ name: 'test-nas', address: '127.0.0.1', secret: UNAPPLIED_SECRET }];
    });
    const exited = logged('radius.worker_exited').length;
    // Both authentication workers, so that whichever the kernel hands a request to is a restarted one.
    const restarted = await crash(listening().slice(-3).filter((w) => w.authPort !== undefined).map((w) => w.pid));
    expect(restarted.map((w) => w.authPort)).toEqual([ports.auth, ports.auth]);
    expect((await radclient(ports.auth, 'auth', RELOADED_AGAIN, macAuth(MAC))).reply).toBe('Access-Reject');
    expect((await radclient(ports.auth, 'auth', UNAPPLIED_SECRET, macAuth(MAC))).reply).toBeUndefined();
    expect((await radclient(otherPort, 'auth', UNAPPLIED_SECRET, macAuth(MAC))).reply).toBeUndefined();
    expect(logged('radius.worker_exited')).toHaveLength(exited + 2);
    expect(logged('radius.worker_restart_failed')).toEqual([]);
  }, 2 * SOURCE_RUN_MS + 75_000);

  it('after its EAP key and CA were replaced on disk (a renewal half done): serves the ones the gateway started with', async () => {
    await writeFile(configFile, startedText);
    const { eap, pki } = loadConfig(configFile);
    await writeFile(eap.key_file, 'not a key yet\n');
    await writeFile(pki.ca_cert_file, 'not a certificate yet\n');
    const exited = logged('radius.worker_exited').length;
    // The workers that run now: the last accounting one and the last two authentication ones to listen.
    const current = [...listening().filter((w) => w.acctPort).slice(-1), ...listening().filter((w) => w.authPort).slice(-2)];
    const restarted = await crash(current.map((w) => w.pid));
    expect(restarted.filter((w) => w.authPort === ports.auth)).toHaveLength(2);
    expect(restarted.filter((w) => w.acctPort === ports.acct)).toHaveLength(1);
    expect((await radclient(ports.auth, 'auth', RELOADED_AGAIN, macAuth(MAC))).reply).toBe('Access-Reject');
    expect(logged('radius.worker_exited')).toHaveLength(exited + 3);
    expect(logged('radius.worker_restart_failed')).toEqual([]);
  }, SOURCE_RUN_MS + 75_000);
});
