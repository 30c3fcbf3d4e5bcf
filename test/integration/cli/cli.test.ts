import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { radiusWorkersFor } from '../../../src/cli/commands/init.js';
import { FileDirectory } from '../../../src/directory/file-directory.js';
import { InvalidCredentialsError } from '../../../src/errors.js';
import { portalCertificateWarning } from '../../../src/pki/portal-certificate.js';
import { freeTcpPort, freeUdpPort } from '../../helpers/ports.js';
import { radclient } from '../../helpers/radclient.js';
import { cliEntry } from '../../helpers/source.js';

/**
 * The CLI as people run it: a separate process in a temporary working directory.
 *
 * It runs the sources as this vitest run compiled them (`node <build>/cli/index.js`,
 * helpers/source.ts's cliEntry()) rather than dist/: dist/ is shared with everybody working in
 * the checkout (a concurrent build could swap files under a running test), and a stale dist/
 * would test yesterday's code. `node <file>` keeps the CLI in one process, so a signal reaches
 * it directly and its exit code is its own (`npx` puts a parent in between).
 */

/** What check-config says about the portal certificate init makes (the gateway CA's): on every config here. */
const GATEWAY_CA_CERTIFICATE = `enrollgate: warning: ${portalCertificateWarning("it is issued by the gateway's own CA, which phones do not trust")}\n`;

/** How long one CLI run may take (init generates RSA keys). */
const RUN_DEADLINE_MS = 20_000;

/**
 * What a test that starts and stops the gateway up to three times may take: each start and
 * each exit has its own RUN_DEADLINE_MS, which fails first with the output; this is the backstop.
 */
const STARTS_MS = 3 * 2 * RUN_DEADLINE_MS;

/** A value given to the gateway through the environment; it must never be printed. */
const ENV_NAS_SECRET = 'env-nas-Secret-3d7f0a9b1c2e';
const ENV_SECRET_VAR = 'EG_CLI_TEST_NAS_SECRET';

/** Every secret a run could have printed, and every run's output: checked at the end. */
const secrets = new Set<string>([ENV_NAS_SECRET]);
const outputs: Array<{ args: readonly string[]; text: string }> = [];
const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(node:.+\))$/m;

const temps: string[] = [];
async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `enrollgate-cli-${name}-`));
  temps.push(dir);
  return dir;
}

