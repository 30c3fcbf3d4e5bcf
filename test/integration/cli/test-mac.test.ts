import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollAtPortal as enrollAtPortalAs } from '../../helpers/portal-enrollment.js';
import { runCli, type CliRun } from '../../helpers/source.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * `enrollgate test mac` as an admin runs it (a separate process, as in devices.test.ts) beside
 * a running gateway, checked against what the gateway's RADIUS server answers radclient.
 */


let t: TestGateway;

function cli(...args: string[]): Promise<CliRun> {
  return runCli([...args, '--config', t.configFile], { cwd: t.dir, timeoutMs: 20_000 });
}

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      // A second router that puts devices without a session into a registration VLAN.
      doc.radius.clients.push({ name: 'vlan-nas', address: '10.20.0.0/16', secret: 'vlan-nas-secret-0123456789', no_session: { answer: 'vlan', vlan: '99' } });
    },
  });
});
afterAll(async () => {
  await t?.close();
});

/** Enrolls an iPhone through the portal (the start page, then the registration form). */
const enrollAtPortal = (mac: string, ip: string) => enrollAtPortalAs(t, TEST_NAS_SECRET, mac, ip, `test-mac-${ip}`);

describe('enrollgate test mac', () => {
  const mac = '3c:d0:00:00:0e:01';

  it('an enrolled device with a session: the Accept RADIUS gives it, its Session-Timeout, owner and session', async () => {
    await enrollAtPortal(mac, '10.9.1.1');
    const answer = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac));
    const r = await cli('test', 'mac', mac.toUpperCase().replace(/:/g, '-'));
    expect(r.code, r.stderr).toBe(0);
    expect(answer.reply).toBe('Access-Accept');
    expect(r.stdout).toContain(`Device ${mac} asking through NAS test-nas (profile generic)`);
    expect(r.stdout).toContain('Decision: Access-Accept (accept: live session)');
    // Seconds to the cut-off, as RADIUS sent them a moment earlier.
    const timeout = Number(/^ {2}Session-Timeout = (\d+)$/m.exec(r.stdout)?.[1]);
    expect(Math.abs(timeout - Number(answer.attributes['Session-Timeout']))).toBeLessThanOrEqual(5);
    expect(r.stdout).toMatch(/^Enrolled: yes, to employee \(ios[^)]*\), on \S+ via portal$/m);
    expect(r.stdout).toContain('Blocked: no');
    expect(r.stdout).toMatch(/^Session: enrollment for employee, from \S+, ends at \S+$/m);
  });

  it('--json for scripts; --nas picks the router, whose no-session answer shows for an unknown device', async () => {
    const r = await cli('test', 'mac', mac, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      mac,
      nas: { name: 'test-nas' },
      decision: { code: 'Access-Accept', outcome: 'accept', user: 'employee' },
      enrolled: { owner: 'employee', platform: 'ios' },
      blocked: null,
      session: { user: 'employee', origin: 'enrollment' },
    });
    expect(report.attributes[0]).toMatchObject({ name: 'Session-Timeout', value: expect.any(Number) });

    const stranger = '3c:d0:00:00:0e:99';
    const plain = await cli('test', 'mac', stranger);
    expect(plain.stdout).toContain('Decision: Access-Reject (reject: no session)');
    expect(plain.stdout).toContain('Attributes: none');
    expect(plain.stdout).toContain('Enrolled: no');
    expect(plain.stdout).toContain('Session: none live');
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(stranger))).reply).toBe('Access-Reject');

    const vlan = await cli('test', 'mac', stranger, '--nas', 'vlan-nas');
    expect(vlan.code, vlan.stderr).toBe(0);
    expect(vlan.stdout).toContain('Decision: Access-Accept (registration_vlan: no session: registration VLAN)');
    expect(vlan.stdout).toContain('  Tunnel-Private-Group-Id:0 = 99');
  });

  it('a blocked device: by whom and why, and the Reject its ended session brings', async () => {
    const blocked = await cli('devices', 'block', mac, '--reason', 'lost on the bus');
    expect(blocked.code, blocked.stderr).toBe(0);
    const r = await cli('test', 'mac', mac);
    expect(r.stdout).toContain('Decision: Access-Reject (reject: no session)');
    expect(r.stdout).toMatch(/^Blocked: yes, by cli:\S+ on \S+: lost on the bus$/m);
    expect(r.stdout).toContain('Session: none live');
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(mac))).reply).toBe('Access-Reject');
  });

  it('a bad MAC, a missing one or an unknown NAS exits 2 and says why', async () => {
    const bad = await cli('test', 'mac', 'not-a-mac');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"not-a-mac": not a MAC address');
    const missing = await cli('test', 'mac');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('test mac takes one MAC address');
    const nas = await cli('test', 'mac', mac, '--nas', 'wlc-9');
    expect(nas.code).toBe(2);
    expect(nas.stderr).toContain('--nas: no NAS named "wlc-9" in radius.clients; the names are: test-nas, vlan-nas');
    expect((await cli('test', 'wifi')).stderr).toContain('unknown test command "wifi"');
  });
});
