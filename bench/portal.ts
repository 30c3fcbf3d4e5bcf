/**
 * npm run bench:portal — the captive probe, the one request every phone makes on every
 * join (often several times), against the smallest Koa + router app answering the same
 * redirect (bench/bare-koa.ts): what Koa itself costs, and what the gateway adds.
 *
 *   npm run bench:portal -- [--devices 10000] [--connections 64] [--duration 10] [--warmup 2]
 *                           [--runs 3] [--log-level info] [--profile DIR]
 *                           [--phases gateway302,koa302,gateway200,page] [--node-args "--heap-prof"]
 *
 * One gateway (portal and RADIUS in one process, SQLite, `devices` enrolled devices with
 * live sessions and accounting leases) and the bare Koa app run pinned to core 0; wrk
 * runs pinned to core 1 (64 keep-alive connections, one thread). Each run measures, in
 * turn: GET /hotspot-detect.html (Host captive.apple.com) from addresses no lease knows
 * (302 to the portal) on the gateway, then the same on bare Koa, then from the addresses
 * of devices with a session (200 "Success") on the gateway, then GET /portal from enrolled
 * devices without a session (the next morning's login page, rendered). Each address comes
 * in X-Forwarded-For (portal.trust_proxy), cycling over 4,096 addresses of each kind (the
 * last 4,096 devices are seeded without a session): every packet goes to 127.0.0.1. Medians of the runs are printed last,
 * with the ratio to bare Koa and the targets (≥ 0.9 × bare Koa, p99 ≤ 10 ms).
 *
 * Every kind of answer is checked in full (status, Location or body) before and after the
 * load; wrk counts answers other than 2xx/3xx and socket errors, printed per run.
 * --profile DIR writes the gateway's V8 CPU profile there when it stops (with --phases
 * naming one gateway phase, the profile is that path's). Each line also gives the
 * server's CPU time per answer, which a busy machine disturbs less than the rate.
 *
 * Needs wrk and taskset (apt-get install wrk util-linux). Loopback only, bounded in time.
 * Prints its figures; asserts nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { initCommand } from '../src/cli/commands/init.js';
import { freeTcpPort, freeUdpPort } from '../test/helpers/ports.js';
import { cpuMeter, cpuSeconds } from './processes.js';
import { deviceIp, knownMacs, seedSqlite, unknownIp } from './seed.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'string' },
    phases: { type: 'string', default: 'gateway302,koa302,gateway200,page' },
    'node-args': { type: 'string', default: '' },
  },
});
const DEVICES = Number(values.devices);
const CONNECTIONS = Number(values.connections);
const DURATION = Number(values.duration);
const WARMUP = Number(values.warmup);
const RUNS = Number(values.runs);
for (const [name, v] of Object.entries({ devices: DEVICES, connections: CONNECTIONS, duration: DURATION, runs: RUNS })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive whole number`);
}
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error('--warmup must be a whole number of seconds');
if (DURATION > 60 || RUNS > 10 || DEVICES > 200_000) throw new Error('bounds: --duration ≤ 60, --runs ≤ 10, --devices ≤ 200000');
/** The addresses wrk cycles through, per kind. */
const ADDRESSES = 4096;
const PROBE_HOST = 'captive.apple.com';
const PROBE_PATH = '/hotspot-detect.html';
const RATIO_TARGET = 0.9;
const P99_TARGET_MS = 10;

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/** Which cores the servers and wrk run on: apart when the machine has two or more. */
const PIN = cpus().length >= 2 ? { server: ['taskset', '-c', '0'], load: ['taskset', '-c', '1'] } : { server: [], load: [] };

function requireTool(name: string, install: string): void {
  if (spawnSync(name, ['--version'], { stdio: 'ignore' }).error) throw new Error(`${name} is not installed: ${install}`);
}

/** Spawns `argv` (pinned by `pin`) and resolves when its output says `ready`. */
async function startServer(label: string, argv: string[], ready: string): Promise<ChildProcess> {
  const [command, ...args] = argv;
  const child = track(spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not say "${ready}" within 30 s:\n${output.slice(-2000)}`)), 30_000);
    const seen = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
  // Keep draining its output so that it never blocks on a full pipe.
  return child;
}

/** A wrk script that cycles over `requests` prepared once (X-Forwarded-For and Host per request). */
function wrkScript(path: string, host: string, addresses: readonly string[]): string {
  const list = addresses.map((a) => `"${a}"`).join(',');
  return `local addresses = {${list}}
local requests = {}
local i = 0
init = function(args)
  for k, a in ipairs(addresses) do
    requests[k] = wrk.format("GET", "${path}", { ["Host"] = "${host}", ["X-Forwarded-For"] = a, ["User-Agent"] = "CaptiveNetworkSupport-481.0.1 wispr" })
  end
end
request = function()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
`;
}

interface WrkFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  unexpected: number;
  socketErrors: number;
  /** The server's CPU time (user + system) per answer, in µs. */
  cpuUsPerAnswer?: number;
}

const toMs = (value: string, unit: string): number => Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit]!;

async function runWrk(port: number, script: string, seconds: number): Promise<WrkFigures> {
  const args = [...PIN.load, 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}`];
  const run = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  if (run.status !== 0) throw new Error(`wrk failed (${run.status}): ${run.stderr}${run.stdout}`);
  const out = run.stdout;
  const latency = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(out);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1] ?? NaN),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    unexpected: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((s, v) => s + Number(v), 0) : 0,
  };
}

