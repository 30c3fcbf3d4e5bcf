import { spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ntHashOf, verifyPassword } from '../../../src/directory/file-directory.js';
import { auditRecords } from '../../helpers/audit-records.js';
import { call, formOf } from '../../helpers/http.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { accountingStart } from '../../helpers/radclient.js';
import { cliEntry, runCli, SOURCE_RUN_MS, type CliRun } from '../../helpers/source.js';

/**
 * `enrollgate users …` as an admin runs it: a separate process on the users file of a
 * gateway that keeps running, whose portal must take the change at the next login. The
 * password goes in on stdin (not a terminal), and once through a real terminal (script(1)).
 */

let t: TestGateway;
let usersFile: string;
const outputs: string[] = [];
const PASSWORDS = ['ann-pass-1234', 'ann-pass-5678', 'employee-new-1', 'employee-new-2', 'cyd-tty-pass-1'];

async function cli(args: readonly string[], stdin = ''): Promise<CliRun> {
  const run = await runCli([...args, '--config', t.configFile], { cwd: t.dir, input: stdin, timeoutMs: 20_000 });
  outputs.push(run.stdout + run.stderr);
  return run;
}

let device = 0;
/** A login at the portal's registration form from a new device: true when the gateway took it (a redirect onward). */
async function portalLogin(username: string, password: string): Promise<boolean> {
  device++;
  const ip = `10.9.2.${device}`;
  await accountingStart(t.gateway.ports.acct, TEST_NAS_SECRET, `3c:d0:00:00:02:${device.toString(16).padStart(2, '0')}`, ip, `users-${device}`);
  const form = formOf(await call(t.httpUrl, 'GET', '/portal', { ip }));
  const done = await call(t.httpUrl, 'POST', new URL(form.action, t.httpUrl).pathname, { ip, cookie: form.cookie, form: { _csrf: form.csrf, username, password } });
  return done.status === 302 || done.status === 303;
}

async function entry(name: string): Promise<Record<string, unknown> | undefined> {
  const doc = parse(await readFile(usersFile, 'utf8')) as { users: Record<string, unknown>[] };
  return doc.users.find((u) => u['username'] === name);
}

beforeAll(async () => {
  t = await startTestGateway({ configure: (doc) => void (doc.portal.trust_proxy = true) });
  usersFile = t.config.directory.file.path;
  // An admin's own comment, which the commands must leave as it is, and the advice of the
  // header init wrote before these commands existed, which they replace.
  const text = (await readFile(usersFile, 'utf8'))
    .replace(/^users:\n/m, 'users:\n  # the first account, made by init\n')
    .replace('# Manage people with the command line, which hashes the password it asks for:\n', '# Make one with hashPassword() from src/directory/file-directory.ts.\n');
  await writeFile(usersFile, text);
  await chmod(usersFile, 0o640);
});
afterAll(async () => {
  await t?.close();
});

