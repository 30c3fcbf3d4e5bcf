import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.js';
import { call as httpCall, formOf, IPHONE_UA, type CallOptions } from '../../helpers/http.js';
import { auditRecords } from '../../helpers/audit-records.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { accountingStart, radclient } from '../../helpers/radclient.js';
import { cliEntry, SOURCE_RUN_MS } from '../../helpers/source.js';

/**
 * The audit trail of a real gateway: what a person does at the portal and what the
 * router asks over RADIUS (radclient) becomes typed records that chain, with no
 * password in them; `enrollgate audit verify` and `audit query` read them back.
 */
const run = promisify(execFile);
const MAC = '3c:a0:00:00:a0:01';
const IP = '10.7.0.10';

let t: TestGateway;
const call = (method: string, path: string, o: CallOptions = {}) => httpCall(t.httpUrl, method, path, o);

const records = (): AuditRecord[] => auditRecords(t);

const auth = () => radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, [`User-Name = "${MAC}"`, `Calling-Station-Id = "${MAC}"`, 'Message-Authenticator = 0x00']);

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
    },
  });
});
afterAll(async () => t?.close());

describe('the gateway’s audit trail', () => {
  it('starts with config.loaded (a hash, no secrets) and gateway.started', () => {
    const [loaded, started] = records();
    expect(loaded).toMatchObject({ seq: 1, type: 'config.loaded', outcome: 'info', file: t.configFile, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(started).toMatchObject({ seq: 2, type: 'gateway.started', pid: process.pid });
  });

  it('records a reject, a failed and a successful login, the enrollment, the session, the accept and accounting', async () => {
    expect((await auth()).reply).toBe('Access-Reject');
    const start = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "a-1"', `Calling-Station-Id = "${MAC}"`, `Framed-IP-Address = ${IP}`]);
    expect(start.reply).toBe('Accounting-Response');

    const form = formOf(await call('GET', '/portal', { ip: IP }));
    const post = (password: string) => call('POST', '/portal/enroll', { ip: IP, cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password } });
    expect((await post('not-the-password-1234')).status).toBe(401);
    expect((await post(t.employeePassword)).status).toBe(303);
    expect((await auth()).reply).toBe('Access-Accept');
    const stop = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, [
      'Acct-Status-Type = Stop',
      'Acct-Session-Id = "a-1"',
      `Calling-Station-Id = "${MAC}"`,
      `Framed-IP-Address = ${IP}`,
      'Acct-Input-Octets = 1000',
      'Acct-Output-Octets = 5000',
      'Acct-Input-Gigawords = 1',
      'Acct-Session-Time = 120',
      'Acct-Terminate-Cause = User-Request',
    ]);
    expect(stop.reply).toBe('Accounting-Response');

    const mine = records().filter((r) => r.mac === MAC || r.type.startsWith('login.'));
    expect(mine.map((r) => r.type)).toEqual([
      'radius.rejected',
      'accounting.started',
      'login.failed',
      'login.succeeded',
      'device.enrolled',
      'session.issued',
      // The Wi-Fi login opens My devices in the same browser (no second password).
      'my_devices.opened',
      'radius.accepted',
      'accounting.stopped',
    ]);
    expect(mine[0]).toMatchObject({ nas: 'test-nas', reason: 'no session', outcome: 'failure' });
    expect(mine[2]).toMatchObject({ user: 'employee', code: 'EG_INVALID_CREDENTIALS', outcome: 'failure', surface: 'portal', ip: IP, user_agent: IPHONE_UA });
    expect(mine[3]).toMatchObject({ user: 'employee', surface: 'portal', ip: IP, user_agent: IPHONE_UA });
    expect(mine[4]).toMatchObject({ user: 'employee', platform: 'ios', via: 'portal' });
    expect(mine[6]).toMatchObject({ via: 'wifi_login', surface: 'portal', ip: IP });
    expect(mine[7]).toMatchObject({ nas: 'test-nas', user: 'employee', reason: 'live session', outcome: 'success' });
    expect(mine[8]).toMatchObject({ session_id: 'a-1', input_octets: 2 ** 32 + 1000, output_octets: 5000, duration_s: 120, terminate_cause: 'User-Request' });
  });

  it('never holds a password or the NAS secret', () => {
    t.gateway.audit.flush();
    const all = readdirSync(t.config.audit.dir)
      .filter((f) => f.endsWith('.jsonl'))
      .map((f) => readFileSync(join(t.config.audit.dir, f), 'utf8'))
      .join('');
    expect(all).not.toContain(t.employeePassword);
    expect(all).not.toContain('not-the-password-1234');
    expect(all).not.toContain(TEST_NAS_SECRET);
  });

  it('audit verify and audit query read it from the command line, while the gateway runs', async () => {
    t.gateway.audit.flush();
    // Three readers at once: none of them changes the trail.
    const [verify, csv, failures] = await Promise.all([
      run(process.execPath, [cliEntry(), 'audit', 'verify', '--config', t.configFile]),
      run(process.execPath, [cliEntry(), 'audit', 'query', '--config', t.configFile, '--mac', MAC.toUpperCase().replace(/:/g, '-'), '--type', 'radius.*', '--format', 'csv']),
      run(process.execPath, [cliEntry(), 'audit', 'query', '--config', t.configFile, '--outcome', 'failure']),
    ]);
    expect(verify.stdout).toMatch(/^OK: \d+ record\(s\) in 1 file\(s\) chain from seq 1 to \d+/m);

    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('seq,at,type,outcome,user,by,mac,nas,reason,details');
    expect(rows.slice(1).map((r) => r.split(',')[2])).toEqual(['radius.rejected', 'radius.accepted']);

    const lines = failures.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.map((r) => r.type)).toEqual(['radius.rejected', 'login.failed']);
  }, 3 * SOURCE_RUN_MS);

  it('refuses bad query flags with exit 2 and a clear message', async () => {
    const bad = async (args: string[]) => {
      const err = (await run(process.execPath, [cliEntry(), 'audit', ...args]).then(() => undefined, (e: unknown) => e)) as { code: number; stderr: string };
      expect(err?.code, args.join(' ')).toBe(2);
      return err.stderr;
    };
    const refused: Array<[string[], string]> = [
      [['query', '--config', t.configFile, '--mac', 'not-a-mac'], '--mac: "not-a-mac" is not a MAC address'],
      [['query', '--config', t.configFile, '--type', 'device.eaten'], '--type: "device.eaten" is not an event type'],
      [['query', '--config', t.configFile, '--from', 'yesterday'], '--from: "yesterday" is not a date'],
      [['query', '--config', t.configFile, '--from', '2026-11-27', '--to', '2026-11-26'], 'must be before --to'],
      [['query', '--config', t.configFile, '--format', 'xml'], '--format: "xml" is not jsonl or csv'],
      [['verify', '--config', t.configFile, '--user', 'x'], 'audit verify does not take --user'],
      [['shred', '--config', t.configFile], 'unknown audit command "shred"'],
    ];
    // All at once: each run is a process of its own that only reads.
    const messages = await Promise.all(refused.map(([args]) => bad(args)));
    refused.forEach(([, message], i) => expect(messages[i]).toContain(message));
  }, 7 * SOURCE_RUN_MS);

  it('a block from the command line is recorded by the running gateway, with who did it', async () => {
    await run(process.execPath, [cliEntry(), 'devices', 'block', MAC, '--reason', 'reported stolen', '--config', t.configFile]);
    // The gateway owns the trail: the command line spooled its events, which the gateway
    // records every 2 s; drain now rather than wait.
    t.gateway.audit.drainSpool();
    const blocked = records().find((r) => r.type === 'device.blocked');
    expect(blocked).toMatchObject({ mac: MAC, user: 'employee', reason: 'reported stolen', by: expect.stringMatching(/^cli:/) });
    expect(records().find((r) => r.type === 'session.revoked' && r.mac === MAC)).toMatchObject({ user: 'employee', by: blocked!.by });
    expect(records().some((r) => r.type === 'session.revoked' && r.mac === MAC)).toBe(true);
    expect((await auth()).reply).toBe('Access-Reject');
  });

  it('exports a user name holding NUL, CR, LF and ESC as one CSV line, the characters escaped', async () => {
    const ip = '10.7.0.11';
    await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, '3C-A0-00-00-A0-02', ip);
    const form = formOf(await call('GET', '/portal?mac=3C-A0-00-00-A0-02&ip=10.7.0.11', { ip }));
    const typed = 'mallory\u0000\r\n99,2026-01-01T00:00:00.000Z,admin.logged_in\u001b[2J';
    const r = await call('POST', '/portal/enroll', { ip, cookie: form.cookie, form: { _csrf: form.csrf, username: typed, password: 'not-the-password' } });
    expect(r.status).toBe(401);
    t.gateway.audit.flush();
    const csv = await run(process.execPath, [cliEntry(), 'audit', 'query', '--config', t.configFile, '--type', 'login.failed', '--format', 'csv']);
    expect(csv.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const rows = csv.stdout.trimEnd().split('\n');
    const row = rows.find((l) => l.includes('mallory'));
    expect(row).toContain(',"mallory\\u0000\\u000d\\u000a99,2026-01-01T00:00:00.000Z,admin.logged_in\\u001b[2J",');
    expect(rows.every((l) => /^(seq|\d+),/.test(l))).toBe(true);
  });

  it('ends with gateway.stopped, and the whole trail verifies after a restart', async () => {
    await t.restart();
    const all = records();
    const stopped = all.findIndex((r) => r.type === 'gateway.stopped');
    expect(stopped).toBeGreaterThan(0);
    expect(all[stopped + 1]).toMatchObject({ type: 'config.loaded' });
    const verify = await run(process.execPath, [cliEntry(), 'audit', 'verify', '--config', t.configFile]);
    expect(verify.stdout).toContain('OK:');
  });
});
