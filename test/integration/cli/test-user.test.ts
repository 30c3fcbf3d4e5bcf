import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../src/directory/file-directory.js';
import { initOnFreePorts } from '../../helpers/gateway.js';
import { runCli, type CliRun } from '../../helpers/source.js';
import { SLAPD_AMBIGUOUS_UID, SLAPD_USERS, startSlapd, type Slapd } from '../../helpers/slapd.js';

/**
 * `enrollgate test user` as an admin runs it (a separate process, as in cli.test.ts) against a
 * real slapd and a users file. The password goes in on stdin, which is not a terminal here.
 */


let slapd: Slapd;
let dir: string;
/** Configs beside the one init wrote: the slapd with the right bind password, the wrong one, and a users file. */
const configs = { ldap: '', wrongBind: '', file: '' };
const outputs: string[] = [];

async function cli(args: readonly string[], stdin = ''): Promise<CliRun> {
  const run = await runCli(args, { cwd: dir, input: stdin, timeoutMs: 20_000 });
  outputs.push(run.stdout + run.stderr);
  return run;
}

const testUser = (config: string, name: string, ...rest: string[]) => ['test', 'user', name, '--config', config, ...rest];

async function variant(base: string, name: string, change: (doc: Record<string, any>) => void): Promise<string> {
  const doc = parse(await readFile(base, 'utf8')) as Record<string, any>;
  change(doc);
  const file = join(dir, name);
  await writeFile(file, stringify(doc));
  return file;
}