/** One request of each kind, checked in full. */
async function checkAnswers(gatewayPort: number, koaPort: number, portal: string, sessionlessIp: string): Promise<void> {
  // A new connection each (no pool: a kept-alive one may close under a later request).
  const get = (port: number, path: string, host: string, ip: string) =>
    new Promise<{ status: number; location: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000, headers: { host, 'x-forwarded-for': ip } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within 5 s`)));
      req.on('error', reject);
      req.end();
    });
  for (const [label, port] of [['gateway', gatewayPort], ['bare Koa', koaPort]] as const) {
    const r = await get(port, PROBE_PATH, PROBE_HOST, unknownIp(1));
    if (r.status !== 302 || r.location !== portal) throw new Error(`${label}: a probe without a session answered ${r.status} to ${r.location}, not 302 to ${portal}`);
  }
  const online = await get(gatewayPort, PROBE_PATH, PROBE_HOST, deviceIp(1));
  const body = online.body;
  if (online.status !== 200 || body !== '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>') throw new Error(`a probe with a session answered ${online.status}: ${body.slice(0, 200)}`);
  const page = await get(gatewayPort, '/portal', new URL(portal).host, sessionlessIp);
  const html = page.body;
  if (page.status !== 200 || !/<form[^>]*action="[^"]*login/.test(html) || !html.includes('type="password"')) throw new Error(`GET /portal for an enrolled device without a session answered ${page.status}, not the login page: ${html.slice(0, 400)}`);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const line = (label: string, f: WrkFigures, cpu: string) =>
  `  ${label.padEnd(44)} ${fmt(f.rps).padStart(7)} req/s  p50 ${f.p50Ms.toFixed(2)} ms  p99 ${f.p99Ms.toFixed(2)} ms  (${fmt(f.requests)} answers, ${f.unexpected} not 2xx/3xx, ${f.socketErrors} socket errors)\n      server CPU ${f.cpuUsPerAnswer?.toFixed(0)} µs per answer; ${cpu}`;

async function main(): Promise<void> {
  requireTool('wrk', 'apt-get install -y wrk');
  if (PIN.server.length) requireTool('taskset', 'apt-get install -y util-linux');
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-bench-portal-'));
  try {
    const [http, https, auth, acct, koaPort] = [await freeTcpPort(), await freeTcpPort(), await freeUdpPort(), await freeUdpPort(), await freeTcpPort()];
    const configFile = await initCommand({ dir, certsDir: join(dir, 'certs'), print: () => {} });
    const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
    doc.log = { level: values['log-level'] };
    doc.radius.workers = 1;
    doc.radius.auth_port = auth;
    doc.radius.acct_port = acct;
    doc.portal.http.port = http;
    doc.portal.https.port = https;
    // Plain HTTP on both sides: TLS is not what is compared.
    doc.portal.base_url = `http://127.0.0.1:${http}`;
    doc.portal.trust_proxy = true;
    // The shared C generator's MACs (seed.ts) are locally administered, as phones' private addresses are.
    doc.enrollment = { ...(doc.enrollment ?? {}), randomised_macs: 'accept' };
    doc.store = { kind: 'sqlite', sqlite_file: 'state.sqlite' };
    doc.session = { daily_cutoff: `${String((new Date().getUTCHours() + 23) % 24).padStart(2, '0')}:00`, time_zone: 'UTC' };
    await writeFile(configFile, stringify(doc));
    const macs = knownMacs(DEVICES);
    // The last ADDRESSES devices are enrolled without a session: the next morning's login page.
    const seeded = await seedSqlite(join(dir, 'state.sqlite'), macs, ADDRESSES);
    const withSession = DEVICES - ADDRESSES;
    if (withSession < ADDRESSES) throw new Error(`--devices must be at least ${2 * ADDRESSES}`);
    const portal = `http://127.0.0.1:${http}/portal`;

    const profile = [...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []), ...values['node-args'].split(/\s+/).filter(Boolean)];
    const gateway = await startServer('gateway', [...PIN.server, process.execPath, ...profile, join('dist', 'cli', 'index.js'), 'start', '--config', configFile], 'enrollgate started');
    const koa = await startServer('bare Koa', [...PIN.server, process.execPath, '--import', 'tsx', join('bench', 'bare-koa.ts'), String(koaPort), portal], 'bare koa listening');
    try {
      await checkAnswers(http, koaPort, portal, deviceIp(DEVICES - 1));
      const scripts = {
        strangers: join(dir, 'strangers.lua'),
        devices: join(dir, 'devices.lua'),
        page: join(dir, 'page.lua'),
      };
      const strangers = Array.from({ length: ADDRESSES }, (_, i) => unknownIp(i));
      await writeFile(scripts.strangers, wrkScript(PROBE_PATH, PROBE_HOST, strangers));
      await writeFile(scripts.devices, wrkScript(PROBE_PATH, PROBE_HOST, Array.from({ length: ADDRESSES }, (_, i) => deviceIp(i))));
      const sessionless = Array.from({ length: ADDRESSES }, (_, i) => deviceIp(withSession + i));
      await writeFile(scripts.page, wrkScript('/portal', `127.0.0.1:${http}`, sessionless));
      console.log(
        `bench:portal: node ${process.version}; ${fmt(DEVICES)} enrolled devices with sessions (seeded in ${(seeded.ms / 1000).toFixed(1)} s); wrk, 1 thread, ${CONNECTIONS} connections; ` +
          `${PIN.server.length ? 'servers on core 0, wrk on core 1' : 'one core: nothing pinned'}; ${WARMUP} s warm-up + ${DURATION} s per measurement, ${RUNS} run(s); log level ${values['log-level']}`,
      );
      const phases = [
        { key: 'gateway302', label: 'gateway, probe without a session → 302', port: http, script: scripts.strangers, pid: gateway.pid! },
        { key: 'koa302', label: 'bare Koa + router, the same 302', port: koaPort, script: scripts.strangers, pid: koa.pid! },
        { key: 'gateway200', label: 'gateway, probe with a session → 200', port: http, script: scripts.devices, pid: gateway.pid! },
        { key: 'page', label: 'gateway, GET /portal → the login page', port: http, script: scripts.page, pid: gateway.pid! },
      ].filter((p) => values.phases.split(',').includes(p.key));
      const results: Record<string, WrkFigures[]> = Object.fromEntries(phases.map((p) => [p.key, []]));
      for (let run = 1; run <= RUNS; run++) {
        console.log(`\nrun ${run} of ${RUNS}`);
        for (const p of phases) {
          if (WARMUP > 0) await runWrk(p.port, p.script, WARMUP);
          const before = cpuSeconds(p.pid);
          const meter = cpuMeter({ server: p.pid });
          const f = await runWrk(p.port, p.script, DURATION);
          f.cpuUsPerAnswer = ((cpuSeconds(p.pid) - before) * 1e6) / f.requests;
          console.log(line(p.label, f, meter()));
          results[p.key]!.push(f);
        }
      }
      await checkAnswers(http, koaPort, portal, deviceIp(DEVICES - 1));
      const m = (key: string, pick: (f: WrkFigures) => number) => median(results[key]!.map(pick));
      const ratio = m('gateway302', (f) => f.rps) / m('koa302', (f) => f.rps);
      const cpuRatio = m('koa302', (f) => f.cpuUsPerAnswer ?? NaN) / m('gateway302', (f) => f.cpuUsPerAnswer ?? NaN);
      const p99 = m('gateway302', (f) => f.p99Ms);
      console.log(`\nmedians of ${RUNS} run(s):`);
      console.log('| path | req/s | p50 | p99 | server CPU per answer |');
      console.log('| --- | --- | --- | --- | --- |');
      for (const p of phases) console.log(`| ${p.label} | ${fmt(m(p.key, (f) => f.rps))} | ${m(p.key, (f) => f.p50Ms).toFixed(2)} ms | ${m(p.key, (f) => f.p99Ms).toFixed(2)} ms | ${m(p.key, (f) => f.cpuUsPerAnswer ?? NaN).toFixed(0)} µs |`);
      if (!results.gateway302?.length || !results.koa302?.length) return;
      console.log(
        `\nprobe → 302: gateway / bare Koa = ${ratio.toFixed(2)} (target ≥ ${RATIO_TARGET}: ${ratio >= RATIO_TARGET ? 'met' : 'NOT MET'}); ` +
          `p99 ${p99.toFixed(2)} ms (target ≤ ${P99_TARGET_MS} ms: ${p99 <= P99_TARGET_MS ? 'met' : 'NOT MET'}); ` +
          `by CPU per answer, bare Koa / gateway = ${cpuRatio.toFixed(2)}`,
      );
    } finally {
      await Promise.all([stop(gateway), stop(koa)]);
    }
  } finally {
    await Promise.all([...children].map(stop));
    await rm(dir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([...children].map(stop)).finally(() => process.exit(130));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
