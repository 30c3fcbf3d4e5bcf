/**
 * npm run bench:scale — the gateway at 100,000 enrolled devices with live sessions
 * (issue 6), on the SQLite store and on Redis, on this machine (2 cores):
 *
 * 1. RADIUS MAC authentication: Access-Requests/s, p50 and p99 at `inflight`
 *    requests outstanding with 10 % unknown MACs, from the shared C generator
 *    (../shared/tools/radius-load, when built), from bench/radius-load.ts, and from
 *    the C generator again on the same gateway (whose in-memory state, the RFC 5080
 *    retransmission cache above all, has filled by then: compare the two C lines);
 *    (a) on SQLite, (b) on a private Redis this bench starts, (c) two gateway
 *    processes sharing that Redis, the load split between them (one generator
 *    per gateway, inflight/2 each), total throughput. Each line says how much CPU
 *    the gateway, Redis, the generators and the rest of the (shared) host used.
 * 2. The portal's captive probe, GET /hotspot-detect.html, from autocannon: for an
 *    address accounting does not know (302 to the portal) and for the address of a
 *    device with a session (200 "Success"). The device is found through the
 *    accounting IP→MAC mapping (seeded: one lease per device); the bench sends
 *    X-Forwarded-For with portal.trust_proxy: true, so that 100,000 client
 *    addresses come from 127.0.0.1.
 * 3. Memory and start-up of one gateway process holding them: RSS after start,
 *    after the RADIUS runs and after the portal runs (target < 300 MB), split into
 *    mapped files (the node binary and, on SQLite with store.sqlite_mmap_mb, the
 *    pages of the state file read so far), the V8 heap as committed and as used (from
 *    the gateway's /metrics), external memory and the rest of the native memory; the
 *    gateway runs with the node options deploy/systemd/enrollgate.service gives it
 *    (its V8 heap limit: how far V8 lets the heap grow between collections depends
 *    on it, see memoryText), unless --gateway-node-options says otherwise; and the time from
 *    spawn to the first answer to Status-Server and to GET /healthz (target < 3 s),
 *    `starts` times each.
 *
 * State is seeded through the gateway's own classes (DeviceRegistry, SessionStore,
 * AccountingStore): on SQLite in group commits on one connection instead of one
 * fsync per durable write (what the gateway does), on Redis concurrently, which
 * node-redis sends as pipelines. A sample is read back through the gateway's store.
 *
 *   npm run bench:scale -- [--devices 100000] [--duration 10] [--inflight 64] [--connections 64]
 *     [--starts 3] [--skip-sqlite] [--skip-redis] [--skip-two] [--skip-portal] [--skip-c]
 *     [--skip-radius] [--log-level info] [--profile DIR] [--gateway-node-options=--max-old-space-size=1024] [--max-minutes 20]
 *     [--rounds 2]
 *
 * --rounds N repeats the RADIUS and portal load N times on the same gateway and prints RSS
 * after each round: a second round of the same load should add nothing (flat).
 *
 * --profile DIR writes each gateway process's V8 CPU profile there (Chrome DevTools).
 * The X-Forwarded-For addresses (10.64.0.0/10 for devices, 10.200.0.0/16 for unknown
 * ones) exist only inside the header: every packet goes to 127.0.0.1.
 *
 * Loopback only (127.0.0.1), every run bounded in time, the whole bench bounded by
 * --max-minutes; the gateways, Redis and the generators it started are stopped and
 * its temp dir removed at the end, on failure and on Ctrl-C. Prints its figures;
 * asserts nothing (it says when a target is missed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createClient, type RedisClientType } from '@keyv/redis';
import autocannon from 'autocannon';
import { parse, stringify } from 'yaml';
import { initCommand } from '../src/cli/commands/init.js';
import { createLogger } from '../src/logger.js';
import { openRedisStore } from '../src/store/redis-state-store.js';
import { openSqliteStore } from '../src/store/sqlite-state-store.js';
import { freeTcpPort, freeUdpPort } from '../test/helpers/ports.js';
import { cpuMeter, procStatus } from './processes.js';
import { runLoad, type LoadResult } from './radius-load.js';
import { C_TOOL, checkSeed, deviceIp, knownMacs, seedSqlite, seedThrough, unknownIp, type SeedResult } from './seed.js';

/** The V8 heap limit the systemd unit (and the image) start the gateway with: the bench runs it as shipped. */
function shippedNodeOptions(): string {
  const unit = readFileSync(join(process.cwd(), 'deploy', 'systemd', 'enrollgate.service'), 'utf8');
  return /^ExecStart=\S*node\s.*?(--max-old-space-size=\d+)/m.exec(unit)?.[1] ?? '';
}

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '64' },
    connections: { type: 'string', default: '64' },
    starts: { type: 'string', default: '3' },
    'skip-sqlite': { type: 'boolean', default: false },
    'skip-redis': { type: 'boolean', default: false },
    'skip-two': { type: 'boolean', default: false },
    'skip-radius': { type: 'boolean', default: false },
    'skip-portal': { type: 'boolean', default: false },
    'skip-c': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'string' },
    'gateway-node-options': { type: 'string', default: shippedNodeOptions() },
    'max-minutes': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
  },
});
const DEVICES = Number(values.devices);
const DURATION = Number(values.duration);
const INFLIGHT = Number(values.inflight);
const CONNECTIONS = Number(values.connections);
const STARTS = Math.max(1, Number(values.starts));
/** Rounds of the same load on one gateway: memory should stop growing after the first. */
const ROUNDS = Math.min(5, Math.max(1, Number(values.rounds)));
/** What a second round may add to RSS and still count as flat (allocator and V8 noise). */
const FLAT_MB = 15;
const UNKNOWN_PCT = 10;
const RSS_TARGET_MB = 300;
const STARTUP_TARGET_S = 3;
/** How long a gateway or Redis may take to answer after spawn before the bench gives up. */
const READY_TIMEOUT_MS = 30_000;
const SECRET = randomBytes(18).toString('base64url');
const HAS_C = !values['skip-c'] && existsSync(C_TOOL);
const GATEWAY_JS = join(process.cwd(), 'dist', 'cli', 'index.js');
for (const [name, v] of Object.entries({ devices: DEVICES, duration: DURATION, inflight: INFLIGHT, connections: CONNECTIONS })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive whole number`);
}
if (DURATION > 120) throw new Error('--duration is at most 120 s per run');
if (DEVICES > 1_000_000) throw new Error('--devices is at most 1,000,000');

// ---------------------------------------------------------------------------------------------
// Clean-up: every process this bench starts, and its temp dir, whatever happens.

const children = new Set<ChildProcess>();
let workDir: string | undefined;

/** Spawns a tracked child; it leaves the set when it exits. */
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

let cleanedUp = false;
async function cleanup(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  await Promise.all([...children].map((c) => stopChild(c, 5_000)));
  if (workDir) await rm(workDir, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping what the bench started`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers: processes, numbers.

function rssText(pid: number): string {
  const s = procStatus(pid);
  return `${s.rss.toFixed(0)} MB (private ${s.anon.toFixed(0)} MB, mapped files ${s.file.toFixed(0)} MB)`;
}

/**
 * RSS and where it goes: file-backed pages (the node binary and its libraries; on SQLite with
 * store.sqlite_mmap_mb, the state file's pages read so far), and the private rest split into the
 * V8 heap as committed (what the gateway's /metrics says: Node's default metrics), of which only
 * "used" is objects, live or garbage not collected yet (between two collections V8 lets the heap
 * grow to up to four times the live objects with a heap limit of 2 GB or more, twice under it:
 * --gateway-node-options, the shipped unit's by default); memory outside the heap that V8 knows of
 * (external: array buffers, the RFC 5080 cache's table); and the rest of the native memory
 * (SQLite's page cache, OpenSSL, Node itself, malloc's free lists), by difference: heap pages
 * committed but not touched yet (right after start, the young generation) are not in RSS and
 * count against it, down to below zero.
 */
async function memoryText(g: { pid: number; ports: { http: number } }): Promise<string> {
  // RSS first: a scrape counts the live sessions, which on SQLite maps more of the state file.
  const s = procStatus(g.pid);
  const rss = `${s.rss.toFixed(0)} MB = mapped files ${s.file.toFixed(0)} MB + private ${s.anon.toFixed(0)} MB`;
  try {
    const asked = performance.now();
    const text = await (await fetch(`http://127.0.0.1:${g.ports.http}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const took = performance.now() - asked;
    const mb = (name: string) => Number(new RegExp(`^enrollgate_nodejs_${name} (\\S+)$`, 'm').exec(text)?.[1]) / 2 ** 20;
    const [total, used, external] = [mb('heap_size_total_bytes'), mb('heap_size_used_bytes'), mb('external_memory_bytes')];
    return (
      `${rss} (V8 heap ${total.toFixed(0)} MB committed, ${used.toFixed(0)} MB of it used; external ${external.toFixed(0)} MB; ` +
      `other native, by difference, ${(s.anon - total - external).toFixed(0)} MB) (GET /metrics took ${took.toFixed(0)} ms)`
    );
  } catch {
    return `${rss} (/metrics did not answer)`;
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// ---------------------------------------------------------------------------------------------
// A private Redis.

interface RedisServer {
  readonly url: string;
  readonly pid: number;
  info(section: string): Promise<Record<string, string>>;
}

async function startRedis(dir: string): Promise<RedisServer> {
  const port = await freeTcpPort();
  const child = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start redis-server (apt-get install redis-server): ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${stderr.trim()}`)));
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const connect = async (): Promise<RedisClientType> => {
    for (;;) {
      const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } }) as RedisClientType;
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        return client;
      } catch (err) {
        client.destroy();
        if (Date.now() > deadline) throw new Error(`redis-server did not answer within ${READY_TIMEOUT_MS / 1000} s: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const client = await Promise.race([connect(), spawnFailed]);
  child.once('exit', () => {
    if (client.isOpen) client.destroy();
  });
  return {
    url,
    pid: child.pid!,
    async info(section) {
      const text = await client.info(section);
      return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':', 2) as [string, string]));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Gateway processes.

interface Ports {
  http: number;
  https: number;
  auth: number;
  acct: number;
}

interface GatewayProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ports: Ports;
  /** Milliseconds from spawn to the first answer to Status-Server, to GET /healthz, and to the "enrollgate started" log line. */
  readonly startup: { radius: number; http: number; logged: number };
  logLines(): number;
}

async function freePorts(): Promise<Ports> {
  return { http: await freeTcpPort(), https: await freeTcpPort(), auth: await freeUdpPort(), acct: await freeUdpPort() };
}

/** A Status-Server (RFC 5997) with Message-Authenticator; the answer is an Access-Accept. */
function statusServer(id: number): { bytes: Buffer; auth: Buffer } {
  const auth = randomBytes(16);
  const bytes = Buffer.concat([Buffer.from([12, id, 0, 38]), auth, Buffer.from([80, 18]), Buffer.alloc(16)]);
  createHmac('md5', SECRET).update(bytes).digest().copy(bytes, 22);
  return { bytes, auth };
}

/** Sends Status-Server every 10 ms until one is answered with a valid Access-Accept; resolves with performance.now() then. */
function firstStatusAnswer(port: number, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const sent = new Map<number, Buffer>();
    let id = 0;
    const finish = (fn: () => void) => {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      fn();
    };
    const onAbort = () => finish(() => reject(new Error('aborted')));
    socket.on('message', (reply) => {
      const auth = sent.get(reply[1]!);
      if (!auth || reply[0] !== 2 || reply.length < 20) return;
      const copy = Buffer.from(reply);
      auth.copy(copy, 4);
      if (!createHash('md5').update(copy).update(SECRET).digest().equals(reply.subarray(4, 20))) return;
      const at = performance.now();
      finish(() => resolve(at));
    });
    socket.on('error', () => {});
    const timer = setInterval(() => {
      const p = statusServer(id);
      sent.set(id, p.auth);
      id = (id + 1) & 0xff;
      socket.send(p.bytes, port, '127.0.0.1');
    }, 10);
    signal.addEventListener('abort', onAbort);
  });
}

/** GET /healthz every 10 ms until it answers 200; resolves with performance.now() then. */
async function firstHealthAnswer(port: number, signal: AbortSignal): Promise<number> {
  for (;;) {
    if (signal.aborted) throw new Error('aborted');
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function writeConfig(base: Record<string, any>, file: string, ports: Ports, store: object, auditDir: string): Promise<void> {
  const doc = structuredClone(base);
  doc.portal.http.port = ports.http;
  doc.portal.https.port = ports.https;
  doc.radius.auth_port = ports.auth;
  doc.radius.acct_port = ports.acct;
  doc.store = store;
  doc.audit = { ...(doc.audit ?? {}), dir: auditDir };
  await writeFile(file, stringify(doc));
}

/** Spawns `enrollgate start` from dist/ and waits until it answers Status-Server and /healthz. */
async function startGatewayProcess(configFile: string, ports: Ports, label: string): Promise<GatewayProcess> {
  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
  const spawnedAt = performance.now();
  const nodeOptions = values['gateway-node-options'].split(/\s+/).filter(Boolean);
  const child = track(spawn(process.execPath, [...nodeOptions, ...profile, GATEWAY_JS, 'start', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let lines = 0;
  let logged = NaN;
  let tail = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    lines += (text.match(/\n/g) ?? []).length;
    if (Number.isNaN(logged)) {
      tail = (tail + text).slice(-4096);
      if (tail.includes('enrollgate started')) logged = performance.now();
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    for (const line of d.toString().split('\n').filter(Boolean)) process.stderr.write(`  [${label} stderr] ${line}\n`);
  });
  const abort = new AbortController();
  const failed = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`${label} exited (${code ?? signal}) before answering: ${stderr.trim().slice(-2000)}`)));
    setTimeout(() => reject(new Error(`${label} did not answer within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS).unref();
  });
  failed.catch(() => {});
  try {
    const [radiusAt, httpAt] = await Promise.race([Promise.all([firstStatusAnswer(ports.auth, abort.signal), firstHealthAnswer(ports.http, abort.signal)]), failed]);
    // The log line follows the last listener by a purge of expired entries; wait for it briefly.
    for (let i = 0; i < 500 && Number.isNaN(logged); i++) await new Promise((r) => setTimeout(r, 10));
    return { child, pid: child.pid!, ports, startup: { radius: radiusAt - spawnedAt, http: httpAt - spawnedAt, logged: logged - spawnedAt }, logLines: () => lines };
  } catch (err) {
    abort.abort();
    await stopChild(child);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Load.

interface RadiusFigures {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  accept: number;
  reject: number;
  timeouts: number;
  wrong: number;
  /** The C generator's own CPU use, in cores. */
  generatorCores?: number;
  note?: string;
}

/** The shared C generator against one gateway, its --json report. */
async function runC(port: number, inflight: number, macFile: string): Promise<RadiusFigures> {
  const args = ['--host', '127.0.0.1', '--port', String(port), '--secret', SECRET, '--duration', String(DURATION), '--warmup', '2', '--inflight', String(inflight)];
  args.push('--mac-file', macFile, '--unknown-pct', String(UNKNOWN_PCT), '--require-resp-ma', '--max-requests', '20000000', '--json');
  const child = track(spawn(C_TOOL, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), (DURATION + 30) * 1000);
  await exited(child);
  clearTimeout(timer);
  let r: Record<string, any>;
  try {
    r = JSON.parse(out) as Record<string, any>;
  } catch {
    throw new Error(`radius-load exited with ${child.exitCode} without a report: ${err.trim()}`);
  }
  const wrong = ['wrong_decision', 'accept_missing_attrs', 'bad_authenticator', 'bad_message_authenticator', 'missing_message_authenticator', 'malformed', 'other'].reduce(
    (sum, k) => sum + Number(r[k] ?? 0),
    0,
  );
  return {
    rps: r.rps,
    p50: r.lat_ms.p50,
    p99: r.lat_ms.p99,
    max: r.lat_ms.max,
    accept: r.accept,
    reject: r.reject,
    timeouts: r.timeouts,
    wrong,
    generatorCores: Number(r.cpu_pct?.generator) / 100,
    note: `(UDP drops ${r.udp_rcvbuf_drops})`,
  };
}

function fromNode(r: LoadResult): RadiusFigures {
  return { rps: r.requestsPerSecond, p50: r.p50Ms, p99: r.p99Ms, max: r.maxMs, accept: r.accepts, reject: r.rejects, timeouts: r.timeouts, wrong: r.wrong };
}

function nodeLoad(port: number, macs: readonly string[], inflight: number) {
  return runLoad({ port, secret: SECRET, known: macs, durationS: DURATION, warmupS: 2, inflight, unknownPct: UNKNOWN_PCT, timeoutMs: 1000 });
}

function radiusLine(label: string, r: RadiusFigures): string {
  return (
    `  ${label.padEnd(40)} ${fmt(r.rps).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms  ` +
    `accept ${r.accept}  reject ${r.reject}  timeouts ${r.timeouts}  wrong ${r.wrong}${r.note ? `  ${r.note}` : ''}`
  );
}

interface PortalFigures {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
  unexpected: number;
  errors: number;
}

/** Captive probes from `connections` keep-alive connections, each request with the X-Forwarded-For that `ipFor` picks. */
async function probeLoad(httpPort: number, expected: number, ipFor: () => string, durationS: number): Promise<PortalFigures> {
  const result = await autocannon({
    url: `http://127.0.0.1:${httpPort}/hotspot-detect.html`,
    connections: CONNECTIONS,
    duration: durationS,
    timeout: 5,
    headers: { host: 'captive.apple.com', 'user-agent': 'CaptiveNetworkSupport-481.0.1 wispr' },
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-forwarded-for': ipFor() } }) }],
  });
  const total = Object.values(result.statusCodeStats).reduce((s, c) => s + c.count, 0);
  const unexpected = total - (result.statusCodeStats[String(expected)]?.count ?? 0);
  return { rps: total / result.duration, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, total, unexpected, errors: result.errors + result.timeouts };
}

/** One request of each kind, checked in full before the load: the status, the body, where the redirect goes. */
async function checkProbes(httpPort: number, knownIp: string, strangerIp: string): Promise<void> {
  const get = (ip: string) =>
    fetch(`http://127.0.0.1:${httpPort}/hotspot-detect.html`, { redirect: 'manual', headers: { host: 'captive.apple.com', 'x-forwarded-for': ip }, signal: AbortSignal.timeout(5000) });
  const online = await get(knownIp);
  const body = await online.text();
  if (online.status !== 200 || !body.includes('<TITLE>Success</TITLE>')) throw new Error(`probe for a device with a session: ${online.status} ${body.slice(0, 200)}`);
  const stranger = await get(strangerIp);
  await stranger.arrayBuffer();
  if (stranger.status !== 302 || !stranger.headers.get('location')?.endsWith('/portal')) throw new Error(`probe for an unknown device: ${stranger.status} to ${stranger.headers.get('location')}`);
}

function portalLine(label: string, r: PortalFigures): string {
  return `  ${label.padEnd(40)} ${fmt(r.rps).padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  max ${r.max} ms  (${fmt(r.total)} answers, ${r.unexpected} unexpected, ${r.errors} errors/timeouts)`;
}

// ---------------------------------------------------------------------------------------------
// One store's runs.

interface StoreSummary {
  seedMs: number;
  startups: Array<GatewayProcess['startup']>;
  /**
   * After start; after the first round's RADIUS runs and portal runs; after each round (RADIUS then
   * portal); the most of every measure, later rounds' RADIUS runs included.
   */
  rss: { start: number; radius?: number; portal?: number; rounds?: number[]; most: number };
  radius: RadiusFigures[];
  portal?: { redirect: PortalFigures; online: PortalFigures };
  two?: { c?: RadiusFigures[]; node: RadiusFigures[] };
}

async function startups(configFile: string, ports: Ports, label: string): Promise<{ gateway: GatewayProcess; all: Array<GatewayProcess['startup']> }> {
  const all: Array<GatewayProcess['startup']> = [];
  for (let i = 1; ; i++) {
    const g = await startGatewayProcess(configFile, ports, label);
    all.push(g.startup);
    console.log(
      `  start-up #${i}: Status-Server answered ${seconds(g.startup.radius)} after spawn, /healthz ${seconds(g.startup.http)}, ` +
        `"enrollgate started" logged ${seconds(g.startup.logged)}; RSS ${rssText(g.pid)}`,
    );
    if (i >= STARTS) return { gateway: g, all };
    await stopChild(g.child);
  }
}

/** RADIUS (C and Node generators) and portal runs against one running gateway; RSS along the way. */
async function loadOneGateway(g: GatewayProcess, macs: readonly string[], macFile: string, extraPids: Record<string, number>, summary: StoreSummary): Promise<void> {
  summary.rss.start = summary.rss.most = procStatus(g.pid).rss;
  console.log(`  RSS after start: ${await memoryText(g)}`);
  summary.rss.rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (ROUNDS > 1) console.log(`  -- round ${round} of ${ROUNDS} --`);
    if (!values['skip-radius']) await radiusOneGateway(g, macs, macFile, extraPids, summary);
    if (!values['skip-portal']) await portalOneGateway(g, macs, extraPids, summary);
    summary.rss.rounds.push(measureRss(g, summary));
  }
}

