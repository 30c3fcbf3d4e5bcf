/**
 * npm run bench:radius — RADIUS MAC-authentication throughput of a real gateway
 * process (built CLI, embedded SQLite store) holding 10,000 enrolled devices with
 * live sessions, under a closed-loop load of 64 Access-Requests in flight, 10 %
 * unknown MACs: from the shared C load generator (../shared/tools/radius-load, an
 * independent check), alone and with 2,000 accounting requests a second alongside, in
 * pairs (--runs of each, alternating; accounting starts 3 s before the first such run
 * measures, 1 s before the others), then from bench/radius-load.ts. Medians are
 * printed, and the change accounting makes within each pair: on a shared 2-core
 * machine one run can differ from the next by a fifth.
 *
 *   npm run bench:radius -- [--duration 10] [--runs 3] [--inflight 64] [--devices 10000] [--workers 2] [--log-level info] [--profile DIR] [--gc] [--accounting-only] [--no-freeradius]
 *
 * FreeRADIUS alongside: unless --no-freeradius, a private FreeRADIUS 3.2 (Debian's
 * package, its configuration copied to the bench's temp folder: bench/freeradius.ts; the
 * system service is never used) answers the same MACs from a users file with the same
 * reply (Session-Timeout, VLAN 10 in Tunnel-* attributes), requiring Message-Authenticator
 * as the gateway does. Each "auth only" run of the gateway is followed by one of
 * FreeRADIUS with the same generator, MAC list and attributes; the medians and their
 * ratio are printed against the target (gateway ≥ 1.25 × FreeRADIUS, p99 ≤ 3 ms).
 *
 * The Node floor alongside (unless --no-floor): node-floor.ts, as many worker processes as
 * the gateway's answering the same MACs with the same reply and nothing else (a Set of
 * MACs, the Message-Authenticator checked, the answer signed), after each FreeRADIUS run:
 * how far the gateway is from what Node's UDP and crypto cost on this machine at that
 * moment, and FreeRADIUS beside the same yardstick.
 *
 * First, accounting alone (no authentication load): the CPU time each gateway process
 * spends per accounting request. --accounting-only stops there.
 *
 * --workers N runs RADIUS in N worker processes (radius.workers; default 2, one per core
 * of the machine the targets are set for, plus the accounting worker); 1 runs it in the
 * main process. The cores each gateway process used are printed per run.
 *
 * --profile DIR writes the gateway's V8 CPU profile there (open it in Chrome DevTools).
 *
 * --gc runs the gateway with V8's --trace-gc and prints, per run, each gateway
 * process's garbage-collection pauses: a worker paused is a worker whose requests wait,
 * which is what sets the p99 here.
 *
 * Loopback only, bounded in time. Prints its figures; asserts nothing.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { initCommand } from '../src/cli/commands/init.js';
import { openSqliteStore } from '../src/store/sqlite-state-store.js';
import { freeTcpPort, freeUdpPort } from '../test/helpers/ports.js';
import { createBenchPki } from './eap-certs.js';
import { startFreeRadius, type RunningFreeRadius } from './freeradius.js';
import { cpuMeter, cpuSeconds, gatewayProcesses, procStatus } from './processes.js';
import { C_TOOL, knownMacs, seedSessions } from './seed.js';
import { runLoad, type LoadResult } from './radius-load.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    inflight: { type: 'string', default: '64' },
    devices: { type: 'string', default: '10000' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'string' },
    workers: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    gc: { type: 'boolean', default: false },
    'accounting-only': { type: 'boolean', default: false },
    'no-freeradius': { type: 'boolean', default: false },
    'no-floor': { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(values.runs));
const ACCOUNTING_WARMUP_MS = 3000;
/** Accounting requests a second, alongside authentication (Interim-Updates for random known devices). */
const ACCOUNTING_RATE = 2000;
/** Before each later run with accounting: the accounting worker is warm by then. */
const ACCOUNTING_SETTLE_MS = 1000;
const DURATION = Number(values.duration);
const INFLIGHT = Number(values.inflight);
const DEVICES = Number(values.devices);
const SECRET = randomBytes(18).toString('base64url');
const execFileAsync = promisify(execFile);
/** A garbage-collection pause of a gateway process, from V8's --trace-gc line (--gc). */
interface GcPause {
  pid: number;
  kind: 'scavenge' | 'mark-compact';
  ms: number;
}
const gcPauses: GcPause[] = [];
const GC_LINE = /^\[(\d+):0x[0-9a-f]+\]\s+\d+ ms: (Scavenge|Mark-Compact|Mark-Sweep)\b[^,]*, ([\d.]+) \//;