function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  // Only what a test sets: an ENROLLGATE_CONFIG or the secret from the machine running the tests would change what is tested.
  if (!('ENROLLGATE_CONFIG' in extra)) delete env.ENROLLGATE_CONFIG;
  if (!(ENV_SECRET_VAR in extra)) delete env[ENV_SECRET_VAR];
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running CLI process whose stdout lines can be awaited. */
class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Run>;
  #waiters: Array<() => void> = [];
  #closed = false;

  constructor(
    readonly args: readonly string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [cliEntry(), ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.end();
    this.child.stdout.on('data', (d: Buffer) => {
      this.stdout += d.toString('utf8');
      this.#wake();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
      this.#wake();
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        this.#closed = true;
        outputs.push({ args, text: `${this.stdout}\n${this.stderr}` });
        this.#wake();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Whether the process has exited and its output has been read to the end. */
  get done(): boolean {
    return this.#closed;
  }

  /** Resolves with the first stdout line `match` accepts, or undefined when the process ends first; rejects at the deadline. */
  async waitForLine<T>(match: (line: string) => T | undefined, deadlineMs = RUN_DEADLINE_MS): Promise<T | undefined> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      // Complete lines only: a JSON log line may arrive in pieces.
      const done = this.done;
      const lines = this.stdout.split('\n');
      for (const line of done ? lines : lines.slice(0, -1)) {
        const found = match(line);
        if (found !== undefined) return found;
      }
      if (done) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching line within ${deadlineMs} ms from enrollgate ${this.args.join(' ')}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the exit, killing the process at the deadline. */
  async exit(deadlineMs = RUN_DEADLINE_MS): Promise<Run> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`enrollgate ${this.args.join(' ')} did not exit within ${deadlineMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, deadlineMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const running = new Set<Cli>();

function startCli(args: readonly string[], cwd: string, env: Record<string, string | undefined> = {}): Cli {
  const cli = new Cli(args, cwd, cliEnv(env));
  running.add(cli);
  void cli.exited.finally(() => running.delete(cli));
  return cli;
}

/** Runs the CLI to its end. Never a stack trace, whatever happened. */
async function run(args: readonly string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  const result = await startCli(args, cwd, env).exit();
  expect(result.stderr, `stack trace from enrollgate ${args.join(' ')}`).not.toMatch(STACK_LINE);
  expect(result.stdout).not.toMatch(STACK_LINE);
  return result;
}

/** The "enrollgate started" log line of a running gateway, parsed; undefined when the process exited first. */
function startedLine(cli: Cli): Promise<{ ports: { http: number; https: number; auth: number; acct: number } } | undefined> {
  return cli.waitForLine((line) => {
    if (!line.startsWith('{"')) return undefined;
    const entry = JSON.parse(line) as { msg?: string; ports?: { http: number; https: number; auth: number; acct: number } };
    return entry.msg === 'enrollgate started' ? (entry as { ports: { http: number; https: number; auth: number; acct: number } }) : undefined;
  });
}

/** Resolves when TCP `port` on 127.0.0.1 can be bound (and lets it go again). */
function bindTcp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

function bindUdp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve()));
  });
}

/** Holds TCP `port` on 127.0.0.1 until the returned function is called. */
async function holdTcp(port: number): Promise<() => Promise<void>> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return () => new Promise((resolve) => server.close(() => resolve()));
}

async function holdUdp(port: number): Promise<() => Promise<void>> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
  });
  return () => new Promise((resolve) => socket.close(() => resolve()));
}

interface Ports {
  http: number;
  https: number;
  auth: number;
  acct: number;
}

async function freePorts(): Promise<Ports> {
  return { http: await freeTcpPort(), https: await freeTcpPort(), auth: await freeUdpPort(), acct: await freeUdpPort() };
}

/** Every file under `dir` with its content and modification time, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = `${statSync(path).mtimeMs} ${statSync(path).mode.toString(8)} ${readFileSync(path, 'base64')}`;
    }
  };
  walk(dir);
  return out;
}

const mode = (path: string): number => statSync(path).mode & 0o777;

/** The password init printed for the first user. */
function printedPassword(stdout: string): string {
  const m = /shown only this once: (\S+)/.exec(stdout);
  if (!m) throw new Error(`init printed no password:\n${stdout}`);
  return m[1]!;
}

/** An init-generated installation in `cwd/D`, with the config rewritten to use free ports. */
interface Installation {
  readonly cwd: string;
  readonly dir: string;
  readonly configFile: string;
  readonly ports: Ports;
  /** The config document as init wrote it, with the free ports. */
  readonly doc: Record<string, any>;
}

async function install(name: string): Promise<Installation> {
  const cwd = await tempDir(name);
  const result = await run(['init', '--dir', 'D'], cwd);
  expect(result.code, result.stderr).toBe(0);
  const dir = join(cwd, 'D');
  const configFile = join(dir, 'enrollgate.yaml');
  secrets.add(readFileSync(join(dir, 'secrets', 'nas-localhost.secret'), 'utf8').trim());
  const ports = await freePorts();
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  doc.portal.http.port = ports.http;
  doc.portal.https.port = ports.https;
  doc.portal.base_url = `https://127.0.0.1:${ports.https}`;
  doc.radius.auth_port = ports.auth;
  doc.radius.acct_port = ports.acct;
  await writeFile(configFile, stringify(doc));
  return { cwd, dir, configFile, ports, doc };
}

/** Writes a variant of an installation's config next to it (so its relative paths still hold). */
async function variant(inst: Installation, name: string, change: (doc: Record<string, any>) => void): Promise<string> {
  const doc = structuredClone(inst.doc);
  change(doc);
  const file = join(inst.dir, name);
  await writeFile(file, stringify(doc));
  return file;
}

/** Proves a process that failed at start never got as far as its ports: every one can be bound now, and no state was opened. */
async function expectNeverListened(result: Run, inst: Installation): Promise<void> {
  expect(result.stdout).not.toContain('enrollgate started');
  expect(result.stdout).not.toContain('RADIUS listening');
  // The state store opens after the files are read and before any port: it was never reached.
  expect(existsSync(join(inst.dir, 'state.sqlite'))).toBe(false);
  await Promise.all([bindTcp(inst.ports.http), bindTcp(inst.ports.https), bindUdp(inst.ports.auth), bindUdp(inst.ports.acct)]);
}

afterAll(async () => {
  for (const cli of running) cli.child.kill('SIGKILL');
  await Promise.all([...running].map((c) => c.exited.catch(() => undefined)));
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe('enrollgate init --dir D', () => {
  let cwd: string;
  let dir: string;
  let first: Run;

  beforeAll(async () => {
    cwd = await tempDir('init');
    first = await run(['init', '--dir', 'D'], cwd);
    dir = join(cwd, 'D');
  });

  it('writes the config, users file, NAS secret, CA and server certificate under D', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    for (const f of ['enrollgate.yaml', 'users.yaml', 'secrets/nas-localhost.secret', 'certs/ca.pem', 'certs/ca-key.pem', 'certs/server.pem', 'certs/server-key.pem']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    // Nothing outside D: the working directory holds D only.
    expect(readdirSync(cwd)).toEqual(['D']);
    expect(first.stdout).toContain(`Wrote ${join(dir, 'enrollgate.yaml')}.`);
  });

  it('writes radius.workers as this machine’s cores, so that a new gateway uses them', async () => {
    const doc = parse(await readFile(join(dir, 'enrollgate.yaml'), 'utf8')) as Record<string, any>;
    expect(doc.radius.workers).toBe(radiusWorkersFor(availableParallelism()));
  });

  it('keeps private keys, the secret, the users file and the config private (0600)', () => {
    for (const f of ['certs/ca-key.pem', 'certs/server-key.pem', 'secrets/nas-localhost.secret', 'users.yaml', 'enrollgate.yaml']) {
      expect(mode(join(dir, f)).toString(8), f).toBe('600');
    }
  });

  it('issues a server certificate that verifies against its CA (openssl verify)', async () => {
    const { stdout } = await promisify(execFile)('openssl', ['verify', '-CAfile', join(dir, 'certs', 'ca.pem'), join(dir, 'certs', 'server.pem')]);
    expect(stdout.trim()).toBe(`${join(dir, 'certs', 'server.pem')}: OK`);
  });

  it('prints the first password exactly once, and it logs in against the users file', async () => {
    const password = printedPassword(first.stdout);
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(first.stdout.split(password)).toHaveLength(2);
    expect(readFileSync(join(dir, 'users.yaml'), 'utf8')).not.toContain(password);
    const directory = new FileDirectory(join(dir, 'users.yaml'));
    await expect(directory.authenticate('employee', password)).resolves.toMatchObject({ username: 'employee' });
    await expect(directory.authenticate('employee', `${password}x`)).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('writes a config that points at what it created and passes check-config', async () => {
    const doc = parse(readFileSync(join(dir, 'enrollgate.yaml'), 'utf8')) as Record<string, any>;
    expect(doc.portal.https).toMatchObject({ cert_file: 'certs/server.pem', key_file: 'certs/server-key.pem' });
    expect(doc.radius.clients).toEqual([expect.objectContaining({ address: '127.0.0.1', secret: { file: 'secrets/nas-localhost.secret' } })]);
    const secret = readFileSync(join(dir, 'secrets', 'nas-localhost.secret'), 'utf8').trim();
    secrets.add(secret);
    expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(first.stdout).not.toContain(secret);
    const check = await run(['check-config', '--config', join(dir, 'enrollgate.yaml')], cwd);
    expect(check.code, check.stderr).toBe(0);
    // The one warning: the portal's certificate is the gateway CA's, which phones do not trust.
    // What init leaves to do (check-config.test.ts), and last the portal certificate's warning.
    expect(check.stderr.endsWith(GATEWAY_CA_CERTIFICATE)).toBe(true);
  });

  it('says plainly that the portal needs a publicly trusted certificate, and what a phone sees without one', () => {
    expect(first.stdout).toContain('Before employees use the portal: it needs a publicly trusted HTTPS certificate for 127.0.0.1.');
    expect(first.stdout).toContain(`The one init made (${join(dir, 'certs', 'server.pem')}) is issued by the gateway's own CA, which phones do not trust`);
    expect(first.stdout).toContain('"This Connection Is Not Private" in Safari');
    expect(first.stdout).toContain('README, "The portal\'s certificate"');
  });

  it('refuses a second run with a clear message and changes nothing', async () => {
    const before = snapshot(dir);
    const again = await run(['init', '--dir', 'D'], cwd);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`${join(dir, 'enrollgate.yaml')} already exists; init never overwrites it`);
    expect(again.stdout).not.toMatch(/password/i);
    expect(snapshot(dir)).toEqual(before);
  });

  it('without --dir writes ./data/enrollgate.yaml and ./certs', async () => {
    const bare = await tempDir('init-bare');
    const result = await run(['init'], bare);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(bare).sort()).toEqual(['certs', 'data']);
    expect(existsSync(join(bare, 'data', 'enrollgate.yaml'))).toBe(true);
    expect(existsSync(join(bare, 'certs', 'server.pem'))).toBe(true);
    secrets.add(readFileSync(join(bare, 'data', 'secrets', 'nas-localhost.secret'), 'utf8').trim());
    // …and check-config without flags finds it, relative to the working directory.
    const check = await run(['check-config'], bare);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(`${join(bare, 'data', 'enrollgate.yaml')}: OK`);
  });

  it('refuses a --portal-url or --listen that would write a broken config', async () => {
    const bad = await tempDir('init-bad');
    const url = await run(['init', '--portal-url', 'wifi.example.org'], bad);
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('--portal-url: got "wifi.example.org"; expected an absolute http(s) URL');
    const listen = await run(['init', '--listen', 'localhost'], bad);
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain('--listen: got "localhost"; expected an IP address');
    expect(readdirSync(bad)).toEqual([]);
  });
});

describe('enrollgate check-config', () => {
  let inst: Installation;
  let broken: string;

  beforeAll(async () => {
    inst = await install('check');
    broken = await variant(inst, 'broken.yaml', (doc) => {
      doc.session.time_zone = 'Mars/Olympus';
      doc.session.daily_cutoff = '4am';
      doc.portal.base_url = 'javascript:alert(1)';
      doc.radius.auth_port = 70000;
      doc.radius.client = doc.radius.clients;
      doc.radius.clients = [{ name: 'wlc', address: '10.0.0.999', secret: 1234567890123456 }];
    });
  });

  it('exits 0 on the config init wrote', async () => {
    const result = await run(['check-config', '--config', inst.configFile], inst.cwd);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${inst.configFile}: OK (1 RADIUS client(s), directory: file, store: sqlite)\n`);
  });

  it('exits 2 and lists every problem with its key path, value and expectation (secrets hidden)', async () => {
    const result = await run(['check-config', '--config', broken], inst.cwd);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n');
    const expected = [
      'session.daily_cutoff: got "4am"; expected a 24-hour time HH:MM',
      'session.time_zone: got "Mars/Olympus"; expected an IANA time zone',
      'portal.base_url: got "javascript:alert(1)"; expected an absolute http(s) URL',
      'radius.auth_port: got 70000; expected a port number from 1 to 65535',
      'radius.clients[0].address: got "10.0.0.999"; expected an IP address or CIDR',
      'radius.clients[0].secret: got (hidden); expected a secret',
      'radius.client: unknown key (did you mean "clients"?)',
    ];
    for (const e of expected) expect(lines.some((l) => l.trim().startsWith(e)), `${e}\nin:\n${result.stderr}`).toBe(true);
    expect(result.stderr).not.toContain('1234567890123456');
    expect(result.stderr).toContain(broken);
  });

  it('warns, naming the path, about an admin group DN split at its commas, and still exits 0', async () => {
    const ldap = {
      url: 'ldaps://ldap.example.org:636',
      bind_dn: 'cn=portal-svc,ou=services,dc=example,dc=org',
      bind_password: 'cli-test-bind-password',
      base_dn: 'ou=people,dc=example,dc=org',
    };
    // What YAML makes of `admin: [cn=wifi-admins,ou=groups,dc=example,dc=org]`: four strings.
    const split = await variant(inst, 'split-dn.yaml', (doc) => {
      doc.directory = { kind: 'ldap', ldap };
      doc.admin = { roles: { admin: ['cn=wifi-admins', 'ou=groups', 'dc=example', 'dc=org'] } };
    });
    const warned = await run(['check-config', '--config', split], inst.cwd);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stdout).toBe(`${split}: OK (1 RADIUS client(s), directory: ldap, store: sqlite)\n`);
    expect(warned.stderr).toMatch(/^enrollgate: warning: admin\.roles\.admin\[0\] to \[3\]: .* write it quoted: \["cn=wifi-admins,ou=groups,dc=example,dc=org"\]$/m);
    // init's certificate is the gateway's own CA's: the portal certificate warning comes last.
    expect(warned.stderr.endsWith(GATEWAY_CA_CERTIFICATE)).toBe(true);

    const quoted = await variant(inst, 'quoted-dn.yaml', (doc) => {
      doc.directory = { kind: 'ldap', ldap };
      doc.admin = { roles: { admin: ['cn=wifi-admins,ou=groups,dc=example,dc=org'] } };
    });
    const clean = await run(['check-config', '--config', quoted], inst.cwd);
    expect(clean.code, clean.stderr).toBe(0);
    // Only the warnings of what init leaves to do (check-config.test.ts) and the certificate's, none about the roles.
    expect(clean.stderr).not.toContain('admin.roles');
    expect(clean.stderr.endsWith(GATEWAY_CA_CERTIFICATE)).toBe(true);

    // start logs it too, as a config.warning line before "enrollgate started" (the directory is not asked at start).
    const cli = startCli(['start', '--config', split], inst.cwd);
    try {
      expect(await startedLine(cli), cli.stderr).toBeDefined();
    } finally {
      cli.child.kill('SIGTERM');
      expect((await cli.exit()).code).toBe(0);
    }
    const logged = cli.stdout.split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l) as { event?: string; msg?: string });
    expect(logged.filter((l) => l.event === 'config.warning').map((l) => l.msg)).toEqual([
      expect.stringMatching(/^admin\.roles\.admin\[0\] to \[3\]: /),
      expect.stringMatching(/^portal\.https\.cert_file: a publicly trusted certificate is needed for the HTTPS portal/),
    ]);
    // And the start line itself says so.
    const started = logged.find((l) => l.event === 'gateway.started') as { portalCertificate?: string } | undefined;
    expect(started?.portalCertificate).toBe("not publicly trusted: it is issued by the gateway's own CA, which phones do not trust");
  });

  it('reads $ENROLLGATE_CONFIG when no --config is given', async () => {
    const elsewhere = await tempDir('check-env');
    const good = await run(['check-config'], elsewhere, { ENROLLGATE_CONFIG: inst.configFile });
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain(`${inst.configFile}: OK`);
    const bad = await run(['check-config'], elsewhere, { ENROLLGATE_CONFIG: broken });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('session.time_zone: got "Mars/Olympus"');
  });

  it('prefers --config over $ENROLLGATE_CONFIG', async () => {
    const result = await run(['check-config', '--config', inst.configFile], inst.cwd, { ENROLLGATE_CONFIG: broken });
    expect(result.code, result.stderr).toBe(0);
  });

  it('without flags reads ./data/enrollgate.yaml relative to the working directory, and does not create it', async () => {
    const empty = await tempDir('check-empty');
    const result = await run(['check-config'], empty);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read config file ${join(empty, 'data', 'enrollgate.yaml')}: no such file`);
    expect(readdirSync(empty)).toEqual([]);

    // The same file, found by the default path.
    await mkdir(join(empty, 'data'));
    await writeFile(join(empty, 'data', 'enrollgate.yaml'), readFileSync(broken));
    const found = await run(['check-config'], empty);
    expect(found.code).toBe(2);
    expect(found.stderr).toContain(join(empty, 'data', 'enrollgate.yaml'));
    expect(found.stderr).toContain('session.time_zone: got "Mars/Olympus"');
  });

  it('checks the files the config names: a missing certificate is named by its key', async () => {
    const file = await variant(inst, 'missing-cert.yaml', (doc) => {
      doc.portal.https.cert_file = 'certs/nope.pem';
    });
    const result = await run(['check-config', '--config', file], inst.cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`portal.https.cert_file: cannot read ${join(inst.dir, 'certs', 'nope.pem')} (ENOENT)`);
  });

  it('checks the directory files too: a missing users file or LDAP CA is named by its key', async () => {
    const users = await variant(inst, 'missing-users.yaml', (doc) => {
      doc.directory.file.path = 'nobody.yaml';
    });
    const r1 = await run(['check-config', '--config', users], inst.cwd);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`directory.file.path: cannot read ${join(inst.dir, 'nobody.yaml')} (ENOENT)`);
    const ldap = await variant(inst, 'missing-ldap-ca.yaml', (doc) => {
      doc.directory = {
        kind: 'ldap',
        ldap: { url: 'ldaps://127.0.0.1:1', ca_file: 'ldap-ca.pem', bind_dn: 'cn=svc', bind_password: 'bind-password-x', base_dn: 'dc=example' },
      };
    });
    const r2 = await run(['check-config', '--config', ldap], inst.cwd);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`directory.ldap.ca_file: cannot read ${join(inst.dir, 'ldap-ca.pem')} (ENOENT)`);
    expect(r2.stderr).not.toContain('bind-password-x');
  });

  it('reports YAML syntax errors and duplicate keys', async () => {
    const dup = join(inst.dir, 'duplicate.yaml');
    await writeFile(dup, 'session:\n  time_zone: UTC\n  time_zone: Europe/Berlin\n');
    const result = await run(['check-config', '--config', dup], inst.cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${dup} is not valid YAML:`);
    expect(result.stderr).toContain('duplicate key time_zone at line 3, column 3');
  });

  it('refuses a 100 MB file at once, naming its size', async () => {
    const huge = join(inst.dir, 'huge.yaml');
    await writeFile(huge, '');
    await truncate(huge, 100 * 1024 * 1024); // sparse: nothing is written
    const result = await run(['check-config', '--config', huge], inst.cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`enrollgate: ${huge} is 104857600 bytes; a config file is at most 1 MiB (1048576 bytes): is it the right file?\n`);
  });

  it('prints at most 20 problems and how many more, for random bytes and for a file of mistakes', async () => {
    // Random bytes (a fixed sequence, so that every run sees the same file) printed 46 MB of errors at 100 MB.
    let x = 0x2545f491;
    const bytes = Buffer.alloc(512 * 1024, 0).map(() => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24));
    const random = join(inst.dir, 'random.yaml');
    await writeFile(random, bytes);
    const garbage = await run(['check-config', '--config', random], inst.cwd);
    expect(garbage.code).toBe(2);
    const lines = garbage.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`enrollgate: ${random} is not valid YAML:`);
    expect(lines).toHaveLength(1 + 20 + 1);
    expect(lines.at(-1)).toMatch(/^ {2}… and \d+ more$/);

    const mistakes = join(inst.dir, 'mistakes.yaml');
    await writeFile(mistakes, Array.from({ length: 500 }, (_, i) => `mistake_${i}: ${i}`).join('\n'));
    const many = await run(['check-config', '--config', mistakes], inst.cwd);
    expect(many.code).toBe(2);
    const listed = many.stderr.trimEnd().split('\n');
    expect(listed[0]).toBe('enrollgate: invalid configuration:');
    expect(listed.slice(1, 21).every((l) => /^ {2}mistake_\d+: unknown key/.test(l))).toBe(true);
    expect(listed.slice(21)).toEqual(['  … and 480 more', `(config file: ${mistakes})`]);
  });
});

describe('enrollgate start', { timeout: STARTS_MS }, () => {
  let inst: Installation;

  beforeAll(async () => {
    inst = await install('start');
  });

  it('with a bad config exits 2 before opening any port', async () => {
    // Everything else is valid, the ports are free: only validation stands between it and listening.
    const bad = await variant(inst, 'bad.yaml', (doc) => {
      doc.session.time_zone = 'Mars/Olympus';
      doc.radius.clients[0].no_session = { answer: 'vlan' };
    });
    const result = await run(['start', '--config', bad], inst.cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('session.time_zone: got "Mars/Olympus"');
    expect(result.stderr).toContain('radius.clients[0].no_session.vlan: got nothing; expected a VLAN id or name');
    expect(result.stdout).toBe('');
    await expectNeverListened(result, inst);
  });

  it('with a missing certificate exits 2 naming portal.https.cert_file, before opening any port', async () => {
    const file = await variant(inst, 'no-cert.yaml', (doc) => {
      doc.portal.https.cert_file = 'certs/missing.pem';
    });
    const result = await run(['start', '--config', file], inst.cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^enrollgate: portal\.https\.cert_file: cannot read .*missing\.pem \(ENOENT\)/);
    await expectNeverListened(result, inst);
  });

  it('a named config that does not exist is an error, not a reason to run init', async () => {
    const empty = await tempDir('start-named');
    const result = await run(['start', '--config', 'nope.yaml'], empty);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read config file ${join(empty, 'nope.yaml')}: no such file`);
    expect(result.stdout).not.toContain('enrollgate init');
    expect(readdirSync(empty)).toEqual([]);
  });

  it('exits 2 naming the listener when a port is taken', async () => {
    const releaseHttp = await holdTcp(inst.ports.http);
    try {
      const result = await run(['start', '--config', inst.configFile], inst.cwd);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`portal.http.port: cannot listen on 127.0.0.1:${inst.ports.http} (the port is in use)`);
    } finally {
      await releaseHttp();
    }
    const releaseAuth = await holdUdp(inst.ports.auth);
    try {
      const result = await run(['start', '--config', inst.configFile], inst.cwd);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`radius.auth_port: cannot listen on 127.0.0.1:${inst.ports.auth} (the port is in use)`);
    } finally {
      await releaseAuth();
    }
    // What it did open before failing, it closed again.
    await Promise.all([bindTcp(inst.ports.http), bindTcp(inst.ports.https), bindUdp(inst.ports.acct)]);
  });

  it('on free ports: logs "enrollgate started", answers /healthz over HTTP and HTTPS, and exits 0 promptly on SIGTERM', async () => {
    const startAt = Date.now();
    const cli = startCli(['start', '--config', inst.configFile], inst.cwd);
    const started = await startedLine(cli);
    // What starting took (node loading the code, the store, the servers, the RADIUS workers).
    const startMs = Date.now() - startAt;
    expect(started, cli.stderr).toBeDefined();
    expect(started!.ports).toEqual(inst.ports);

    const http = await fetch(`http://127.0.0.1:${inst.ports.http}/healthz`);
    expect(http.status).toBe(200);
    const ca = readFileSync(join(inst.dir, 'certs', 'ca.pem'));
    const httpsStatus = await new Promise<number | undefined>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: inst.ports.https, path: '/healthz', ca }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(httpsStatus).toBe(200);

    const stopAt = Date.now();
    cli.child.kill('SIGTERM');
    const result = await cli.exit();
    expect(result.code, result.stderr).toBe(0);
    // Stopping undoes what starting did and waits for nothing (an idle keep-alive connection,
    // a timer): it takes less than starting took, on any machine.
    expect(Date.now() - stopAt).toBeLessThan(startMs);
    expect(result.stderr).toContain('SIGTERM, stopping');
    await Promise.all([bindTcp(inst.ports.http), bindTcp(inst.ports.https), bindUdp(inst.ports.auth), bindUdp(inst.ports.acct)]);
  });
  it('stops cleanly on a SIGTERM sent the moment it logs "enrollgate started"', async () => {
    // The log line is written before the CLI has its gateway in hand: the signal must not fall in that gap.
    for (let i = 0; i < 3; i++) {
      const cli = startCli(['start', '--config', inst.configFile], inst.cwd);
      expect(await startedLine(cli), cli.stderr).toBeDefined();
      cli.child.kill('SIGTERM');
      const result = await cli.exit();
      expect(result.code, `${result.stderr} (signal ${result.signal})`).toBe(0);
    }
  });
});

