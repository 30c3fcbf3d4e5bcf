import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fill, INSTALL_STEP, PACK_STEP } from '../../helpers/package-install.js';
import { freeTcpPort, freeUdpPort } from '../../helpers/ports.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * enrollgate without a checkout: the current tree packed (`npm pack`, which builds dist/ in
 * `prepack`), the tarball installed into an empty prefix, and the installed command run from
 * an empty directory: init, start, /healthz, a portal page and a RADIUS answer. A file the
 * package forgot (views, dictionaries, the worker script, openssl.cnf) fails here.
 *
 * The install fetches the production dependencies from the npm registry and builds
 * better-sqlite3 when no prebuilt binary is reachable: minutes on a busy machine.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INSTALL_DEADLINE_MS = 15 * 60_000;
const START_DEADLINE_MS = 60_000;

/** The environment without this machine's enrollgate and npm settings (npx sets npm_config_*, which would steer the install). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ENROLLGATE_') && !k.toLowerCase().startsWith('npm_')) env[k] = v;
  }
  return { ...env, ...extra };
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** A shell command, as a Dockerfile's RUN line runs it; bounded by `deadlineMs`. */
function sh(command: string, cwd: string, deadlineMs: number, env = cleanEnv()): Promise<Run> {
  return new Promise((done, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command}: not done within ${deadlineMs / 1000} s\n${output}`));
    }, deadlineMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

let tmp: string;
let packDir: string;
let prefix: string;
let bin: string;
let packageDir: string;
/** An empty working directory: nothing the installed command finds may come from a checkout. */
let cwd: string;
let gateway: ChildProcess | undefined;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'enrollgate-packed-'));
  packDir = join(tmp, 'pack');
  prefix = join(tmp, 'prefix');
  cwd = join(tmp, 'cwd');
  await mkdir(packDir);
  await mkdir(cwd);
  const places = { packDir, prefix };
  let t = Date.now();
  const pack = await sh(fill(PACK_STEP, places), ROOT, INSTALL_DEADLINE_MS);
  expect(pack.code, pack.output).toBe(0);
  console.log(`npm pack: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  const install = await sh(fill(INSTALL_STEP, places), cwd, INSTALL_DEADLINE_MS);
  expect(install.code, install.output).toBe(0);
  console.log(`npm install --global of the tarball into an empty prefix: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  bin = join(prefix, 'bin', 'enrollgate');
  packageDir = join(prefix, 'lib', 'node_modules', 'enrollgate');
}, 2 * INSTALL_DEADLINE_MS + 60_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null) {
    const exited = new Promise((r) => gateway!.once('exit', r));
    gateway.kill('SIGTERM');
    await exited;
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds what the gateway reads at run time, and no sources, tests or keys', async () => {
    const [tarball] = (await readdir(packDir)).filter((f) => f.endsWith('.tgz'));
    const list = spawnSync('tar', ['tzf', join(packDir, tarball!)], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    const files = list.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'dist/cli/index.js', 'dist/radius-worker.js', 'views/layout.njk', 'radius-dictionaries/dictionary.cisco', 'deploy/openssl.cnf', 'deploy/systemd/enrollgate.service', 'deploy/systemd/package.conf', 'README.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|bench|node_modules|data|certs)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\.(key|p12|sqlite)$|-key\.pem$/.test(f))).toEqual([]);
  });
});

describe('installed into an empty prefix', () => {
  it('puts the enrollgate command on the prefix bin/, pointing into the package', () => {
    expect(lstatSync(bin).isSymbolicLink()).toBe(true);
    expect(resolve(join(prefix, 'bin'), readlinkSync(bin))).toBe(join(packageDir, 'dist', 'cli', 'index.js'));
  });

  it('looks for its config in /etc/enrollgate, unless $ENROLLGATE_CONFIG or --config names one', async () => {
    expect(existsSync('/etc/enrollgate/enrollgate.yaml'), 'this machine has /etc/enrollgate/enrollgate.yaml: the default cannot be told apart').toBe(false);
    const r = await sh(`"${bin}" check-config`, cwd, START_DEADLINE_MS);
    expect(r.code).toBe(2);
    expect(r.output).toContain('/etc/enrollgate/enrollgate.yaml');
    const named = await sh(`"${bin}" check-config`, cwd, START_DEADLINE_MS, cleanEnv({ ENROLLGATE_CONFIG: join(tmp, 'elsewhere.yaml') }));
    expect(named.output).toContain(join(tmp, 'elsewhere.yaml'));
    expect(named.output).not.toContain('/etc/enrollgate');
  });

  it("has the files the systemd drop-in's ExecStart names, at their places under the prefix", async () => {
    const dropIn = await readFile(join(packageDir, 'deploy', 'systemd', 'package.conf'), 'utf8');
    const exec = dropIn.split('\n').filter((l) => l.startsWith('ExecStart=') && l.length > 'ExecStart='.length);
    expect(exec).toHaveLength(1);
    const paths = [...exec[0]!.matchAll(/\/usr\/local\/lib\/node_modules\/enrollgate\/(\S+)/g)].map((m) => m[1]!);
    expect(paths.sort()).toEqual(['deploy/openssl.cnf', 'dist/cli/index.js']);
    for (const p of paths) expect(existsSync(join(packageDir, p)), p).toBe(true);
  });

  it('runs init, then start: /healthz, the My devices page and RADIUS answer', async () => {
    const dir = join(tmp, 'gateway');
    const init = await sh(`"${bin}" init --dir "${dir}"`, cwd, START_DEADLINE_MS);
    expect(init.code, init.output).toBe(0);
    const configFile = join(dir, 'enrollgate.yaml');
    const secret = (await readFile(join(dir, 'secrets', 'nas-localhost.secret'), 'utf8')).trim();
    const ports = { http: await freeTcpPort(), https: await freeTcpPort(), auth: await freeUdpPort(), acct: await freeUdpPort() };
    const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
    doc.portal.base_url = `http://127.0.0.1:${ports.http}`;
    doc.portal.http.port = ports.http;
    doc.portal.https.port = ports.https;
    doc.radius.auth_port = ports.auth;
    doc.radius.acct_port = ports.acct;
    await writeFile(configFile, stringify(doc));

    const child = spawn(bin, ['start', '--config', configFile], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    gateway = child;
    let output = '';
    await new Promise<void>((started, failed) => {
      const timer = setTimeout(() => failed(new Error(`no start line within ${START_DEADLINE_MS / 1000} s:\n${output}`)), START_DEADLINE_MS);
      const read = (d: Buffer) => {
        output += d.toString();
        if (output.includes('enrollgate started')) {
          clearTimeout(timer);
          started();
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.once('exit', (code) => failed(new Error(`the installed gateway exited with ${code}:\n${output}`)));
    });

    const health = await fetch(`http://127.0.0.1:${ports.http}/healthz`);
    expect(health.status).toBe(200);
    // Rendered from views/ (a login form for a visitor without a session): a template missing from the package is a 500 here.
    const devices = await fetch(`http://127.0.0.1:${ports.http}/portal/devices`);
    expect(devices.status, output).toBe(200);
    expect(await devices.text()).toContain('<form');
    // The RADIUS server (and its vendor dictionaries) answers init's router: an unknown device is refused.
    const answer = await radclient(ports.auth, 'auth', secret, macAuth('3c:22:fb:10:20:97'));
    expect(answer.reply, answer.stdout + answer.stderr).toBe('Access-Reject');
  }, 3 * START_DEADLINE_MS);
});
