import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import { processStart } from '../../../src/process-identity.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { CLI_GATEWAY_SETUP_MS, editConfig, initOnFreePorts, startCliGateway, type CliGateway, type GatewayPorts } from '../../helpers/gateway.js';
import { answers, RawNas } from '../../helpers/raw-nas.js';
import { runCli, SOURCE_RUN_MS } from '../../helpers/source.js';
import { stopChild } from '../../helpers/stop-child.js';
import { macAuthRequest } from '../../unit/radius/radius-bytes.js';

/**
 * Reload without restart: `enrollgate reload` (SIGHUP) on a gateway started by the CLI with
 * RADIUS in two worker processes. Routers on 127.0.0.1-4 (Linux answers on all of 127/8):
 * the stream's router stays, one is removed, one added and one gets a new secret.
 */

const SECRET = 'reload-test-secret-0123456789';
const NEW_SECRET = 'reload-test-new-secret-987654';
const nasList = (entries: ReadonlyArray<[name: string, address: string, secret: string]>) => entries.map(([name, address, secret]) => ({ name, address, secret }));
const BEFORE = nasList([
  ['stream', '127.0.0.1', SECRET],
  ['removed', '127.0.0.2', SECRET],
  ['rekeyed', '127.0.0.4', SECRET],
]);
const AFTER = nasList([
  ['stream', '127.0.0.1', SECRET],
  ['added', '127.0.0.3', SECRET],
  ['rekeyed', '127.0.0.4', NEW_SECRET],
]);

let dir: string;
let configFile: string;
let ports: GatewayPorts;
let gateway: CliGateway;
const cli = (...args: string[]) => runCli(args, { cwd: dir });

const rewrite = (change: (doc: Record<string, any>) => void) => editConfig(configFile, change);

/** The audit records of one type so far (the workers' and the main process's, in one trail). */
function audited(type: string): AuditRecord[] {
  const found: AuditRecord[] = [];
  queryAudit(join(dir, 'audit'), { type }, (m) => void found.push(m.record));
  return found;
}

/** An Access-Request for a device with no session, signed with `secret`: any answer will do (a Reject or the registration state). */
function request(secret: string): Buffer {
  const mac = '02-00-00-00-18-07';
  return macAuthRequest({ secret, identifier: randomBytes(1)[0]!, userName: mac, callingStationId: mac, authenticator: randomBytes(16) });
}

/**
 * Whether a SIGHUP reached `pid` (this test's child): it is dead or dying (a zombie until this
 * process reaps it), or holds one pending. A signal sent before the sender exited is one of those.
 */
function hupReached(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const state = stat[stat.lastIndexOf(')') + 2]; // field 3, after the command name in parentheses
  const pending = [...readFileSync(`/proc/${pid}/status`, 'utf8').matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`));
  return state !== 'S' || pending.some((mask) => (mask & 1n) !== 0n);
}

/** Whether the gateway logged a drop of a packet from `address` for `reason`. */
const droppedFrom = (address: string, reason: string) => () =>
  gateway
    .output()
    .split('\n')
    .some((l) => l.includes('"event":"radius.dropped"') && l.includes(`"from":"${address}:`) && l.includes(`"reason":"${reason}"`));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-reload-'));
  ({ configFile, ports } = await initOnFreePorts(dir, (doc) => {
    doc.radius.workers = 2;
    doc.radius.clients = BEFORE;
    doc.portal.support_contact = 'the first helpdesk';
    // Plain HTTP, so that fetch reads the pages without the gateway's own CA.
    doc.portal.base_url = `http://127.0.0.1:${doc.portal.http.port}`;
  }));
  gateway = await startCliGateway(configFile, dir);
}, CLI_GATEWAY_SETUP_MS);

afterAll(async () => {
  if (gateway) await stopChild(gateway.child, 15_000);
  await rm(dir, { recursive: true, force: true });
});