describe('enrollgate users, while the gateway runs', () => {
  it('add: the portal takes the new person at once; the file keeps its comments, mode and the others', async () => {
    expect(await portalLogin('ann', PASSWORDS[0]!)).toBe(false);
    const r = await cli(['users', 'add', 'ann', '--group', 'wifi-users', '--display-name', 'Ann Example'], `${PASSWORDS[0]}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Updated ${usersFile}: added ann (groups: wifi-users).\n`);
    expect(await portalLogin('ann', PASSWORDS[0]!)).toBe(true);

    const text = await readFile(usersFile, 'utf8');
    expect(text).toContain('  # the first account, made by init\n  - username: employee');
    expect(text).toContain('# Make one with `enrollgate users add NAME` or `enrollgate users passwd NAME`.\n');
    expect(text).not.toContain('hashPassword()');
    expect((await stat(usersFile)).mode & 0o777).toBe(0o640);
    const ann = await entry('ann');
    expect(ann).toMatchObject({ display_name: 'Ann Example', groups: ['wifi-users'] });
    expect(await verifyPassword(PASSWORDS[0]!, ann!['password'] as string)).toBe(true);
    expect(ann).not.toHaveProperty('nt_hash');
    expect(await portalLogin('employee', t.employeePassword)).toBe(true);
  });

  it('list: each person, their groups and whether an NT hash is kept; never a hash', async () => {
    const r = await cli(['users', 'list']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${usersFile}: 2 user(s)\n  employee  groups: -\n  ann (Ann Example)  groups: wifi-users\n`);
  });

  it('passwd: the old password is refused and the new one taken, without a restart', async () => {
    const r = await cli(['users', 'passwd', 'ANN'], `${PASSWORDS[1]}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Changed the password of ann in ${usersFile}. The next login uses it.\n`);
    expect(await portalLogin('ann', PASSWORDS[0]!)).toBe(false);
    expect(await portalLogin('ann', PASSWORDS[1]!)).toBe(true);
  });

  it('passwd --nt-hash adds the NT hash; a later passwd replaces it with the new password’s', async () => {
    const added = await cli(['users', 'passwd', 'employee', '--nt-hash'], `${PASSWORDS[2]}\n`);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('an NT hash for PEAP was added');
    expect((await entry('employee'))!['nt_hash']).toBe(ntHashOf(PASSWORDS[2]!));

    const replaced = await cli(['users', 'passwd', 'employee'], `${PASSWORDS[3]}\n`);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain('its NT hash (PEAP) changed with it');
    const employee = await entry('employee');
    expect(employee!['nt_hash']).toBe(ntHashOf(PASSWORDS[3]!));
    expect(await verifyPassword(PASSWORDS[3]!, employee!['password'] as string)).toBe(true);
  });

  it('remove: the next login is refused, and the admin is told how to end the sessions', async () => {
    const r = await cli(['users', 'remove', 'ann']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Removed ann from ${usersFile}: the next login as ann is refused.`);
    expect(r.stdout).toContain('`enrollgate sessions revoke --user ann` ends them now');
    expect(await portalLogin('ann', PASSWORDS[1]!)).toBe(false);
    expect(await entry('ann')).toBeUndefined();
  });

  it('each change is audited with the OS user, and no password or hash', async () => {
    t.gateway.audit.drainSpool();
    const records = auditRecords(t).filter((r) => r.type.startsWith('user.'));
    expect(records.map((r) => [r.type, r['user']])).toEqual([
      ['user.added', 'ann'],
      ['user.password_changed', 'ann'],
      ['user.password_changed', 'employee'],
      ['user.password_changed', 'employee'],
      ['user.removed', 'ann'],
    ]);
    expect(records.every((r) => typeof r['by'] === 'string' && (r['by'] as string).startsWith('cli:'))).toBe(true);
    expect(records.map((r) => r['nt_hash'])).toEqual([false, 'none', 'added', 'replaced', undefined]);
    expect(JSON.stringify(records)).not.toMatch(/scrypt\$/);
  });
});

