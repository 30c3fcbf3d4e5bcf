import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../../src/devices/device-registry.js';
import { parseMac } from '../../../src/mac.js';
import { SessionStore } from '../../../src/sessions/session-store.js';
import { openSqliteStore } from '../../../src/store/sqlite-state-store.js';
import { call } from '../../helpers/http.js';
import { startAckingRouter, type AckingRouter } from '../../helpers/acking-router.js';
import { enrollAtPortal as enrollAtPortalAs } from '../../helpers/portal-enrollment.js';
import { runCli, type CliRun } from '../../helpers/source.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * `enrollgate devices …` as an admin runs it: a separate process (as in cli.test.ts)
 * on the state file of a running gateway.
 */


let t: TestGateway;

function cli(...args: string[]): Promise<CliRun> {
  return runCli([...args, '--config', t.configFile], { cwd: t.dir, timeoutMs: 20_000 });
}

async function radiusAnswer(mac: string): Promise<string | undefined> {
  return (await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply;
}

/** Enrolls an iPhone through the portal (the start page, then the registration form). */
const enrollAtPortal = (mac: string, ip: string) => enrollAtPortalAs(t, TEST_NAS_SECRET, mac, ip, `cli-${ip}`);

let router: AckingRouter;

beforeAll(async () => {
  // The router's dynamic-authorization port: the command line tells it, as the console does.
  router = await startAckingRouter(TEST_NAS_SECRET);
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.radius.clients[0].dynamic_authorization = { enabled: true, address: '127.0.0.1', port: router.port, timeout_ms: 500, retries: 2 };
    },
  });
});
afterAll(async () => {
  await t?.close();
  await router?.close();
});

/** The Disconnect-Requests (RFC 5176 code 40) the router got for the device since `from`. */
function disconnectsFor(mac: string, from: number): number {
  const station = Buffer.from(mac.toUpperCase().replace(/:/g, '-'));
  return router.received.slice(from).filter((r) => r.raw[0] === 40 && r.raw.includes(station)).length;
}

