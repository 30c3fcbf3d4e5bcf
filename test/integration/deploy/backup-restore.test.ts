import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_FILE, HEAD_FILE } from '../../../src/audit/record.js';
import { startCliGateway, startTestGateway, TEST_NAS_SECRET, type CliGateway, type TestGateway } from '../../helpers/gateway.js';
import { enrollAtPortal } from '../../helpers/portal-enrollment.js';
import { freeTcpPort, freeUdpPort } from '../../helpers/ports.js';
import { FIRST_ANSWER, macAuth, radclient } from '../../helpers/radclient.js';
import { runCli } from '../../helpers/source.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * `enrollgate backup` of a running gateway, and `enrollgate restore` into a fresh directory
 * that has only the config, users file, secrets and certificates: a gateway started there
 * answers RADIUS for the enrolled device as the first one did, and its audit trail verifies.
 */

const MAC = '3c:d0:00:00:07:01';
let t: TestGateway;
let tmp: string;
let restored: CliGateway | undefined;

beforeAll(async () => {
  t = await startTestGateway({ configure: (doc) => void (doc.portal.trust_proxy = true) });
  tmp = await mkdtemp(join(tmpdir(), 'enrollgate-backup-'));
});
afterAll(async () => {
  if (restored) await stopChild(restored.child, 15_000);
  await t?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Whether the running gateway's audit checkpoint names the last record of its newest daily file. */
async function checkpointCoversTrail(): Promise<boolean> {
  const dir = join(t.dir, 'audit');
  const files = (await readdir(dir)).filter((f) => AUDIT_FILE.test(f)).sort();
  if (files.length === 0) return false;
  const lines = (await readFile(join(dir, files[files.length - 1]!), 'utf8')).trimEnd().split('\n');
  const last = JSON.parse(lines[lines.length - 1]!) as { seq: number };
  const head = JSON.parse(await readFile(join(dir, HEAD_FILE), 'utf8').catch(() => '{}')) as { seq?: number };
  return head.seq === last.seq;
}

/** Session-Timeout of an Access-Accept: the seconds left until the session's stored end. */
const secondsLeft = (attributes: Record<string, string>): number => Number(attributes['Session-Timeout']);

describe('backup of a running gateway, restore into a fresh directory', () => {
  it('answers the enrolled device with the same Access-Accept, and the audit trail verifies', async () => {
    await enrollAtPortal(t, TEST_NAS_SECRET, MAC, '10.9.7.1', 'backup-1');
    const before = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(MAC));
    expect(before.reply).toBe('Access-Accept');

    // While the gateway runs. Its checkpoint (audit-head.json) follows the last record within
    // a second: once it covers them, restore's check has nothing to note. (A backup taken before
    // that is restored with a note, which the audit suites test.)
    await expect.poll(checkpointCoversTrail, { timeout: 10_000 }).toBe(true);
    const backupDir = join(tmp, 'backup');
    const backup = await runCli(['backup', '--to', backupDir, '--config', t.configFile], { cwd: tmp, timeoutMs: 30_000 });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toContain(`State: ${join(t.dir, 'state.sqlite')} → ${join(backupDir, 'state.sqlite')}`);
    expect(backup.stdout).toMatch(/Audit trail: [1-9]\d* daily file\(s\), [1-9]\d* record\(s\) and audit-head\.json/);

    // A fresh directory: what the admin keeps themselves, without state or audit trail.
    const fresh = join(tmp, 'fresh');
    for (const f of ['enrollgate.yaml', 'users.yaml', 'secrets', 'certs']) await cp(join(t.dir, f), join(fresh, f), { recursive: true });
    const ports = { http: await freeTcpPort(), https: await freeTcpPort(), auth: await freeUdpPort(), acct: await freeUdpPort() };
    const doc = parse(await readFile(join(fresh, 'enrollgate.yaml'), 'utf8')) as Record<string, any>;
    doc.portal.http.port = ports.http;
    doc.portal.https.port = ports.https;
    doc.radius.auth_port = ports.auth;
    doc.radius.acct_port = ports.acct;
    await writeFile(join(fresh, 'enrollgate.yaml'), stringify(doc));

    const restore = await runCli(['restore', '--from', backupDir, '--config', join(fresh, 'enrollgate.yaml')], { cwd: tmp, timeoutMs: 30_000 });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    expect(restore.stdout).toContain('(integrity check: ok)');
    expect(restore.stdout).toMatch(/Audit trail: [1-9]\d* daily file\(s\) → .*; OK: [1-9]\d* record\(s\)/);

    restored = await startCliGateway(join(fresh, 'enrollgate.yaml'), fresh);
    const after = await radclient(ports.auth, 'auth', TEST_NAS_SECRET, macAuth(MAC), FIRST_ANSWER);
    expect(after.reply, after.stdout).toBe('Access-Accept');
    // The same session, not a new one: it ends when the first gateway's did (the seconds
    // left differ only by the time this test took in between).
    expect(secondsLeft(before.attributes)).toBeGreaterThan(0);
    expect(Math.abs(secondsLeft(after.attributes) - secondsLeft(before.attributes))).toBeLessThanOrEqual(60);
    const other = await radclient(ports.auth, 'auth', TEST_NAS_SECRET, macAuth('3c:d0:00:00:07:02'));
    expect(other.reply).toBe('Access-Reject');

    // Never over a live installation.
    const again = await runCli(['restore', '--from', backupDir, '--config', join(fresh, 'enrollgate.yaml')], { cwd: tmp, timeoutMs: 30_000 });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('restore never overwrites');

    // A damaged or hand-edited manifest: refused before anything is copied, never a stack trace.
    const manifestFile = join(backupDir, 'backup.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { files: Record<string, string> };
    const target = async (edit: string) => {
      await writeFile(manifestFile, edit);
      return runCli(['restore', '--from', backupDir, '--config', join(fresh, 'enrollgate.yaml')], { cwd: tmp, timeoutMs: 30_000 });
    };
    const [daily] = Object.keys(manifest.files).filter((f) => f.startsWith('audit/audit-'));
    const escaping = await target(JSON.stringify({ ...manifest, files: { ...manifest.files, [`audit/../../${daily!.slice('audit/'.length)}`]: manifest.files[daily!] } }));
    expect(escaping.code).toBe(2);
    expect(escaping.stderr).toContain('which enrollgate backup never writes; the backup is damaged');
    const broken = await target('{ "files": ');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/backup\.json is not valid JSON \(.*\); the backup is damaged/);
    for (const r of [escaping, broken]) expect(r.stderr).not.toMatch(/^\s+at /m);
  }, 180_000);
});