describe('enrollgate users, refusals: exit 2, a message naming the problem, the file unchanged', () => {
  const refusals: Array<[string, string[], string, string]> = [
    ['a duplicate, compared without case', ['users', 'add', 'EMPLOYEE'], 'x-password-1\n', `there is already a user employee in ${'FILE'} (usernames are compared without case); change the password with \`enrollgate users passwd employee\``],
    ['a missing user, before any password is read', ['users', 'passwd', 'nobody'], '', `there is no user nobody in ${'FILE'} (\`enrollgate users list\` shows who there is)`],
    ['a missing user to remove', ['users', 'remove', 'nobody'], '', `there is no user nobody in ${'FILE'}`],
    ['a bad name', ['users', 'add', 'ann smith'], 'x-password-1\n', 'users add: "ann smith" is not a valid username: use 1 to 64 letters, digits'],
    ['a DOMAIN\\ name', ['users', 'add', 'CORP\\ann'], 'x-password-1\n', 'is not a valid username'],
    ['a short password', ['users', 'add', 'dan'], 'short\n', 'the password must have at least 8 characters'],
    ['no password', ['users', 'add', 'dan'], '', 'no password given'],
    ['no name', ['users', 'passwd'], '', 'users passwd takes one username'],
    ['a flag of another subcommand', ['users', 'remove', 'employee', '--group', 'x'], '', 'users remove does not take --group'],
    ['an unknown subcommand', ['users', 'delete', 'employee'], '', 'unknown users command "delete"'],
  ];
  for (const [what, args, stdin, message] of refusals) {
    it(what, async () => {
      const before = await readFile(usersFile, 'utf8');
      const r = await cli(args, stdin);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message.replace('FILE', usersFile));
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await readFile(usersFile, 'utf8')).toBe(before);
    });
  }

  it('a users file that is not valid: exit 1, named, nothing written', async () => {
    const good = await readFile(usersFile, 'utf8');
    await writeFile(usersFile, `${good}  - username: eve\n    password: plain-text\n`);
    try {
      const r = await cli(['users', 'add', 'dan'], 'dan-pass-1234\n');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`The users file ${usersFile} is not valid: users[1].password: must be an scrypt hash`);
      expect(r.stderr).toContain('nothing was changed');
      expect(r.stderr).not.toContain('plain-text');
    } finally {
      await writeFile(usersFile, good);
    }
  });

  it('an LDAP directory: users are managed there', async () => {
    const doc = parse(await readFile(t.configFile, 'utf8')) as Record<string, any>;
    doc.directory = { kind: 'ldap', ldap: { url: 'ldap://127.0.0.1:1', start_tls: false, bind_dn: 'cn=x', bind_password: 'y', base_dn: 'dc=example,dc=org' } };
    const ldapConfig = join(t.dir, 'ldap.yaml');
    await writeFile(ldapConfig, stringify(doc));
    const r = await runCli(['users', 'list', '--config', ldapConfig], { cwd: t.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('users list: directory.kind is ldap; people are managed in the LDAP directory itself');
  });
});

/**
 * The CLI under a real terminal (script(1) gives it a pty): what is typed after the prompt
 * must not come back, and the password is asked twice. Each answer is sent only once the
 * prompt is on the screen: typed earlier, the terminal would still be in echo mode.
 */
function underTerminal(args: readonly string[], answers: readonly string[]): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, cliEntry(), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: t.dir, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  const pending = [...answers];
  let prompts = 0;
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
    const seen = (screen.match(/New password for|The same again/g) ?? []).length;
    while (prompts < seen && pending.length > 0) {
      prompts++;
      child.stdin.write(`${pending.shift()}\r`);
    }
  });
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => child.kill('SIGKILL'), SOURCE_RUN_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      outputs.push(screen);
      resolve({ code, screen });
    });
  });
}

describe('enrollgate users at a terminal', () => {
  it('asks twice without echo, and the person can log in', async () => {
    const r = await underTerminal(['users', 'add', 'cyd', '--config', t.configFile], [PASSWORDS[4]!, PASSWORDS[4]!]);
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toContain('New password for cyd: ');
    expect(r.screen).toContain('The same again: ');
    expect(r.screen).toContain(`added cyd`);
    expect(r.screen).not.toContain(PASSWORDS[4]);
    expect(await portalLogin('cyd', PASSWORDS[4]!)).toBe(true);
  });

  it('two different answers: nothing is changed', async () => {
    const before = await readFile(usersFile, 'utf8');
    const r = await underTerminal(['users', 'passwd', 'cyd', '--config', t.configFile], ['cyd-first-try', 'cyd-second-try']);
    expect(r.code).toBe(2);
    expect(r.screen).toContain('the two passwords differ; nothing was changed');
    expect(r.screen).not.toContain('cyd-first-try');
    expect(await readFile(usersFile, 'utf8')).toBe(before);
  });
});

describe('the passwords', () => {
  it('never appear in what the commands printed', () => {
    const all = outputs.join('\n');
    for (const secret of PASSWORDS) expect(all).not.toContain(secret);
  });
});