describe('enrollgate devices', () => {
  const mac = '3c:d0:00:00:00:01';

  it('lists enrolled devices, all or one person’s', async () => {
    await enrollAtPortal(mac, '10.9.0.1');
    const all = await cli('devices', 'list');
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^${mac}  employee  ios`, 'm'));
    expect((await cli('devices', 'list', '--user', 'EMPLOYEE')).stdout).toContain(mac);
    expect((await cli('devices', 'list', '--user', 'nobody')).stdout).toContain('No devices enrolled to nobody.');
  });

  it('block ends the session (RADIUS rejects the device) and refuses it at the portal; unblock lets it log in again', async () => {
    expect(await radiusAnswer(mac)).toBe('Access-Accept');
    const before = router.received.length;
    const blocked = await cli('devices', 'block', mac.toUpperCase().replace(/:/g, '-'), '--reason', 'stolen on the train');
    expect(blocked.code, blocked.stderr).toBe(0);
    expect(blocked.stdout).toContain(`Blocked ${mac} (enrolled to employee)`);
    // As from the admin console: the router hears of it at once (the device was online).
    expect(blocked.stdout).toContain(`Router test-nas was sent a Disconnect-Request for ${mac} and acknowledged it.`);
    expect(disconnectsFor(mac, before)).toBe(1);
    expect(await radiusAnswer(mac)).toBe('Access-Reject');

    const list = await cli('devices', 'blocked');
    expect(list.stdout).toMatch(new RegExp(`^${mac}  blocked \\S+ by cli:\\S+: stolen on the train$`, 'm'));
    expect((await cli('devices', 'list')).stdout).toMatch(new RegExp(`^${mac} .*BLOCKED$`, 'm'));

    // The portal tells the device before asking for a password.
    const page = await call(t.httpUrl, 'GET', '/portal', { ip: '10.9.0.1' });
    expect(page.body).toContain('This device is blocked');
    expect(page.body).not.toContain('name="password"');

    const unblocked = await cli('devices', 'unblock', mac);
    expect(unblocked.code).toBe(0);
    expect(unblocked.stdout).toContain(`Unblocked ${mac}`);
    expect((await cli('devices', 'unblock', mac)).stdout).toContain('was not blocked');
    expect((await cli('devices', 'blocked')).stdout).toContain('No devices are blocked.');

    // The state the CLI left is the gateway's: no block, no session, still enrolled.
    const state = await openSqliteStore(t.config.store.sqlite_file);
    try {
      const m = parseMac(mac)!;
      expect(await new DeviceRegistry(state.kv).blocked(m)).toBeUndefined();
      expect(await new SessionStore(state.kv.sessions).live(m, new Date())).toBeUndefined();
      expect((await new DeviceRegistry(state.kv).get(m))?.owner).toBe('employee');
    } finally {
      await state.close();
    }
  });

  it('a bad MAC or a missing argument exits 2 with a clear message', async () => {
    const bad = await cli('devices', 'block', 'not-a-mac');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"not-a-mac": not a MAC address');
    const broadcast = await cli('devices', 'unblock', 'ff:ff:ff:ff:ff:ff');
    expect(broadcast.code).toBe(2);
    expect(broadcast.stderr).toContain('broadcast');
    const missing = await cli('devices', 'block');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('takes one MAC address');
    const unknown = await cli('devices', 'wipe');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown devices command "wipe"');
    const misplaced = await cli('devices', 'blocked', '--reason', 'x');
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('enrollgate sessions, and devices unenroll', () => {
  const [one, two] = ['3c:d0:00:00:00:11', '3c:d0:00:00:00:12'];

  it('lists live sessions, revokes one and then every session of a person; RADIUS rejects them; audited with the OS user', async () => {
    await enrollAtPortal(one, '10.9.0.11');
    await enrollAtPortal(two, '10.9.0.12');
    const list = await cli('sessions', 'list', '--user', 'employee');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${one}  employee  enrollment  from \\S+  until \\S+$`, 'm'));

    const revoked = await cli('sessions', 'revoke', one, '--reason', 'lost phone');
    expect(revoked.stdout).toContain(`Ended the session of ${one}.`);
    expect(await radiusAnswer(one)).toBe('Access-Reject');
    expect(await radiusAnswer(two)).toBe('Access-Accept');
    const all = await cli('sessions', 'revoke', '--user', 'employee');
    expect(all.stdout).toContain(`Ended the session of ${two}.`);
    expect(await radiusAnswer(two)).toBe('Access-Reject');
    expect((await cli('sessions', 'revoke', one)).stdout).toContain(`${one} had no session.`);

    // The running gateway records the spooled events.
    t.gateway.audit.drainSpool();
    const audit = await cli('audit', 'query', '--type', 'session.revoked', '--mac', one);
    expect(JSON.parse(audit.stdout.trim().split('\n')[0]!)).toMatchObject({ mac: one, reason: 'lost phone', by: expect.stringMatching(/^cli:/) });
  });

  it('devices unenroll removes a device whoever owns it', async () => {
    const r = await cli('devices', 'unenroll', two, '--reason', 'left the company');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Unenrolled ${two} (it was employee's)`);
    expect((await cli('devices', 'list', '--user', 'employee')).stdout).not.toContain(two);
    expect((await cli('devices', 'unenroll', two)).stdout).toContain('is not enrolled');
  });

  it('bad arguments exit 2', async () => {
    expect((await cli('sessions', 'revoke')).code).toBe(2);
    expect((await cli('sessions', 'revoke', one, '--user', 'employee')).stderr).toContain('one MAC address');
    expect((await cli('sessions', 'list', 'extra')).code).toBe(2);
    expect((await cli('sessions', 'purge')).stderr).toContain('unknown sessions command "purge"');
  });
});