beforeAll(async () => {
  slapd = await startSlapd();
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-test-user-'));
  const { configFile } = await initOnFreePorts(dir);
  await writeFile(join(dir, 'ldap-ca.pem'), slapd.ca);
  const ldap = {
    url: slapd.url,
    start_tls: true,
    ca_file: 'ldap-ca.pem',
    bind_dn: slapd.bindDn,
    bind_password: slapd.bindPassword,
    base_dn: slapd.baseDn,
    required_group: slapd.groupDn,
  };
  configs.ldap = await variant(configFile, 'ldap.yaml', (doc) => (doc.directory = { kind: 'ldap', ldap }));
  configs.wrongBind = await variant(configFile, 'wrong-bind.yaml', (doc) => (doc.directory = { kind: 'ldap', ldap: { ...ldap, bind_password: 'not-the-service-password' } }));
  await writeFile(
    join(dir, 'people.yaml'),
    stringify({
      users: [
        { username: 'ann', groups: ['wifi-users'], password: await hashPassword('ann-pass-1') },
        { username: 'ben', groups: [], password: await hashPassword('ben-pass-2') },
      ],
    }),
  );
  configs.file = await variant(configFile, 'file.yaml', (doc) => (doc.directory = { kind: 'file', file: { path: 'people.yaml', required_group: 'wifi-users' } }));
});
afterAll(async () => {
  await slapd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('enrollgate test user, LDAP', () => {
  const { alice, bob } = SLAPD_USERS;

  it('a good user without --password: found and in the group, the password not checked; exit 0', async () => {
    const r = await cli(testUser(configs.ldap, alice.uid));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Directory: LDAP ${slapd.url}, base ${slapd.baseDn}; user alice (password not checked: add --password)`);
    expect(r.stdout).toContain(`  ok      connection: ${slapd.url}`);
    expect(r.stdout).toContain('  ok      StartTLS: TLS established');
    expect(r.stdout).toContain(`  ok      service account bind: bound as ${slapd.bindDn}`);
    expect(r.stdout).toContain(`  ok      user search: found ${alice.dn}`);
    expect(r.stdout).toContain(`  ok      group check: member of ${slapd.groupDn}`);
    expect(r.stdout).not.toContain('user bind');
    expect(r.stdout).toContain('Result: alice (Alice Example) is in the directory and allowed.');
  });

  it('with --password (one line on stdin): the user bind too; exit 0', async () => {
    const r = await cli(testUser(configs.ldap, alice.uid, '--password'), `${alice.password}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  ok      user bind: the password is right');
    expect(r.stdout).toContain('Result: alice (Alice Example) can log in.');
  });

  it('a wrong password: the user bind fails; exit 1', async () => {
    const r = await cli(testUser(configs.ldap, alice.uid, '--password'), 'not-alices-password\n');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  ok      group check: member of ${slapd.groupDn}`);
    expect(r.stdout).toContain('  failed  user bind: wrong password: the directory refused the bind');
    expect(r.stdout).toContain('Result: alice cannot log in.');
  });

  it('an unknown user: not found by the search, under which base; exit 1', async () => {
    const r = await cli(testUser(configs.ldap, 'nobody'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  failed  user search: not found: no entry with uid=nobody under ${slapd.baseDn}`);
    expect(r.stdout).not.toContain('group check');
  });

  it('two entries with the uid: the search says it is ambiguous', async () => {
    const r = await cli(testUser(configs.ldap, SLAPD_AMBIGUOUS_UID));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ {2}failed {2}user search: The username is ambiguous in the directory/);
  });

  it('a user outside required_group: the group check fails, and the password is still checked as a login does; exit 1', async () => {
    const r = await cli(testUser(configs.ldap, bob.uid, '--password'), `${bob.password}\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  failed  group check: not a member of required_group ${slapd.groupDn}`);
    expect(r.stdout).toContain('  ok      user bind: the password is right');
    expect(r.stdout).toContain('Result: bob cannot log in.');
  });

  it('the service account’s password wrong: its bind fails, named as such', async () => {
    const r = await cli(testUser(configs.wrongBind, alice.uid));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  ok      connection: ${slapd.url}`);
    expect(r.stdout).toContain('  failed  service account bind: the directory refused the service account: wrong directory.ldap.bind_password (or bind_dn)');
    expect(r.stdout).not.toContain('user search');
  });

  it('bad usage exits 2: no name, an empty password, a flag of test mac', async () => {
    expect((await cli(['test', 'user', '--config', configs.ldap])).stderr).toContain('test user takes one username');
    const empty = await cli(testUser(configs.ldap, alice.uid, '--password'), '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('test user --password: no password given');
    const misplaced = await cli(testUser(configs.ldap, alice.uid, '--nas', 'x'));
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('test user does not take --nas');
  });

  it('slapd stopped: the connection fails, named as unreachable (last: it stops the server)', async () => {
    await slapd.stop();
    const r = await cli(testUser(configs.ldap, alice.uid));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^ {2}failed {2}connection: ${slapd.url.replace(/[.:/]/g, '\\$&')} is unreachable \\(.+\\)$`, 'm'));
    expect(r.stdout).not.toContain('service account bind');
  });
});

describe('enrollgate test user, users file', () => {
  it('the file, the user, the group and the password; each failure named', async () => {
    const good = await cli(testUser(configs.file, 'ann', '--password'), 'ann-pass-1\n');
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain(`  ok      users file: ${join(dir, 'people.yaml')}: 2 user(s)`);
    expect(good.stdout).toContain('  ok      user: found ann');
    expect(good.stdout).toContain('  ok      group check: in wifi-users');
    expect(good.stdout).toContain('  ok      password: the password is right');

    const wrong = await cli(testUser(configs.file, 'ann', '--password'), 'guess\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('  failed  password: wrong password');
    const outside = await cli(testUser(configs.file, 'ben'));
    expect(outside.code).toBe(1);
    expect(outside.stdout).toContain('  failed  group check: not in required_group wifi-users');
    const unknown = await cli(testUser(configs.file, 'cyd'));
    expect(unknown.stdout).toContain('  failed  user: not found: no user cyd in the users file');
  });
});

describe('the passwords', () => {
  it('never appear in what the command printed', () => {
    const all = outputs.join('\n');
    for (const secret of [SLAPD_USERS.alice.password, SLAPD_USERS.bob.password, 'not-alices-password', 'ann-pass-1', 'guess', slapd.bindPassword, 'not-the-service-password']) {
      expect(all).not.toContain(secret);
    }
  });
});