/** The gateway's RSS now, counted in the summary's most. */
function measureRss(g: GatewayProcess, summary: StoreSummary): number {
  const rss = procStatus(g.pid).rss;
  summary.rss.most = Math.max(summary.rss.most, rss);
  return rss;
}

async function radiusOneGateway(g: GatewayProcess, macs: readonly string[], macFile: string, extraPids: Record<string, number>, summary: StoreSummary): Promise<void> {
  console.log(`RADIUS Access-Requests, ${INFLIGHT} in flight, ${UNKNOWN_PCT} % unknown MACs, ${DURATION} s (after 2 s warm-up):`);
  if (HAS_C) {
    const cpu = cpuMeter({ gateway: g.pid, ...extraPids });
    const r = await runC(g.ports.auth, INFLIGHT, macFile);
    summary.radius.push(r);
    console.log(radiusLine('shared C generator (radius-load)', r));
    console.log(`    ${cpu({ 'C generator': r.generatorCores ?? NaN })}`);
  }
  const cpu = cpuMeter({ gateway: g.pid, ...extraPids });
  const r = fromNode(await nodeLoad(g.ports.auth, macs, INFLIGHT));
  summary.radius.push(r);
  console.log(radiusLine('Node generator (bench/radius-load.ts)', r));
  console.log(`    ${cpu()} (the Node generator runs in the bench process)`);
  if (HAS_C) {
    // The same generator on a gateway that has answered the runs above: its in-memory state
    // (the RFC 5080 retransmission cache, the devices last seen) is as full as it gets under load.
    const cpu = cpuMeter({ gateway: g.pid, ...extraPids });
    const r = await runC(g.ports.auth, INFLIGHT, macFile);
    summary.radius.push(r);
    console.log(radiusLine('shared C generator again, after those', r));
    console.log(`    ${cpu({ 'C generator': r.generatorCores ?? NaN })}`);
  }
  summary.rss.radius ??= measureRss(g, summary);
  console.log(`  RSS after the RADIUS runs: ${await memoryText(g)}`);
}

