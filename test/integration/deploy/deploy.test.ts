import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapDirectory } from '../../../src/directory/ldap-directory.js';
import { InvalidCredentialsError, NotAllowedError } from '../../../src/errors.js';
import { freeTcpPort } from '../../helpers/ports.js';
import { cliEntry } from '../../helpers/source.js';

/**
 * The deployment material as a user gets it: docker-compose.yml (validated offline by
 * docker-compose v1, no engine needed), the trial's gateway config and LDAP seed, and the
 * `radius.clients` snippets of docs/routers.md's "Integrating a router".
 *
 * Configs are checked by the real CLI (`check-config`) as a separate process. Like
 * test/integration/cli, it runs this vitest run's build of the sources (helpers/source.ts)
 * rather than dist/: dist/ is shared with everybody working in the checkout and may be stale.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const TRIAL_CONFIG = join(ROOT, 'deploy', 'compose', 'enrollgate.yaml');
const SEED_DIR = join(ROOT, 'deploy', 'compose', 'ldap');
const SEED = join(SEED_DIR, '50-enrollgate-trial.ldif');
const ROUTERS_DOC = join(ROOT, 'docs', 'routers.md');
const RUN_DEADLINE_MS = 30_000;

/** The trial people of the seed LDIF (its comment lists them for the admin). */
const TRIAL_PEOPLE = {
  alice: { password: 'alice-trial-password', allowed: true },
  carol: { password: 'carol-trial-password', allowed: true },
  bob: { password: 'bob-trial-password', allowed: false },
} as const;

/** docker-compose is a test peer like slapd: missing, the run fails with the command that installs it. */
function requireDockerCompose(): void {
  if (spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      'Test peer missing: docker-compose.\n' +
        'Install it with: apt-get install -y --no-install-recommends docker-compose\n' +
        '(or run the second command line of README.md, which does it for you)',
    );
  }
}

/** The environment without anything from this machine that would change what is tested. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('ENROLLGATE_') && !k.startsWith('COMPOSE_')) env[k] = v;
  }
  return { ...env, ...extra };
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry(), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`enrollgate ${args.join(' ')} did not finish within ${RUN_DEADLINE_MS} ms\n${stdout}${stderr}`));
    }, RUN_DEADLINE_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge for config snippets: objects merge, anything else (lists too) replaces. */
function merge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? merge(b, v) : v;
  }
  return out;
}

/** Every secret reference ({ env } / { file }) in a config snippet. */
function secretRefs(value: Json, refs: { env: string[]; file: string[] } = { env: [], file: [] }) {
  if (Array.isArray(value)) value.forEach((v) => secretRefs(v, refs));
  else if (isObj(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'env' && typeof value.env === 'string') refs.env.push(value.env);
    else if (keys.length === 1 && keys[0] === 'file' && typeof value.file === 'string') refs.file.push(value.file);
    else Object.values(value).forEach((v) => secretRefs(v, refs));
  }
  return refs;
}

/** A made-up secret: 16 letters and digits (long enough for RADIUS, short enough for an openNDS faskey). */
const madeUpSecret = (): string => randomBytes(32).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 16);

const temps: string[] = [];
async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `enrollgate-deploy-${name}-`));
  temps.push(dir);
  return dir;
}

/** `enrollgate init` in DIR/scratch with the CA and server certificate in CERTS (default DIR/certs), as the trial's first start does. */
async function initWithCerts(dir: string, certs = join(dir, 'certs')): Promise<string> {
  const scratch = join(dir, 'scratch');
  const r = await runCli(['init', '--dir', scratch, '--certs', certs], dir, cleanEnv());
  expect(r.code, r.stderr).toBe(0);
  return join(scratch, 'enrollgate.yaml');
}

afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe('docker-compose.yml', () => {
  let resolved: { services: Record<string, Obj & { environment?: Record<string, string> }> };

  beforeAll(async () => {
    requireDockerCompose();
    const { stdout } = await run('docker-compose', ['-f', COMPOSE_FILE, 'config'], { cwd: ROOT, env: cleanEnv() });
    resolved = parse(stdout) as typeof resolved;
  });

  it('passes docker-compose config -q', async () => {
    const r = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('has the gateway, OpenLDAP and Redis, each with a health check', () => {
    const services = resolved.services;
    expect(Object.keys(services).sort()).toEqual(['enrollgate', 'ldap', 'redis']);
    // Built from this checkout's Dockerfile (dockerfile.test.ts checks how it installs the package).
    expect(services.enrollgate!.image).toBe('enrollgate:local');
    expect((services.enrollgate!.build as Obj).context).toBe(ROOT.replace(/\/$/, ''));
    expect(services.ldap!.image).toMatch(/^osixia\/openldap:\d/);
    expect(services.redis!.image).toBe('redis:7-alpine');
    for (const [name, service] of Object.entries(services)) {
      const hc = service.healthcheck as Obj | undefined;
      expect(hc, `${name} has no healthcheck`).toBeDefined();
      expect(Array.isArray(hc!.test) && hc!.test.length > 1, `${name}: healthcheck.test`).toBe(true);
      expect(hc!.disable, `${name}: healthcheck disabled`).toBeUndefined();
    }
  });

  it('publishes only the gateway ports: 8080, 8443, 1812/udp, 1813/udp', () => {
    const ports = (resolved.services.enrollgate!.ports as Obj[]).map((p) => `${String(p.published)}:${String(p.target)}/${String(p.protocol ?? 'tcp')}`);
    expect(ports.sort()).toEqual(['1812:1812/udp', '1813:1813/udp', '8080:8080/tcp', '8443:8443/tcp']);
    expect(resolved.services.ldap!.ports).toBeUndefined();
    expect(resolved.services.redis!.ports).toBeUndefined();
  });

  it('mounts files that exist in the checkout, and gives the gateway the LDAP service account password', () => {
    const mounts = (resolved.services.enrollgate!.volumes as string[]).concat(resolved.services.ldap!.volumes as string[]);
    const hostPaths = mounts.map((m) => m.split(':')[0]!).filter((p) => p.startsWith('/'));
    for (const p of hostPaths) expect(existsSync(p), p).toBe(true);
    expect(mounts).toContain(`${TRIAL_CONFIG}:/etc/enrollgate/enrollgate.yaml:ro`);
    // The gateway writes to its state volume only: the image's /var/lib/enrollgate.
    expect((resolved.services.enrollgate!.volumes as string[]).filter((m) => !m.endsWith(':ro'))).toEqual(['state:/var/lib/enrollgate:rw']);
    expect(mounts.some((m) => m.startsWith(`${SEED_DIR}:`))).toBe(true);
    // One variable sets both sides, so a changed password cannot set only one of them.
    const gw = resolved.services.enrollgate!.environment!;
    const ldap = resolved.services.ldap!.environment!;
    expect(ldap.LDAP_READONLY_USER_PASSWORD).toBe(gw.ENROLLGATE_LDAP_BIND_PASSWORD);
    const changed = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config'], {
      cwd: ROOT,
      env: cleanEnv({ ENROLLGATE_LDAP_BIND_PASSWORD: 'chosen-by-admin' }),
      encoding: 'utf8',
    });
    const again = parse(changed.stdout) as typeof resolved;
    expect(again.services.enrollgate!.environment!.ENROLLGATE_LDAP_BIND_PASSWORD).toBe('chosen-by-admin');
    expect(again.services.ldap!.environment!.LDAP_READONLY_USER_PASSWORD).toBe('chosen-by-admin');
  });

  it('starts the gateway with the trial config, after init made the certificates', () => {
    const command = String(resolved.services.enrollgate!.command);
    expect(command).toContain('exec enrollgate start --config /etc/enrollgate/enrollgate.yaml');
    expect(command).toContain('enrollgate init --dir /tmp/enrollgate-init --certs /var/lib/enrollgate/certs');
    // Nothing is installed or fetched when the container starts.
    expect(command).not.toMatch(/\b(npm|apt-get|curl|wget)\b/);
  });

  describe('the trial config (deploy/compose/enrollgate.yaml)', () => {
    let dir: string;
    let config: Obj;

    beforeAll(async () => {
      // The container's layout under DIR as its root: etc/enrollgate/enrollgate.yaml, and var/lib/enrollgate/certs made by the first start.
      dir = await tempDir('trial');
      await initWithCerts(dir, join(dir, 'var', 'lib', 'enrollgate', 'certs'));
      await mkdir(join(dir, 'etc', 'enrollgate'), { recursive: true });
      await writeFile(join(dir, 'etc', 'enrollgate', 'enrollgate.yaml'), await readFile(TRIAL_CONFIG));
      config = parse(await readFile(TRIAL_CONFIG, 'utf8')) as Obj;
    }, 60_000);

    it('uses LDAP with secrets from the environment only', () => {
      const directory = config.directory as Obj;
      expect(directory.kind).toBe('ldap');
      const ldap = directory.ldap as Obj;
      expect(ldap.bind_password).toEqual({ env: 'ENROLLGATE_LDAP_BIND_PASSWORD' });
      for (const c of (config.radius as Obj).clients as Obj[]) expect(Object.keys(c.secret as Obj)).toEqual(['env']);
      // The service account is the image's read-only user, under the image's base DN.
      const env = resolved.services.ldap!.environment!;
      const base = env.LDAP_DOMAIN!.split('.').map((p) => `dc=${p}`).join(',');
      expect(ldap.bind_dn).toBe(`cn=${env.LDAP_READONLY_USER_USERNAME},${base}`);
      expect(String(ldap.base_dn).endsWith(base)).toBe(true);
      expect(String(ldap.required_group).endsWith(base)).toBe(true);
    });

    it('passes check-config with the environment docker-compose.yml gives the gateway', async () => {
      const r = await runCli(['check-config', '--config', join(dir, 'etc', 'enrollgate', 'enrollgate.yaml')], dir, cleanEnv(resolved.services.enrollgate!.environment!));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/OK \(1 RADIUS client\(s\), directory: ldap, store: redis\)/);
    });

    it('fails check-config, naming the variables, without that environment', async () => {
      const r = await runCli(['check-config', '--config', join(dir, 'etc', 'enrollgate', 'enrollgate.yaml')], dir, cleanEnv());
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('ENROLLGATE_LDAP_BIND_PASSWORD');
      expect(r.stderr).toContain('ENROLLGATE_RADIUS_SECRET');
    });
  });
});