/** One line per gateway process: its pauses during a run, and the share of the run it spent in them. */
function gcSummary(pauses: GcPause[], processes: Record<string, number>, seconds: number): string {
  const parts = Object.entries(processes).map(([name, pid]) => {
    const mine = pauses.filter((p) => p.pid === pid);
    const of = (kind: GcPause['kind']) => mine.filter((p) => p.kind === kind).map((p) => p.ms);
    const scavenges = of('scavenge');
    const full = of('mark-compact');
    const total = mine.reduce((a, p) => a + p.ms, 0);
    const mean = scavenges.length ? scavenges.reduce((a, b) => a + b, 0) / scavenges.length : 0;
    return (
      `${name} ${scavenges.length} scavenges (mean ${mean.toFixed(1)} ms, max ${Math.max(0, ...scavenges).toFixed(1)})` +
      `${full.length ? `, ${full.length} mark-compact (max ${Math.max(...full).toFixed(1)} ms)` : ''}, paused ${((total / 1000 / seconds) * 100).toFixed(1)} %`
    );
  });
  return `GC pauses: ${parts.join('; ')}`;
}

/** Runs `work` and says how many cores each gateway process, this process and the rest of the host used meanwhile (and, with --gc, their GC pauses). */
async function measured<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cores: string }> {
  const processes = gatewayProcesses(pid);
  const meter = cpuMeter(processes);
  const started = performance.now();
  const firstPause = gcPauses.length;
  const result = await work();
  const cores = meter();
  if (!values.gc) return { result, cores };
  return { result, cores: `${cores}\n    ${gcSummary(gcPauses.slice(firstPause), processes, (performance.now() - started) / 1000)}` };
}

const rssMb = (pid: number) => Math.round(procStatus(pid).rss);

/** One run of the C generator, from its report. */
interface CRun {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Timeouts and every kind of wrong answer it counts. */
  problems: string;
  cores: string;
}

function summarise(report: string): Omit<CRun, 'cores'> {
  const number = (re: RegExp) => Number(re.exec(report)?.[1] ?? NaN);
  const validation = /validation\s+(.*)/.exec(report)?.[1] ?? '';
  const problems = [...`${validation} other ${number(/other\s+(\d+)/)} timeouts ${number(/timeouts\s+(\d+)/)}`.matchAll(/([a-z-]+) (\d+)/g)]
    .filter(([, name, n]) => Number(n) > 0 && name !== 'with-msg-auth')
    .map(([, name, n]) => `${name} ${n}`);
  return {
    perSecond: number(/throughput\s+(\d+)/),
    p50Ms: number(/p50 ([\d.]+)/),
    p99Ms: number(/p99 ([\d.]+)/),
    problems: problems.length ? problems.join(', ') : 'no timeouts, no wrong answers',
  };
}