async function portalOneGateway(g: GatewayProcess, macs: readonly string[], extraPids: Record<string, number>, summary: StoreSummary): Promise<void> {
  console.log(`Portal: GET /hotspot-detect.html (Host captive.apple.com), autocannon, ${CONNECTIONS} keep-alive connections, ${DURATION} s (after 2 s warm-up):`);
  let k = 0;
  const strangers = () => unknownIp(k++ & 0xffff);
  const known = () => deviceIp(Math.floor(Math.random() * macs.length));
  await checkProbes(g.ports.http, known(), strangers());
  const results: PortalFigures[] = [];
  for (const [label, expected, ipFor] of [
    ['unknown address → 302 to the portal', 302, strangers],
    ['device with a session → 200 Success', 200, known],
  ] as const) {
    await probeLoad(g.ports.http, expected, ipFor, 2);
    const cpu = cpuMeter({ gateway: g.pid, ...extraPids });
    const r = await probeLoad(g.ports.http, expected, ipFor, DURATION);
    results.push(r);
    console.log(portalLine(label, r));
    console.log(`    ${cpu()} (autocannon runs in the bench process)`);
  }
  summary.portal ??= { redirect: results[0]!, online: results[1]! };
  summary.rss.portal ??= measureRss(g, summary);
  console.log(`  RSS after the portal runs: ${await memoryText(g)}`);
}