/**
 * The seed LDIF in a slapd set up the way osixia/openldap 1.5.0 sets itself up (its
 * bootstrap: the base entry, the memberof overlay for groupOfUniqueNames, the read-only
 * user and its ACL; startup.sh substitutes {{ LDAP_BASE_DN }} and loads the file with
 * ldapadd). The gateway's LDAP directory, configured as in the trial config, logs the
 * trial people in.
 */
describe('the trial LDAP seed (deploy/compose/ldap)', () => {
  const BASE = 'dc=example,dc=org';
  const ADMIN = `cn=admin,${BASE}`;
  const SERVICE = `cn=portal-svc,${BASE}`;
  let dir: string;
  let url: string;
  let slapd: ChildProcess | undefined;
  const adminPassword = madeUpSecret();
  const servicePassword = madeUpSecret();

  const ssha = (password: string): string => {
    const salt = randomBytes(8);
    return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`;
  };

  beforeAll(async () => {
    dir = await tempDir('slapd');
    await mkdir(join(dir, 'db'));
    const port = await freeTcpPort();
    url = `ldap://127.0.0.1:${port}`;
    await writeFile(
      join(dir, 'slapd.conf'),
      `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
database mdb
maxsize 104857600
suffix "${BASE}"
rootdn "${ADMIN}"
rootpw ${ssha(adminPassword)}
directory ${dir}/db
overlay memberof
memberof-dangling ignore
memberof-refint TRUE
memberof-group-oc groupOfUniqueNames
memberof-member-ad uniqueMember
memberof-memberof-ad memberOf
access to attrs=userPassword,shadowLastChange by self write by dn="${ADMIN}" write by anonymous auth by * none
access to * by self read by dn="${ADMIN}" write by dn="${SERVICE}" read by * none
`,
    );
    const proc = spawn('/usr/sbin/slapd', ['-d', '0', '-f', join(dir, 'slapd.conf'), '-h', `${url}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    slapd = proc;
    let stderr = '';
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`slapd exited: ${stderr}`);
      try {
        await run('ldapsearch', ['-x', '-H', url, '-s', 'base', '-b', '', '-o', 'nettimeout=1', 'namingContexts'], { timeout: 2000 });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`slapd did not answer: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // What the image makes before the custom LDIF: the base entry and the read-only user.
    await writeFile(
      join(dir, 'image.ldif'),
      `dn: ${BASE}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example Corp\ndc: example\n\n` +
        `dn: ${SERVICE}\ncn: portal-svc\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\nuserPassword: ${ssha(servicePassword)}\ndescription: LDAP read only user\n`,
    );
    await run('ldapadd', ['-x', '-H', url, '-D', ADMIN, '-w', adminPassword, '-f', join(dir, 'image.ldif')]);
    const seed = (await readFile(SEED, 'utf8')).replaceAll('{{ LDAP_BASE_DN }}', BASE);
    await writeFile(join(dir, 'seed.ldif'), seed);
    await run('ldapadd', ['-x', '-H', url, '-D', ADMIN, '-w', adminPassword, '-f', join(dir, 'seed.ldif')]);
  }, 60_000);

  afterAll(async () => {
    if (slapd && slapd.exitCode === null) {
      const exited = new Promise((r) => slapd!.once('exit', r));
      slapd.kill('SIGTERM');
      await exited;
    }
  });

  it('is the one LDIF the image loads, with ldapadd (no changetype)', async () => {
    // The image loads every *.ldif under the mounted directory, with ldapmodify when the file mentions changetype.
    expect((await readdir(SEED_DIR)).filter((f) => f.endsWith('.ldif'))).toEqual(['50-enrollgate-trial.ldif']);
    expect(await readFile(SEED, 'utf8')).not.toMatch(/changetype/i);
  });

  it('lets the trial config log alice and carol in and refuses bob, who is not in wifi-users', async () => {
    const ldap = (parse(await readFile(TRIAL_CONFIG, 'utf8')) as { directory: { ldap: Obj } }).directory.ldap;
    const directory = new LdapDirectory({
      url,
      startTls: false,
      bindDn: String(ldap.bind_dn),
      bindPassword: servicePassword,
      baseDn: String(ldap.base_dn),
      userAttribute: String(ldap.user_attribute),
      displayNameAttribute: 'cn',
      requiredGroup: String(ldap.required_group),
      timeoutMs: 5000,
      connectTimeoutMs: 3000,
    });
    try {
      for (const [uid, person] of Object.entries(TRIAL_PEOPLE)) {
        if (person.allowed) {
          const user = await directory.authenticate(uid, person.password);
          expect(user.username).toBe(uid);
          expect(user.groups.map((g) => g.toLowerCase())).toContain(String(ldap.required_group).toLowerCase());
        } else {
          await expect(directory.authenticate(uid, person.password)).rejects.toBeInstanceOf(NotAllowedError);
        }
      }
      await expect(directory.authenticate('alice', 'not-her-password')).rejects.toBeInstanceOf(InvalidCredentialsError);
    } finally {
      await directory.close();
    }
  });

  it("makes docker-compose.yml's LDAP health check pass", async () => {
    requireDockerCompose();
    const { stdout } = await run('docker-compose', ['-f', COMPOSE_FILE, 'config'], { cwd: ROOT, env: cleanEnv() });
    const test = (parse(stdout) as { services: { ldap: { healthcheck: { test: string[] } } } }).services.ldap.healthcheck.test;
    expect(test[0]).toBe('CMD-SHELL');
    // As Docker runs it: `$$` is compose's escape for `$`, and the container's own address.
    const command = test[1]!.replaceAll('$$', '$').replaceAll('ldap://localhost', url);
    const ok = spawnSync('sh', ['-c', command], { env: cleanEnv({ LDAP_READONLY_USER_PASSWORD: servicePassword }), encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    const wrong = spawnSync('sh', ['-c', command], { env: cleanEnv({ LDAP_READONLY_USER_PASSWORD: 'wrong' }), encoding: 'utf8' });
    expect(wrong.status).not.toBe(0);
  });
});

/** The systemd unit says what docs/operations.md's "Install" relies on. (Checked with `systemd-analyze verify` by hand: systemd is no test peer.) */
describe('deploy/systemd/enrollgate.service', () => {
  it('runs the built CLI with /etc/enrollgate/enrollgate.yaml as its own user, hardened, writing only its state directory', async () => {
    const unit = await readFile(join(ROOT, 'deploy', 'systemd', 'enrollgate.service'), 'utf8');
    const settings = unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
    for (const line of [
      'User=enrollgate',
      'WorkingDirectory=/opt/enrollgate',
      'ExecStart=/usr/bin/node --max-old-space-size=1024 --openssl-config=/opt/enrollgate/deploy/openssl.cnf dist/cli/index.js start --config /etc/enrollgate/enrollgate.yaml',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'RestartPreventExitStatus=2',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/enrollgate',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'AmbientCapabilities=',
    ]) {
      expect(settings, line).toContain(line);
    }
    // V8 compiles to executable memory: this setting would kill the gateway at start.
    expect(settings.some((l) => l.startsWith('MemoryDenyWriteExecute=yes'))).toBe(false);
  });

  it("starts node with a V8 heap limit under 2 GB and above the gateway's needs, the same in the package's drop-in and in the image", async () => {
    const execStart = async (file: string) => (await readFile(join(ROOT, 'deploy', 'systemd', file), 'utf8')).split('\n').find((l) => /^ExecStart=\S/.test(l)) ?? '';
    const heapFlags = (line: string) => line.split(/\s+/).filter((a) => a.startsWith('--max-old-space-size='));
    const heap = heapFlags(await execStart('enrollgate.service'));
    expect(heap).toHaveLength(1);
    expect(heapFlags(await execStart('package.conf'))).toEqual(heap);
    expect(await readFile(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(new RegExp(`NODE_OPTIONS="[^"]*${heap[0]}[ "]`));
    // With a limit of 2 GB or more V8 lets the heap grow to four times the live objects between two
    // collections, under it to at most twice: RSS under load followed (docs/operations.md, "Memory").
    const limit = spawnSync(process.execPath, [...heap, '-p', 'require("node:v8").getHeapStatistics().heap_size_limit'], { encoding: 'utf8' });
    expect(limit.status, limit.stderr).toBe(0);
    const mb = Number(limit.stdout) / 2 ** 20;
    expect(mb).toBeLessThan(2048);
    // bench:scale, 100,000 devices: about 60 MB of live objects.
    expect(mb).toBeGreaterThanOrEqual(512);
  });

  it('starts node with deploy/openssl.cnf, under which a TLS 1.3 server sends one session ticket, not two', async () => {
    // Node ignores an OpenSSL file it cannot read or parse, so what is checked is the effect.
    const dir = await mkdtemp(join(tmpdir(), 'enrollgate-openssl-'));
    try {
      const openssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=t', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
      expect(openssl.status, openssl.stderr).toBe(0);
      // A TLS 1.3 server that writes a byte and closes each connection once it is up, and a client that counts the tickets it got.
      const script = `
        const tls = require('node:tls'); const fs = require('node:fs');
        const server = tls.createServer({ key: fs.readFileSync(${JSON.stringify(join(dir, 'key.pem'))}), cert: fs.readFileSync(${JSON.stringify(join(dir, 'cert.pem'))}), minVersion: 'TLSv1.3' }, (s) => { s.on('data', () => {}); s.end('x'); });
        server.listen(0, '127.0.0.1', () => {
          let tickets = 0;
          const c = tls.connect({ port: server.address().port, host: '127.0.0.1', rejectUnauthorized: false });
          c.on('session', () => tickets++);
          c.on('data', () => {});
          c.on('close', () => { console.log(tickets); server.close(); });
        });`;
      const tickets = (args: string[]) => spawnSync(process.execPath, [...args, '-e', script], { encoding: 'utf8' }).stdout.trim();
      expect(tickets([])).toBe('2');
      expect(tickets([`--openssl-config=${join(ROOT, 'deploy', 'openssl.cnf')}`])).toBe('1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** docs/routers.md's "Integrating a router": every YAML snippet is a valid `radius.clients` entry. */
describe("docs/routers.md's router snippets", () => {
  const FAMILIES = ['CoovaChilli', 'Cisco WLC', 'Aruba', 'MikroTik', 'UniFi', 'openNDS'];
  let snippets: Array<{ heading: string; yaml: string }>;
  let dir: string;
  let base: Obj;

  beforeAll(async () => {
    const text = await readFile(ROUTERS_DOC, 'utf8');
    const start = text.indexOf('\n## Integrating a router\n');
    expect(start, 'docs/routers.md has no "## Integrating a router" section').toBeGreaterThan(0);
    const end = text.indexOf('\n## ', start + 1);
    const section = text.slice(start, end === -1 ? undefined : end);
    snippets = [];
    let heading = '';
    const lines = section.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.startsWith('### ')) heading = line.slice(4);
      if (line.trim() === '```yaml') {
        const body: string[] = [];
        for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
        snippets.push({ heading, yaml: body.join('\n') });
      }
    }
    dir = await tempDir('readme');
    const initConfig = await initWithCerts(dir);
    base = parse(await readFile(initConfig, 'utf8')) as Obj;
  }, 60_000);

  it('has one radius.clients entry per router family', () => {
    expect(snippets.map((s) => FAMILIES.find((f) => s.heading.startsWith(f)))).toEqual(FAMILIES);
    for (const s of snippets) {
      const doc = parse(s.yaml) as Obj;
      expect(Object.keys(doc), s.heading).toEqual(['radius']);
      expect(Object.keys(doc.radius as Obj), s.heading).toEqual(['clients']);
      expect(((doc.radius as Obj).clients as Json[]).length, s.heading).toBe(1);
    }
  });

  it('each passes check-config, merged into the config init writes', async () => {
    const check = async (s: { heading: string; yaml: string }, i: number): Promise<void> => {
      const snippet = parse(s.yaml) as Obj;
      const file = join(dir, 'scratch', `snippet-${i}.yaml`);
      await writeFile(file, stringify(merge(base, snippet)));
      // Secrets as the admin would provide them: environment variables and files next to the config.
      const refs = secretRefs(snippet);
      const env = Object.fromEntries(refs.env.map((name) => [name, madeUpSecret()]));
      for (const f of refs.file) {
        await mkdir(dirname(join(dir, 'scratch', f)), { recursive: true });
        await writeFile(join(dir, 'scratch', f), `${madeUpSecret()}\n`, { mode: 0o600 });
      }
      const r = await runCli(['check-config', '--config', file], dir, cleanEnv(env));
      expect(r.code, `${s.heading}:\n${r.stderr}`).toBe(0);
      expect(r.stdout, s.heading).toContain('OK (1 RADIUS client(s)');
    };
    // Two at a time: one per core.
    for (let i = 0; i < snippets.length; i += 2) {
      await Promise.all(snippets.slice(i, i + 2).map((s, j) => check(s, i + j)));
    }
  }, 120_000);
});
