import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { initCommand } from '../../src/cli/commands/init.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { startGateway, type Gateway } from '../../src/main.js';
import { freeTcpPort, freeUdpPort } from './ports.js';
import { cliEntry } from './source.js';

/** The NAS secret test gateways share with radclient (≥ 16 characters). */
export const TEST_NAS_SECRET = 'test-nas-secret-0123456789';

/** Log lines a test gateway wrote, parsed, for assertions (no secret may ever appear in them). */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  events(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestGateway {
  readonly dir: string;
  readonly configFile: string;
  /** The configuration the gateway runs with (reconfigure() replaces it). */
  config: Config;
  /** The password `init` printed for the user "employee". */
  readonly employeePassword: string;
  readonly logs: LogSink;
  gateway: Gateway;
  /** http://127.0.0.1:PORT (plain HTTP port: captive probes). */
  readonly httpUrl: string;
  /** The configured portal base URL. */
  readonly baseUrl: string;
  /** Stops and starts the gateway again on the same files and ports. */
  restart(): Promise<void>;
  /**
   * Stops the gateway, changes its config file with `change`, and starts it again on the same
   * files, ports and state store: an admin changing a setting while visits are under way.
   */
  reconfigure(change: (doc: Record<string, any>) => void): Promise<void>;
  /** Stops the gateway and removes its directory. */
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Changes to the generated config document before it is written (ports and NAS are already set). */
  configure?: (doc: Record<string, any>) => void | Promise<void>;
  /** Runs after the config is written and before it is loaded (to put files beside it, set env vars). */
  beforeStart?: (dir: string) => void | Promise<void>;
  /** Serve the portal base URL over HTTPS (default: plain HTTP, simpler for fetch). */
  https?: boolean;
  clock?: Clock;
  /**
   * The config's `enrollment` section (the device policy). Default here: randomised MACs
   * accepted (as in the config) and no device limit (the config's is 3), because the
   * suites written before the device policy use locally administered MACs such as
   * AA-BB-CC-… and enroll many devices for one user. A `configure` that sets
   * `doc.enrollment` replaces it.
   */
  enrollment?: Record<string, unknown>;
}

/**
 * A real gateway in this process: `enrollgate init` in a temporary directory, the
 * generated config with free ports and a known NAS secret, then startGateway().
 */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-test-'));
  let employeePassword = '';
  const configFile = await initCommand({
    dir,
    certsDir: join(dir, 'certs'),
    print: (line) => {
      const m = /shown only this once: (\S+)/.exec(line);
      if (m) employeePassword = m[1]!;
    },
  });
  const [http, https, auth, acct] = [await freeTcpPort(), await freeTcpPort(), await freeUdpPort(), await freeUdpPort()];
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  const baseUrl = options.https ? `https://127.0.0.1:${https}` : `http://127.0.0.1:${http}`;
  doc.log = { level: 'debug' };
  doc.portal.base_url = baseUrl;
  doc.portal.http.port = http;
  doc.portal.https.port = https;
  doc.radius.auth_port = auth;
  doc.radius.acct_port = acct;
  doc.radius.clients = [{ name: 'test-nas', address: '127.0.0.1', secret: TEST_NAS_SECRET }];
  // RADIUS in this process, whatever init chose for this machine: tests reach the gateway's
  // own objects (metrics, audit trail), and workers have tests of their own (workers.test.ts).
  doc.radius.workers = 1;
  doc.enrollment = options.enrollment ?? { randomised_macs: 'accept', device_limit: 0 };
  await options.configure?.(doc);
  await writeFile(configFile, stringify(doc));
  await options.beforeStart?.(dir);
  const logs = new LogSink();
  const start = () => startGateway(t.config, { log: createLogger('debug', logs), ...(options.clock ? { clock: options.clock } : {}) });
  const t: TestGateway = {
    dir,
    configFile,
    config: loadConfig(configFile),
    employeePassword,
    logs,
    gateway: undefined as unknown as Gateway,
    httpUrl: `http://127.0.0.1:${http}`,
    baseUrl,
    async restart() {
      await t.gateway.stop();
      t.gateway = await start();
    },
    async reconfigure(change) {
      await t.gateway.stop();
      await editConfig(configFile, change);
      t.config = loadConfig(configFile);
      t.gateway = await start();
    },
    async close() {
      await t.gateway.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  t.gateway = await start();
  return t;
}

/** Changes a config file as an admin would: parsed, changed by `change`, written back (comments are not kept). */
export async function editConfig(configFile: string, change: (doc: Record<string, any>) => void): Promise<void> {
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  change(doc);
  await writeFile(configFile, stringify(doc));
}

/** The four ports a gateway listens on. */
export interface GatewayPorts {
  http: number;
  https: number;
  auth: number;
  acct: number;
}

/**
 * `enrollgate init` in `dir`, its config rewritten with free ports and then changed by
 * `change`: an installation for a test that runs the gateway as its own process (the CLI).
 * Returns the config file, the ports and init's RADIUS secret for a router on this machine.
 */
export async function initOnFreePorts(dir: string, change: (doc: Record<string, any>) => void = () => undefined): Promise<{ configFile: string; ports: GatewayPorts; secret: string }> {
  const configFile = await initCommand({ dir, certsDir: join(dir, 'certs'), print: () => undefined });
  const secret = (await readFile(join(dir, 'secrets', 'nas-localhost.secret'), 'utf8')).trim();
  const ports: GatewayPorts = { http: await freeTcpPort(), https: await freeTcpPort(), auth: await freeUdpPort(), acct: await freeUdpPort() };
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  doc.portal.http.port = ports.http;
  doc.portal.https.port = ports.https;
  doc.radius.auth_port = ports.auth;
  doc.radius.acct_port = ports.acct;
  change(doc);
  await writeFile(configFile, stringify(doc));
  return { configFile, ports, secret };
}

/** A gateway started by the CLI (`enrollgate start`, this run's build of the sources) as its own process. */
export interface CliGateway {
  readonly child: ChildProcess;
  /** What it printed so far, stdout and stderr (JSON log lines). */
  output(): string;
}

/** What a suite's setup that starts a CLI gateway (startCliGateway, 90 s at most) and prepares its files may take. */
export const CLI_GATEWAY_SETUP_MS = 150_000;

/**
 * `enrollgate start --config configFile` in `cwd`; resolves once it says "enrollgate started".
 * Bounded at 90 s: RADIUS workers may take up to 60 s to listen on a loaded machine
 * (workers.ts), and the rest of the start comes after them.
 */
export function startCliGateway(configFile: string, cwd: string): Promise<CliGateway> {
  const child = spawn(process.execPath, [cliEntry(), 'start', '--config', configFile], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no start line within 90 s:\n${output}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('enrollgate started')) {
        clearTimeout(deadline);
        resolve({ child, output: () => output });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${output}`)));
  });
}