async function sqliteRuns(dir: string, base: Record<string, any>, macs: readonly string[], macFile: string): Promise<StoreSummary> {
  console.log(`\n== (a) SQLite store ==`);
  const file = join(dir, 'state.sqlite');
  const seeded = await seedSqlite(file, macs);
  const check = await openSqliteStore(file);
  try {
    await checkSeed(check, macs);
  } finally {
    await check.close();
  }
  console.log(`  seeded ${fmt(macs.length)} devices (2 per person), sessions and accounting Starts (IP→MAC leases) in ${seconds(seeded.ms)}; state.sqlite ${(statSync(file).size / 2 ** 20).toFixed(0)} MB`);
  const ports = await freePorts();
  const configFile = join(dir, 'sqlite.yaml');
  await writeConfig(base, configFile, ports, { kind: 'sqlite', sqlite_file: 'state.sqlite' }, 'audit-sqlite');
  const { gateway, all } = await startups(configFile, ports, 'sqlite gateway');
  const summary: StoreSummary = { seedMs: seeded.ms, startups: all, rss: { start: NaN, most: NaN }, radius: [] };
  try {
    await loadOneGateway(gateway, macs, macFile, {}, summary);
    console.log(`  the gateway wrote ${fmt(gateway.logLines())} log lines`);
  } finally {
    await stopChild(gateway.child);
  }
  return summary;
}