describe('enrollgate reload', () => {
  it('applies a new NAS list with RADIUS answering throughout: a steady stream of Access-Requests loses none', async () => {
    const nas = await RawNas.open('127.0.0.1');
    const sent: Array<{ bytes: Buffer; atMs: number }> = [];
    const answeredAt = new Map<Buffer, number>();
    nas.socket.on('message', (reply) => {
      const hit = sent.find((s) => !answeredAt.has(s.bytes) && answers(s.bytes, SECRET)(reply));
      if (hit) answeredAt.set(hit.bytes, performance.now());
    });
    // One request every 5 ms, each sent once (no retransmission: a lost one stays lost), from
    // before the reload until 100 after its command returned.
    let stopAfter = Number.POSITIVE_INFINITY;
    const stream = (async () => {
      for (let i = 0; sent.length < stopAfter; i++) {
        // Identifiers are one octet: a fresh authenticator each time keeps every request new (RFC 5080).
        const bytes = request(SECRET);
        sent.push({ bytes, atMs: performance.now() });
        await nas.send(ports.auth, bytes);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await expect.poll(() => answeredAt.size, { timeout: 10_000 }).toBeGreaterThan(20);
    await rewrite((doc) => {
      doc.radius.clients = AFTER;
      doc.portal.support_contact = 'the second helpdesk';
    });
    const reloadStartedMs = performance.now();
    const r = await cli('reload', '--config', configFile);
    stopAfter = sent.length + 100;
    await stream;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${configFile} reloaded`);
    expect(r.stdout).toContain('applied: portal.support_contact, radius.clients');
    expect(r.stdout).not.toContain('need a restart');
    // Every request answered: the bound is a router's retry timer, far above any answer here.
    await expect.poll(() => answeredAt.size, { timeout: 5_000 }).toBe(sent.length);
    const latencies = sent.map((s) => answeredAt.get(s.bytes)! - s.atMs);
    const during = sent.filter((s) => s.atMs >= reloadStartedMs).length;
    console.log(`reload: ${sent.length} Access-Requests, ${during} sent during and after the reload, 0 unanswered; slowest answer ${Math.max(...latencies).toFixed(1)} ms`);
    await nas.close();

    // The added router is answered, the removed one dropped, the rekeyed one with its new secret only.
    const added = await RawNas.open('127.0.0.3');
    const removed = await RawNas.open('127.0.0.2');
    const rekeyed = await RawNas.open('127.0.0.4');
    try {
      const toAdded = request(SECRET);
      expect((await added.ask(ports.auth, toAdded, answers(toAdded, SECRET)))[1]).toBe(toAdded[1]);
      await removed.send(ports.auth, request(SECRET));
      await expect.poll(droppedFrom('127.0.0.2', 'unknown_client'), { timeout: 5_000 }).toBe(true);
      await rekeyed.send(ports.auth, request(SECRET));
      await expect.poll(droppedFrom('127.0.0.4', 'bad_message_authenticator'), { timeout: 5_000 }).toBe(true);
      const toRekeyed = request(NEW_SECRET);
      expect((await rekeyed.ask(ports.auth, toRekeyed, answers(toRekeyed, NEW_SECRET)))[1]).toBe(toRekeyed[1]);
      expect(removed.replies).toHaveLength(0);
    } finally {
      await Promise.all([added.close(), removed.close(), rekeyed.close()]);
    }

    // The portal's pages have the new text; the trail the reload, by section and hash, no secret.
    expect(await (await fetch(`http://127.0.0.1:${ports.http}/portal`)).text()).toContain('the second helpdesk');
    await expect.poll(() => audited('config.reloaded').length, { timeout: 5_000 }).toBe(1);
    const [reloaded] = audited('config.reloaded');
    expect(reloaded).toMatchObject({ file: configFile, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), changed: ['portal', 'radius'], restart_needed: [] });
    expect(JSON.stringify(reloaded)).not.toContain(NEW_SECRET);
    expect(gateway.output()).not.toContain(NEW_SECRET);
  }, 6 * SOURCE_RUN_MS);

  it('names the keys that need a restart, and applies the rest', async () => {
    await rewrite((doc) => {
      doc.radius.auth_port = ports.auth + 1;
      doc.portal.support_contact = 'the third helpdesk';
    });
    const r = await cli('reload', '--config', configFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('applied: portal.support_contact; these need a restart: radius.auth_port');
    expect(await (await fetch(`http://127.0.0.1:${ports.http}/portal`)).text()).toContain('the third helpdesk');
    // Still on the port it was started with.
    const nas = await RawNas.open('127.0.0.1');
    try {
      const bytes = request(SECRET);
      await nas.ask(ports.auth, bytes, answers(bytes, SECRET));
    } finally {
      await nas.close();
    }
    expect(gateway.output()).toContain('these need a restart: radius.auth_port');
    await expect.poll(() => audited('config.reloaded').at(-1)?.restart_needed, { timeout: 5_000 }).toEqual(['radius.auth_port']);
  }, 3 * SOURCE_RUN_MS);

  it('refuses a bad config (a short secret, a missing secret file) and runs on with the one it has', async () => {
    const before = await readFile(configFile, 'utf8');
    await rewrite((doc) => {
      doc.radius.clients = [{ name: 'stream', address: '127.0.0.1', secret: 'short-one' }];
    });
    const short = await cli('reload', '--config', configFile);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('config not reloaded; the gateway');
    expect(short.stderr).toContain('radius.clients[0].secret: got 9 characters (hidden)');
    expect(short.stderr).not.toContain('short-one');

    await rewrite((doc) => {
      doc.radius.clients = [{ name: 'stream', address: '127.0.0.1', secret: { file: 'secrets/none-such.secret' } }];
    });
    const missing = await cli('reload', '--config', configFile);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/radius\.clients\[0\]\.secret: cannot read secret file \S+none-such\.secret/);

    // The routers of the last good reload are still answered, with their secrets.
    const nas = await RawNas.open('127.0.0.4');
    try {
      const bytes = request(NEW_SECRET);
      await nas.ask(ports.auth, bytes, answers(bytes, NEW_SECRET));
    } finally {
      await nas.close();
    }
    await expect.poll(() => audited('config.reload_failed').length, { timeout: 5_000 }).toBe(2);
    const failed = audited('config.reload_failed');
    expect(failed[0]).toMatchObject({ outcome: 'failure', file: configFile, reason: expect.stringContaining('radius.clients[0].secret') });
    expect(JSON.stringify(failed)).not.toContain('short-one');
    expect(gateway.output()).toContain('"event":"config.reload_failed"');

    // YAML that cannot be read does not even say where the gateway is: exit 2, nothing told.
    await writeFile(configFile, 'radius: [unclosed\n');
    const broken = await cli('reload', '--config', configFile);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('is not valid YAML');
    expect(broken.stderr).toContain('it was not told: a running one runs on as before');
    await writeFile(configFile, before);
  }, 4 * SOURCE_RUN_MS);

  it('says when no gateway runs on the config, and exits 1', async () => {
    const other = await mkdtemp(join(tmpdir(), 'enrollgate-reload-none-'));
    try {
      const { configFile: idle } = await initOnFreePorts(other);
      const r = await runCli(['reload', '--config', idle], { cwd: other });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no gateway runs on ${idle} (no live process holds ${join(other, 'audit', 'audit.lock')})`);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  }, 2 * SOURCE_RUN_MS);

  it('never signals a process that was given the PID of a gateway that is gone; says so and exits 1', async () => {
    const other = await mkdtemp(join(tmpdir(), 'enrollgate-reload-reused-'));
    // The process the PID went to: sleep dies of the SIGHUP a reload would send it.
    const unrelated = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const pid = unrelated.pid!;
      const { configFile: idle } = await initOnFreePorts(other);
      await mkdir(join(other, 'audit'), { recursive: true });
      const lock = join(other, 'audit', 'audit.lock');
      const [ticks, boot] = processStart(pid)!.split('@');
      // As a gateway that started earlier and crashed leaves it: its PID, and its own start time.
      const shapes = [`${pid} ${Number(ticks) - 1}@${boot}\n`, `${pid} ${ticks}@00000000-0000-0000-0000-000000000000\n`, `${pid}\n`];
      for (const text of shapes) {
        await writeFile(lock, text, { mode: 0o600 });
        const r = await runCli(['reload', '--config', idle], { cwd: other });
        expect(r.code, text).toBe(1);
        expect(r.stderr, text).toContain(`the gateway that wrote ${lock} (pid ${pid}) is no longer running; pid ${pid} is now another process, which was not signalled`);
        expect(hupReached(pid), text).toBe(false);
      }
    } finally {
      unrelated.kill('SIGKILL');
      await rm(other, { recursive: true, force: true });
    }
  }, 4 * SOURCE_RUN_MS);
});