describe('NAS secrets from the environment', { timeout: STARTS_MS }, () => {
  let inst: Installation;
  let file: string;

  beforeAll(async () => {
    inst = await install('secret-env');
    file = await variant(inst, 'env-secret.yaml', (doc) => {
      doc.radius.clients[0].secret = { env: ENV_SECRET_VAR };
    });
  });

  it('an unset variable fails start and check-config with a message naming the key and the variable', async () => {
    for (const command of ['check-config', 'start']) {
      const result = await run([command, '--config', file], inst.cwd);
      expect(result.code, command).toBe(2);
      expect(result.stderr).toContain(`radius.clients[0].secret: environment variable ${ENV_SECRET_VAR} is not set or empty`);
    }
    await expectNeverListened(await run(['start', '--config', file], inst.cwd, { [ENV_SECRET_VAR]: '' }), inst);
  });

  it('a set variable is the secret the RADIUS server uses', async () => {
    const cli = startCli(['start', '--config', file], inst.cwd, { [ENV_SECRET_VAR]: ENV_NAS_SECRET });
    try {
      expect(await startedLine(cli), cli.stderr).toBeDefined();
      // RFC 5997 Status-Server: answered only when signed with the shared secret.
      const ok = await radclient(inst.ports.auth, 'status', ENV_NAS_SECRET, ['Message-Authenticator = 0x00']);
      expect(ok.reply, ok.stdout + ok.stderr).toBe('Access-Accept');
      const wrong = await radclient(inst.ports.auth, 'status', 'not-the-secret-0123456789', ['Message-Authenticator = 0x00']);
      expect(wrong.reply).toBeUndefined();
    } finally {
      cli.child.kill('SIGTERM');
      expect((await cli.exit()).code).toBe(0);
    }
    expect(cli.stdout).toContain('radius.dropped');
  });
});