async function redisRuns(dir: string, base: Record<string, any>, macs: readonly string[], macFile: string): Promise<StoreSummary> {
  console.log(`\n== (b) Redis store (a private redis-server, --save "" --appendonly no) ==`);
  const redis = await startRedis(dir);
  const server = (await redis.info('server')) as Record<string, string>;
  console.log(`  redis-server ${server.redis_version} pid ${redis.pid} on ${redis.url}`);
  const storeConfig = { kind: 'redis', redis: { url: redis.url, key_prefix: 'enrollgate:', connect_timeout_ms: 2000 } };
  const seedStore = await openRedisStore({ url: redis.url, key_prefix: 'enrollgate:', connect_timeout_ms: 2000 }, createLogger('warn'));
  let seeded: SeedResult;
  try {
    seeded = await seedThrough(seedStore.kv, macs, 500);
    await checkSeed(seedStore, macs);
  } finally {
    await seedStore.close();
  }
  const memory = await redis.info('memory');
  const keyspace = await redis.info('keyspace');
  console.log(
    `  seeded ${fmt(macs.length)} devices (2 per person), sessions and accounting Starts (IP→MAC leases) in ${seconds(seeded.ms)} ` +
      `(500 at a time, pipelined); Redis holds ${Object.values(keyspace)[0] ?? '?'}, used_memory ${memory.used_memory_human}, RSS ${(procStatus(redis.pid).rss).toFixed(0)} MB`,
  );
  const ports = await freePorts();
  const configFile = join(dir, 'redis-1.yaml');
  await writeConfig(base, configFile, ports, storeConfig, 'audit-redis-1');
  const { gateway, all } = await startups(configFile, ports, 'redis gateway 1');
  const summary: StoreSummary = { seedMs: seeded.ms, startups: all, rss: { start: NaN, most: NaN }, radius: [] };
  let second: GatewayProcess | undefined;
  try {
    await loadOneGateway(gateway, macs, macFile, { redis: redis.pid }, summary);
    console.log(`  the gateway wrote ${fmt(gateway.logLines())} log lines; redis-server RSS ${procStatus(redis.pid).rss.toFixed(0)} MB`);

    if (values['skip-two']) return summary;
    console.log(`\n== (c) Two gateway processes sharing that Redis, ${Math.ceil(INFLIGHT / 2)} in flight on each (${INFLIGHT} in all) ==`);
    const ports2 = await freePorts();
    const configFile2 = join(dir, 'redis-2.yaml');
    await writeConfig(base, configFile2, ports2, storeConfig, 'audit-redis-2');
    second = await startGatewayProcess(configFile2, ports2, 'redis gateway 2');
    console.log(`  gateway 2: Status-Server answered ${seconds(second.startup.radius)} after spawn, /healthz ${seconds(second.startup.http)}; RSS ${rssText(second.pid)}`);
    const half = Math.ceil(INFLIGHT / 2);
    const pids = { 'gateway 1': gateway.pid, 'gateway 2': second.pid, redis: redis.pid };
    const two: StoreSummary['two'] = { node: [] };
    if (HAS_C) {
      const cpu = cpuMeter(pids);
      const rs = await Promise.all([runC(gateway.ports.auth, half, macFile), runC(second.ports.auth, half, macFile)]);
      two.c = rs;
      console.log(radiusLine('C generator → gateway 1', rs[0]!));
      console.log(radiusLine('C generator → gateway 2', rs[1]!));
      console.log(`  ${'total, two C generators'.padEnd(40)} ${fmt(rs[0]!.rps + rs[1]!.rps).padStart(7)} req/s`);
      console.log(`    ${cpu({ 'C generators': (rs[0]!.generatorCores ?? NaN) + (rs[1]!.generatorCores ?? NaN) })}`);
    }
    const cpu = cpuMeter(pids);
    const rs = (await Promise.all([nodeLoad(gateway.ports.auth, macs, half), nodeLoad(second.ports.auth, macs, half)])).map(fromNode);
    two.node = rs;
    console.log(radiusLine('Node generator → gateway 1', rs[0]!));
    console.log(radiusLine('Node generator → gateway 2', rs[1]!));
    console.log(`  ${'total, both Node generators'.padEnd(40)} ${fmt(rs[0]!.rps + rs[1]!.rps).padStart(7)} req/s`);
    console.log(`    ${cpu()} (both Node generators run in the bench process)`);
    console.log(`  RSS: gateway 1 ${await memoryText(gateway)}\n       gateway 2 ${await memoryText(second)}`);
    summary.two = two;
  } finally {
    await Promise.all([stopChild(gateway.child), ...(second ? [stopChild(second.child)] : [])]);
  }
  return summary;
}