function line(r: CRun): string {
  return `${r.perSecond} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  ${r.problems}; ${r.cores}`;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function show(label: string, r: LoadResult): void {
  console.log(
    `${label.padEnd(34)} ${String(r.requestsPerSecond).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  max ${r.maxMs.toFixed(1)} ms  ` +
      `accept ${r.accepts}  reject ${r.rejects}  timeouts ${r.timeouts}  wrong ${r.wrong}`,
  );
}

/**
 * Accounting Interim-Updates at a steady rate from another socket, while the load runs:
 * for a random known device each, with an Acct-Session-Time that grows, so that no two
 * are alike (an Identifier and authenticator seen again within 30 s would be answered as
 * a retransmission). Each device's packet is built once and copied per send; this
 * process's CPU is taken from the same two cores as the gateway's, so it is kept small.
 */
function accountingLoad(port: number, macs: readonly string[], perSecond: number): { answered: () => number; stop: () => Promise<number> } {
  const socket = createSocket('udp4');
  socket.connect(port, '127.0.0.1');
  let answered = 0;
  socket.on('message', () => answered++);
  const secret = Buffer.from(SECRET);
  /** Per device: the packet with a zero authenticator and Acct-Session-Time last, then the secret (what the authenticator's MD5 covers). */
  const templates = new Map<string, Buffer>();
  const template = (mac: string): Buffer => {
    const attribute = (type: number, value: Buffer) => Buffer.concat([Buffer.from([type, value.length + 2]), value]);
    const attributes = Buffer.concat([
      attribute(40, Buffer.from([0, 0, 0, 3])), // Acct-Status-Type = Interim-Update
      attribute(44, Buffer.from(`bench-${mac}`)), // Acct-Session-Id
      attribute(31, Buffer.from(mac.toUpperCase())), // Calling-Station-Id
      attribute(42, Buffer.from([0, 1, 0, 0])), // Acct-Input-Octets
      attribute(46, Buffer.alloc(4)), // Acct-Session-Time, set per packet
    ]);
    const packet = Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(16), attributes, secret]);
    packet.writeUInt16BE(packet.length - secret.length, 2);
    return packet;
  };
  let sent = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perSecond / 100; i++, sent++) {
      const mac = macs[Math.floor(Math.random() * macs.length)]!;
      let t = templates.get(mac);
      if (!t) templates.set(mac, (t = template(mac)));
      const bytes = Buffer.from(t);
      const length = t.length - secret.length;
      bytes[1] = sent & 0xff;
      bytes.writeUInt32BE(sent >>> 0, length - 4);
      // RFC 2866 §3: MD5(Code + Identifier + Length + 16 zero octets + Attributes + secret).
      createHash('md5').update(bytes).digest().copy(bytes, 4);
      socket.send(bytes.subarray(0, length));
    }
  }, 10);
  return {
    answered: () => answered,
    stop: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      return answered;
    },
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-bench-'));
  const configFile = await initCommand({ dir, certsDir: join(dir, 'certs'), print: () => {} });
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  const ports = { http: await freeTcpPort(), https: await freeTcpPort(), auth: await freeUdpPort(), acct: await freeUdpPort() };
  doc.log = { level: values['log-level'] };
  doc.radius.workers = Number(values.workers);
  doc.portal.http.port = ports.http;
  doc.portal.https.port = ports.https;
  doc.radius.auth_port = ports.auth;
  doc.radius.acct_port = ports.acct;
  // The C generator's reference figures come from a server answering with a VLAN and Session-Timeout: do the same.
  doc.radius.clients = [{ name: 'bench', address: '127.0.0.1', secret: SECRET, with_session: { vlan: '10' } }];
  // A cut-off an hour behind now: every session has nearly a day left.
  doc.session = { daily_cutoff: `${String((new Date().getUTCHours() + 23) % 24).padStart(2, '0')}:00`, time_zone: 'UTC' };
  await writeFile(configFile, stringify(doc));

  const macs = knownMacs(DEVICES);
  const started = Date.now();
  const store = await openSqliteStore(join(dir, 'state.sqlite'));
  await seedSessions(store.kv, macs);
  await store.close();
  console.log(`seeded ${macs.length} devices with live sessions in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const profile = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
  const gateway = spawn(process.execPath, [...profile, ...(values.gc ? ['--trace-gc'] : []), 'dist/cli/index.js', 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  gateway.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  let logLines = 0;
  // Workers inherit --trace-gc and write to the same stdout: GC lines there are not log lines.
  let partial = '';
  gateway.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      const gc = GC_LINE.exec(l);
      if (gc) gcPauses.push({ pid: Number(gc[1]), kind: gc[2] === 'Scavenge' ? 'scavenge' : 'mark-compact', ms: Number(gc[3]) });
      else logLines++;
    }
  });
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    gateway.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      if (buffered.includes('enrollgate started')) {
        buffered = '';
        resolve();
      }
      if (buffered.length > 1e6) buffered = '';
    });
    gateway.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  });
  const pid = gateway.pid!;
  console.log(
    `gateway pid ${pid}: RSS ${rssMb(pid)} MB after start; ${INFLIGHT} in flight, ${DURATION} s per run, 10 % unknown MACs, log level ${values['log-level']}, RADIUS workers ${values.workers}`,
  );

  const macFile = join(dir, 'macs.txt');
  await writeFile(macFile, `${macs.join('\n')}\n`);
  /** The shared C generator against the gateway; its report, and its responses/s. */
  const runC = async (port = ports.auth, serverPid: number | undefined = values.workers === '1' ? pid : undefined): Promise<{ report: string; perSecond: number }> => {
    const args = ['--host', '127.0.0.1', '--port', String(port), '--secret', SECRET, '--duration', String(DURATION), '--inflight', String(INFLIGHT)];
    args.push('--mac-file', macFile, '--unknown-pct', '10', '--require-resp-ma', ...(serverPid ? ['--server-pid', String(serverPid)] : []));
    let report: string;
    try {
      report = (await execFileAsync(C_TOOL, args, { encoding: 'utf8' })).stdout;
    } catch (err) {
      // It exits 1 when it saw errors; its report is still what we want to see.
      report = `${(err as { stdout?: string }).stdout ?? ''}(radius-load exited with status ${(err as { code?: number }).code})`;
    }
    return { report: report.trim().replace(/^/gm, '  '), perSecond: Number(/throughput\s+(\d+)/.exec(report)?.[1] ?? NaN) };
  };
  const hasC = existsSync(C_TOOL);
  const freeRadius = hasC && !values['no-freeradius'] ? await startReference(dir, macs) : undefined;
  /** One run of the C generator against FreeRADIUS, printed like the gateway's. */
  const frRun = async (i: number): Promise<CRun> => {
    const meter = cpuMeter({ freeradius: freeRadius!.pid });
    const result = await runC(freeRadius!.port, freeRadius!.pid);
    const run = { ...summarise(result.report), cores: meter() };
    if (i === 0) console.log(`../shared/tools/radius-load, FreeRADIUS:\n${result.report}`);
    console.log(`  run ${i + 1}, FreeRADIUS (users file): ${line(run)}`);
    return run;
  };
  const floor = hasC && !values['no-floor'] ? await startNodeFloor(macFile, Number(values.workers)) : undefined;
  /** One run of the C generator against the Node floor (node-floor.ts), printed like the gateway's. */
  const floorRun = async (i: number): Promise<CRun> => {
    const names = Object.entries(gatewayProcesses(floor!.process.pid!)).map(([name, p]) => [name === 'main' ? 'floor primary' : name.replace('auth worker', 'floor child'), p]);
    const meter = cpuMeter(Object.fromEntries(names));
    const result = await runC(floor!.port, undefined);
    const run = { ...summarise(result.report), cores: meter() };
    if (i === 0) console.log(`../shared/tools/radius-load, Node floor:\n${result.report}`);
    console.log(`  run ${i + 1}, Node floor (node-floor.ts): ${line(run)}`);
    return run;
  };
  /** One run of the C generator, printed (its whole report the first time for each label). */
  const shown = new Set<string>();
  const cRun = async (label: string, i: number): Promise<CRun> => {
    const { result, cores } = await measured(pid, () => runC());
    const run = { ...summarise(result.report), cores };
    if (!shown.has(label)) console.log(`../shared/tools/radius-load, ${label}:\n${result.report}`);
    shown.add(label);
    console.log(`  run ${i + 1}, ${label}: ${line(run)}`);
    return run;
  };
  const summary = (label: string, runs: CRun[]) =>
    console.log(`${label}: median of ${runs.length}: ${Math.round(median(runs.map((r) => r.perSecond)))} req/s, p99 ${median(runs.map((r) => r.p99Ms)).toFixed(2)} ms`);

  // Accounting on its own first: what one accounting request costs each gateway process,
  // in CPU time, without authentication competing for the cores (a steadier figure than
  // the change in authentication throughput below, which the machine's drift blurs).
  {
    const processes = gatewayProcesses(pid);
    const acct = accountingLoad(ports.acct, macs, ACCOUNTING_RATE);
    await new Promise((resolve) => setTimeout(resolve, ACCOUNTING_WARMUP_MS));
    const before = Object.fromEntries(Object.entries(processes).map(([name, p]) => [name, cpuSeconds(p)]));
    const answeredBefore = acct.answered();
    const self = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, DURATION * 1000));
    const answered = acct.answered() - answeredBefore;
    const own = process.cpuUsage(self);
    await acct.stop();
    const perRequest = Object.entries(processes)
      .map(([name, p]) => `${name} ${(((cpuSeconds(p) - before[name]!) / answered) * 1e6).toFixed(0)}`)
      .concat(`bench process (sending them) ${((own.user + own.system) / answered).toFixed(0)}`)
      .join(', ');
    console.log(`accounting alone, ${ACCOUNTING_RATE.toLocaleString('en')}/s for ${DURATION} s: ${answered} answered; CPU µs per accounting request: ${perRequest}`);
  }
  if (values['accounting-only']) {
    await stopGateway(gateway, dir);
    return;
  }

  // The C generator alone, then with 2,000 accounting requests a second from this process,
  // in pairs (alone, alongside; alone, alongside; …): the machine's speed drifts by a fifth
  // from one minute to the next, and a change measured within each pair is less exposed
  // to that than one between two separate series.
  if (hasC) {
    const alone: CRun[] = [];
    const mixed: CRun[] = [];
    const reference: CRun[] = [];
    const floors: CRun[] = [];
    let acctAnswered = 0;
    for (let i = 0; i < RUNS; i++) {
      alone.push(await cRun('auth only', i));
      if (freeRadius) reference.push(await frRun(i));
      if (floor) floors.push(await floorRun(i));
      const acct = accountingLoad(ports.acct, macs, ACCOUNTING_RATE);
      // As the C generator warms authentication up before it measures, accounting runs a
      // while first (longer the first time: V8 still compiles the accounting path).
      await new Promise((resolve) => setTimeout(resolve, i === 0 ? ACCOUNTING_WARMUP_MS : ACCOUNTING_SETTLE_MS));
      mixed.push(await cRun('with 2,000 accounting requests/s alongside', i));
      acctAnswered += await acct.stop();
    }
    summary('auth only', alone);
    if (freeRadius) {
      summary('FreeRADIUS (users file)', reference);
      const clean = reference.every((r) => r.problems === 'no timeouts, no wrong answers');
      const ratio = clean ? median(alone.map((r) => r.perSecond)) / median(reference.map((r) => r.perSecond)) : NaN;
      if (!clean) console.log('  FreeRADIUS gave wrong answers or timed out (see above): no ratio');
      const p99 = median(alone.map((r) => r.p99Ms));
      console.log(
        `  gateway / FreeRADIUS = ${ratio.toFixed(2)} (target ≥ 1.25: ${ratio >= 1.25 ? 'met' : 'NOT MET'}); gateway p99 ${p99.toFixed(2)} ms (target ≤ 3 ms: ${p99 <= 3 ? 'met' : 'NOT MET'}); ` +
          `per pair ${alone.map((a, i) => (a.perSecond / reference[i]!.perSecond).toFixed(2)).join(', ')}`,
      );
    }
    if (floor) {
      summary('Node floor (node-floor.ts)', floors);
      const perPair = (a: CRun[]) => a.map((r, i) => (r.perSecond / floors[i]!.perSecond).toFixed(2)).join(', ');
      console.log(
        `  gateway / Node floor = ${(median(alone.map((r) => r.perSecond)) / median(floors.map((r) => r.perSecond))).toFixed(2)} (per run ${perPair(alone)})` +
          (freeRadius ? `; FreeRADIUS / Node floor = ${(median(reference.map((r) => r.perSecond)) / median(floors.map((r) => r.perSecond))).toFixed(2)} (per run ${perPair(reference)})` : ''),
      );
    }
    summary('with accounting alongside', mixed);
    const changes = alone.map((a, i) => ((mixed[i]!.perSecond - a.perSecond) / a.perSecond) * 100);
    console.log(
      `  accounting answered: ${acctAnswered}; auth throughput change per pair ${changes.map((c) => `${c.toFixed(1)} %`).join(', ')}; median ${median(changes).toFixed(1)} %`,
    );
  } else {
    console.log(`(${C_TOOL} not found: no cross-check)`);
  }

  const load = { port: ports.auth, secret: SECRET, known: macs, durationS: DURATION, warmupS: 2, inflight: INFLIGHT, unknownPct: 10, timeoutMs: 1000 };
  const { result: own, cores: ownCores } = await measured(pid, () => runLoad(load));
  show('auth only (Node generator)', own);
  // The Node generator runs in this process: "bench process" is its CPU.
  console.log(`  ${ownCores}; RSS ${rssMb(pid)} MB (main process)`);

  console.log(`gateway wrote ${logLines} log lines; final RSS ${rssMb(pid)} MB`);
  await freeRadius?.stop();
  floor?.process.kill('SIGTERM');
  await stopGateway(gateway, dir);
}

/**
 * The Node floor (node-floor.ts): the same number of worker processes as the gateway's,
 * answering the same MACs with the same reply and nothing else, so that the gateway's
 * figure can be read against what Node itself costs on this machine at that moment.
 */
async function startNodeFloor(macFile: string, workers: number): Promise<{ process: ChildProcess; port: number }> {
  const port = await freeUdpPort();
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./node-floor.ts', import.meta.url)), String(port), SECRET, macFile, String(workers)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`node-floor.ts exited with ${code}`)));
  });
  console.log(`Node floor alongside: pid ${child.pid}, ${workers} worker(s), auth port ${port}`);
  return { process: child, port };
}

/**
 * The reference: a private FreeRADIUS answering the same MACs from a users file with the
 * reply the gateway gives a device with a session (clients[].with_session.vlan: '10').
 */
async function startReference(dir: string, macs: readonly string[]): Promise<(RunningFreeRadius & { port: number }) | undefined> {
  if (spawnSyncVersion('freeradius') === undefined) {
    console.log('(freeradius is not installed: no FreeRADIUS alongside; apt-get install -y freeradius, or --no-freeradius)');
    return undefined;
  }
  const frDir = join(dir, 'freeradius');
  await mkdir(frDir);
  // FreeRADIUS reads its files as freerad: the bench's folder must let it through (not list it).
  await chmod(dir, 0o711);
  const pki = await createBenchPki(frDir);
  // The C generator sends User-Name = User-Password = the MAC (PAP). 22 hours, like the seeded
  // sessions. FreeRADIUS 3.2.1 signs an answer only when the reply asks for a Message-Authenticator.
  const users = macs.map((m) => `"${m}" Cleartext-Password := "${m}"\n\tMessage-Authenticator = 0x00,\n\tSession-Timeout = 79200,\n\tTunnel-Type = VLAN,\n\tTunnel-Medium-Type = IEEE-802,\n\tTunnel-Private-Group-Id = "10"\n`).join('') +
    // Unknown MACs: rejected at once and signed, as the gateway does (Debian holds each Reject back a second).
    'DEFAULT Auth-Type := Reject\n\tMessage-Authenticator = 0x00\n';
  const port = await freeUdpPort();
  const running = await startFreeRadius({ dir: frDir, authPort: port, acctPort: await freeUdpPort(), secret: SECRET, server: pki.server, clientCa: pki.ca.cert, users, rejectDelay: 0 });
  console.log(`FreeRADIUS alongside: pid ${running.pid}, ${spawnSyncVersion('freeradius')}, auth port ${port}, ${macs.length} MACs in its users file`);
  return { ...running, port };
}

function spawnSyncVersion(command: string): string | undefined {
  try {
    return execFileSync(command, ['-v'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

async function stopGateway(gateway: ChildProcess, dir: string): Promise<void> {
  const exited = new Promise((resolve) => gateway.once('exit', resolve));
  gateway.kill('SIGTERM');
  await exited;
  await rm(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