describe('enrollgate start with nothing set up', { timeout: STARTS_MS }, () => {
  it('runs init first, says so, then starts (or names the default port that is taken)', async () => {
    const cwd = await tempDir('auto-init');
    const cli = startCli(['start'], cwd);
    const started = await startedLine(cli);
    if (started) {
      cli.child.kill('SIGTERM');
      expect((await cli.exit()).code).toBe(0);
      expect(started.ports).toEqual({ http: 8080, https: 8443, auth: 1812, acct: 1813 });
    } else {
      // The default ports 8080/8443/1812/1813 may belong to something else on this machine.
      const result = await cli.exit();
      expect(result.code, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/cannot listen on 127\.0\.0\.1:(8080|8443|1812|1813) \(the port is in use\)/);
    }
    expect(cli.stderr).not.toMatch(STACK_LINE);
    // stdout is a pipe here: it carries JSON lines only, and init's words (the first password too) go to stderr.
    expect(cli.stderr).toContain(`No configuration at ${join(cwd, 'data', 'enrollgate.yaml')}: running \`enrollgate init\` first.`);
    printedPassword(cli.stderr);
    for (const line of cli.stdout.split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow();
    for (const f of ['data/enrollgate.yaml', 'data/users.yaml', 'data/secrets/nas-localhost.secret', 'certs/ca.pem', 'certs/server-key.pem']) {
      expect(existsSync(join(cwd, f)), f).toBe(true);
    }
    secrets.add(readFileSync(join(cwd, 'data', 'secrets', 'nas-localhost.secret'), 'utf8').trim());

    // Set up now: check-config agrees, and another start would not run init again.
    const check = await run(['check-config'], cwd);
    expect(check.code, check.stderr).toBe(0);
  });
});

describe('the command line', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await tempDir('usage');
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['start', '--frobnicate'], "Unknown option '--frobnicate'"],
    [['check-config', '--config'], "Option '-c, --config <value>' argument missing"],
    [['start', '--dir', 'x'], 'start does not take --dir'],
    [['init', '--config', 'x.yaml'], 'init does not take --config'],
    [['start', 'now'], 'unexpected arguments: now'],
  ])('enrollgate %j exits 2 with the usage', async (args, message) => {
    const result = await run(args, cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Usage:\n  enrollgate init [--dir DIR]');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it.each([[[]], [['--help']], [['help']]])('enrollgate %j prints the usage and exits 0', async (args) => {
    const result = await run(args, cwd);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage:\n  enrollgate init [--dir DIR]');
  });
});

describe('every run above', () => {
  it('printed no secret and no stack trace', () => {
    expect(outputs.length).toBeGreaterThan(0);
    expect(secrets.size).toBeGreaterThan(0);
    for (const { args, text } of outputs) {
      for (const secret of secrets) expect(text.includes(secret), `a secret in the output of enrollgate ${args.join(' ')}`).toBe(false);
      expect(text, `enrollgate ${args.join(' ')}`).not.toMatch(STACK_LINE);
    }
  });
});
