import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { portalCertificateWarning } from '../../../src/pki/portal-certificate.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initOnFreePorts } from '../../helpers/gateway.js';
import { runCli, type CliRun } from '../../helpers/source.js';
import { SLAPD_USERS, startSlapd, type Slapd } from '../../helpers/slapd.js';

/**
 * `enrollgate check-config` as an admin runs it (a separate process from the sources): every
 * problem in one round, the warnings of what is left undone, and --online against a real slapd.
 */

let slapd: Slapd;
let dir: string;
let configFile: string;
let ldap: Record<string, unknown>;

async function cli(args: readonly string[], stdin = ''): Promise<CliRun> {
  return runCli(args, { cwd: dir, input: stdin, timeoutMs: 20_000 });
}

async function variant(name: string, change: (doc: Record<string, any>) => void): Promise<string> {
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  change(doc);
  const file = join(dir, name);
  await writeFile(file, stringify(doc));
  return file;
}

const warnings = (r: CliRun) => r.stderr.split('\n').filter((l) => l.startsWith('enrollgate: warning: ')).map((l) => l.slice('enrollgate: warning: '.length));

beforeAll(async () => {
  slapd = await startSlapd();
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-check-config-'));
  ({ configFile } = await initOnFreePorts(dir));
  await writeFile(join(dir, 'ldap-ca.pem'), slapd.ca);
  ldap = { url: slapd.url, start_tls: true, ca_file: 'ldap-ca.pem', bind_dn: slapd.bindDn, bind_password: slapd.bindPassword, base_dn: slapd.baseDn, required_group: slapd.groupDn };
});
afterAll(async () => {
  await slapd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('check-config: every problem in one round', () => {
  it('a schema problem, an unreadable secret, a missing certificate and a missing LDAP CA, all at once; exit 2', async () => {
    const file = await variant('four.yaml', (doc) => {
      doc.session.time_zone = 'Mars/Olympus';
      doc.radius.clients[0].secret = { file: 'secrets/gone.secret' };
      doc.portal.https.cert_file = 'certs/gone.pem';
      doc.directory = { kind: 'ldap', ldap: { ...ldap, ca_file: 'gone-ca.pem' } };
    });
    const r = await cli(['check-config', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('enrollgate: invalid configuration:');
    expect(lines.slice(1, 5).map((l) => l.trim().split(':')[0])).toEqual(['session.time_zone', 'radius.clients[0].secret', 'portal.https.cert_file', 'directory.ldap.ca_file']);
    expect(r.stderr).toContain(`radius.clients[0].secret: cannot read secret file ${join(dir, 'secrets', 'gone.secret')}`);
    expect(r.stderr).toContain(`portal.https.cert_file: cannot read ${join(dir, 'certs', 'gone.pem')} (ENOENT); run \`enrollgate init\` or fix the path`);
    // init makes no LDAP CA: the message must not send the admin there.
    const ca = lines.find((l) => l.includes('directory.ldap.ca_file'))!;
    expect(ca).toContain(`cannot read ${join(dir, 'gone-ca.pem')} (ENOENT); put there the PEM certificate of the CA that signed the directory's TLS certificate (init does not create it)`);
    expect(ca).not.toContain('run `enrollgate init`');
    expect(r.stderr).not.toContain(slapd.bindPassword);
  });

  it('a section with a schema problem is not also reported for its files', async () => {
    const file = await variant('portal.yaml', (doc) => {
      doc.portal.base_url = 'javascript:alert(1)';
      doc.portal.https.cert_file = 'certs/gone.pem';
      doc.pki.ca_cert_file = 'certs/gone-ca.pem';
    });
    const r = await cli(['check-config', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('portal.base_url: got "javascript:alert(1)"');
    expect(r.stderr).not.toContain('portal.https.cert_file');
    expect(r.stderr).toContain(`pki.ca_cert_file: cannot read ${join(dir, 'certs', 'gone-ca.pem')}`);
  });
});

describe('check-config: warnings (exit 0)', () => {
  it('what init leaves to do: no Wi-Fi network for iPhones, no Android agent (so no settings for Android either), no admin role', async () => {
    const r = await cli(['check-config', '--config', configFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(warnings(r)).toEqual([
      'ios.wifi: empty: the enrollment profile sets up no Wi-Fi network, so an iPhone that installs it still cannot join; add the networks (ssid, security)',
      'android.agent: not set, and ios.wifi is empty: Android devices enroll but are given no Wi-Fi settings; add the networks, or set android.agent.file (the APK) or android.agent.url',
      'admin.roles.admin: empty: nobody can sign in to the admin console as an admin; list the directory groups of the admins',
      portalCertificateWarning("it is issued by the gateway's own CA, which phones do not trust"),
    ]);
  });

  it('placeholder secrets, named by path and never shown; group entries nobody in the users file has', async () => {
    const file = await variant('placeholders.yaml', (doc) => {
      doc.radius.clients[0].secret = 'change-me-0123456789abcdef';
      doc.audit.hmac_key = 'CHANGEME-the-audit-hmac-key-0123456789';
      doc.ios.wifi = [{ ssid: 'Office', security: 'wpa2-personal', password: 'testing123' }];
      doc.android = { agent: { version: '1.0.0', url: 'https://downloads.example.org/agent' } };
      doc.admin = { roles: { admin: ['wifi-admins'], helpdesk: [] } };
      doc.directory.file.required_group = 'wifi-users';
    });
    const r = await cli(['check-config', '--config', file]);
    expect(r.code, r.stderr).toBe(0);
    const w = warnings(r);
    for (const path of ['radius.clients[0].secret', 'ios.wifi[0].password', 'audit.hmac_key']) {
      expect(w).toContain(`${path}: looks like a placeholder or a well-known default (the value is hidden); set a random one, such as \`openssl rand -base64 24\``);
    }
    expect(w).toContain('admin.roles.admin[0]: nobody in the users file is in the group "wifi-admins", so it matches no one (yet)');
    expect(w).toContain('directory.file.required_group: nobody in the users file is in "wifi-users", so nobody can log in');
    expect(w.some((l) => l.startsWith('ios.wifi: empty') || l.startsWith('android.agent') || l.startsWith('admin.roles.admin: empty'))).toBe(false);
    for (const secret of ['change-me-0123456789abcdef', 'CHANGEME-the-audit', 'testing123']) expect(r.stderr).not.toContain(secret);

    // Once someone is in the groups, those two warnings go.
    const added = await cli(['users', 'add', 'ann', '--group', 'wifi-admins', '--group', 'wifi-users', '--config', file], 'ann-pass-1234\n');
    expect(added.code, added.stderr).toBe(0);
    const after = warnings(await cli(['check-config', '--config', file]));
    expect(after.some((l) => l.includes('nobody in the users file'))).toBe(false);
  });
});

describe('check-config: the Android path without an agent', () => {
  it('with networks but no agent, says Android gets the settings to enter by hand; with Android switched off, says nothing', async () => {
    const manual = await variant('android-manual.yaml', (doc) => {
      doc.ios.wifi = [{ ssid: 'Office', security: 'eap-peap', server_names: ['radius.example.org'] }];
    });
    expect(warnings(await cli(['check-config', '--config', manual]))).toContain(
      'android.agent: not set: Android devices get the Wi-Fi settings to enter by hand (and the CA and certificate to install) instead of the agent; set android.agent.file (the APK) or android.agent.url for the agent',
    );
    const off = await variant('android-off.yaml', (doc) => {
      doc.enrollment = { platforms: { android: false } };
    });
    expect(warnings(await cli(['check-config', '--config', off])).some((l) => l.startsWith('android.agent'))).toBe(false);
  });
});

describe('check-config --online', () => {
  let online: string;
  let wrongBind: string;
  beforeAll(async () => {
    online = await variant('online.yaml', (doc) => {
      doc.directory = { kind: 'ldap', ldap };
      doc.admin = { roles: { admin: [slapd.groupDn] } };
    });
    wrongBind = await variant('wrong-bind.yaml', (doc) => (doc.directory = { kind: 'ldap', ldap: { ...ldap, bind_password: 'not-the-service-password' } }));
  });

  it('binds, finds the user, resolves the groups and the admin role, opens the store; exit 0', async () => {
    const { alice } = SLAPD_USERS;
    const r = await cli(['check-config', '--online', '--user', alice.uid, '--config', online]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${online}: OK (1 RADIUS client(s), directory: ldap, store: sqlite)\nDirectory: LDAP ${slapd.url}, base ${slapd.baseDn}\n`);
    expect(r.stdout).toContain(`  ok      service account bind: bound as ${slapd.bindDn}`);
    expect(r.stdout).toContain(`  ok      user search: found ${alice.dn}`);
    expect(r.stdout).toContain(`  ok      group check: member of ${slapd.groupDn}`);
    expect(r.stdout).toContain(`  ok      groups: alice is in ${slapd.groupDn}; admin console role: admin`);
    expect(r.stdout).toContain(`Store: SQLite ${join(dir, 'state.sqlite')}\n  ok      open: opened\n`);
  });

  it('without --user: the bind only, and says the search was not done', async () => {
    const r = await cli(['check-config', '--online', '--config', online]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain(`  ok      bind: bound as ${slapd.bindDn}`);
    expect(r.stdout).toContain('  -       user search: not done: give --user NAME to look one up');
  });

  it('the users file: its first person by default', async () => {
    const r = await cli(['check-config', '--online', '--config', configFile]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('  ok      user: found employee');
    expect(r.stdout).toContain('  ok      groups: employee is in no group; admin console role: none');
  });

  it('a wrong service password: the offline check passes, the bind fails; exit 1', async () => {
    const r = await cli(['check-config', '--online', '--user', 'alice', '--config', wrongBind]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${wrongBind}: OK`);
    expect(r.stdout).toContain('  failed  service account bind: the directory refused the service account: wrong directory.ldap.bind_password (or bind_dn)');
    expect(r.stdout).not.toContain('user search');
    expect(r.stdout + r.stderr).not.toContain('not-the-service-password');
  });

  it('an unknown user: the search says so; exit 1', async () => {
    const r = await cli(['check-config', '--online', '--user', 'nobody', '--config', online]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  failed  user search: not found: no entry with uid=nobody under ${slapd.baseDn}`);
  });

  it('--user without --online is a usage error', async () => {
    const r = await cli(['check-config', '--user', 'alice', '--config', online]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('check-config: --user goes with --online');
  });

  it('slapd stopped: the connection fails, named as unreachable; exit 1 (last: it stops the server)', async () => {
    await slapd.stop();
    const r = await cli(['check-config', '--online', '--user', 'alice', '--config', online]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}failed {2}connection: .* is unreachable/m);
    expect(r.stdout).toContain('  ok      open: opened');
  });
});