// ---------------------------------------------------------------------------------------------

function verdict(ok: boolean): string {
  return ok ? 'met' : 'NOT MET';
}

function summarize(results: Record<string, StoreSummary>): void {
  console.log(`\n== Summary (${fmt(DEVICES)} devices with live sessions, ${cpus().length} cores) ==`);
  for (const [name, s] of Object.entries(results)) {
    const worstStart = Math.max(...s.startups.map((t) => Math.max(t.radius, t.http)));
    const radius = s.radius.map((r) => `${fmt(r.rps)} req/s p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms`).join('; ');
    console.log(`  ${name}: seeding ${seconds(s.seedMs)}${radius ? `; RADIUS ${radius}${HAS_C ? ' (C; Node generator; C again; per round)' : ' (Node generator, per round)'}` : ''}`);
    if (s.portal) {
      console.log(
        `  ${' '.repeat(name.length)}  probes: 302 ${fmt(s.portal.redirect.rps)} req/s p99 ${s.portal.redirect.p99} ms; 200 ${fmt(s.portal.online.rps)} req/s p99 ${s.portal.online.p99} ms`,
      );
    }
    if (s.two) {
      const total = (rs: RadiusFigures[]) => fmt(rs.reduce((sum, r) => sum + r.rps, 0));
      console.log(
        `  ${' '.repeat(name.length)}  two gateways: ${s.two.c ? `${total(s.two.c)} req/s in all (C), ` : ''}${total(s.two.node)} req/s in all (Node)`,
      );
    }
    console.log(
      `  ${' '.repeat(name.length)}  RSS ${s.rss.start.toFixed(0)} MB after start${s.rss.radius !== undefined ? `, ${s.rss.radius.toFixed(0)} MB after the RADIUS runs` : ''}${s.rss.portal !== undefined ? `, ${s.rss.portal.toFixed(0)} MB after the portal runs` : ''}: ` +
        `${s.rss.most > Math.max(s.rss.start, s.rss.radius ?? 0, s.rss.portal ?? 0) ? `${s.rss.most.toFixed(0)} MB at most in a later round; ` : ''}< ${RSS_TARGET_MB} MB ${verdict(s.rss.most < RSS_TARGET_MB)}; start-up at most ${seconds(worstStart)} of ${s.startups.length}: < ${STARTUP_TARGET_S} s ${verdict(worstStart < STARTUP_TARGET_S * 1000)}`,
    );
    const rounds = s.rss.rounds ?? [];
    if (rounds.length > 1) {
      const added = rounds[rounds.length - 1]! - rounds[0]!;
      console.log(
        `  ${' '.repeat(name.length)}  RSS after each round of the same load: ${rounds.map((r) => `${r.toFixed(0)} MB`).join(', ')}; the rounds after the first added ${added.toFixed(0)} MB (flat: at most ${FLAT_MB} MB: ${verdict(added <= FLAT_MB)})`,
      );
    }
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`the bench ran past --max-minutes ${values['max-minutes']}: stopping`);
    void cleanup().finally(() => process.exit(1));
  }, Number(values['max-minutes']) * 60_000);
  watchdog.unref();
  if (!existsSync(GATEWAY_JS)) throw new Error(`${GATEWAY_JS} is missing: npm run build first (npm run bench:scale does)`);

  workDir = await mkdtemp(join(tmpdir(), 'enrollgate-bench-scale-'));
  const configFile = await initCommand({ dir: workDir, certsDir: join(workDir, 'certs'), print: () => {} });
  const base = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  base.log = { level: values['log-level'] };
  base.radius.workers = 1;
  // The C generator's reference figures come from a server answering with a VLAN and Session-Timeout: do the same.
  base.radius.clients = [{ name: 'bench', address: '127.0.0.1', secret: SECRET, with_session: { vlan: '10' } }];
  // Probes come through "a proxy" on 127.0.0.1 that names the device's address in X-Forwarded-For.
  base.portal.trust_proxy = true;
  // A cut-off an hour behind now: every session has nearly a day left.
  base.session = { daily_cutoff: `${String((new Date().getUTCHours() + 23) % 24).padStart(2, '0')}:00`, time_zone: 'UTC' };

  const macs = knownMacs(DEVICES);
  if (new Set(macs).size !== macs.length) throw new Error('the known MAC list has duplicates');
  const macFile = join(workDir, 'macs.txt');
  await writeFile(macFile, `${macs.join('\n')}\n`);
  console.log(
    `enrollgate scale bench: ${fmt(DEVICES)} enrolled devices with live sessions; node ${process.version}, ${cpus().length} cores; ` +
      `RADIUS ${INFLIGHT} in flight, ${UNKNOWN_PCT} % unknown MACs; ${DURATION} s per run; log level ${values['log-level']}; ` +
      `${values['gateway-node-options'] ? `gateway node options ${values['gateway-node-options']}; ` : ''}` +
      `${HAS_C ? 'shared C generator found' : `no C generator (${values['skip-c'] ? '--skip-c' : `${C_TOOL} not built`}): Node generator only`}`,
  );

  const results: Record<string, StoreSummary> = {};
  if (!values['skip-sqlite']) results.SQLite = await sqliteRuns(workDir, base, macs, macFile);
  if (!values['skip-redis']) results.Redis = await redisRuns(workDir, base, macs, macFile);
  summarize(results);
}

main()
  .catch((err: unknown) => {
    // After Ctrl-C or the watchdog, what failed is only what the clean-up stopped.
    if (!cleanedUp) console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
