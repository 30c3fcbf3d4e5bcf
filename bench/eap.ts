/**
 * npm run bench:eap — 802.1X EAP-TLS over RADIUS (RFC 3579, 5216, 9190): full handshakes
 * a second and their latency at 32 conversations in flight, with ECDSA P-256 and with
 * RSA-2048 device keys, over TLS 1.2 and TLS 1.3, then resumptions a second; against a
 * private FreeRADIUS 3.2 (the anchor: the gateway should do at least as well) and, with
 * --target enrollgate, against a real gateway process.
 *
 *   npm run bench:eap -- [--target freeradius,enrollgate] [--keys p256,rsa2048] [--tls 1.2,1.3]
 *                        [--inflight 32] [--duration 10] [--warmup 2] [--first-warmup 10] [--runs 2] [--max 200000]
 *                        [--workers 2] [--log-level info] [--mab] [--profile DIR] [--gateway-cli FILE] [--skip-resumption]
 *
 * The client is bench/eap-client.ts, in this process: it checks every answer and
 * compares the MS-MPPE keys of every Access-Accept with the MSK it derives itself (a
 * mismatch is a failure). It shares the machine's cores with the server: the CPU each
 * used is printed per phase.
 *
 * Each target first gets `--first-warmup` seconds of full handshakes, unmeasured (the
 * gateway's JIT compiles its hot path then). Each phase (target × TLS version × key type ×
 * full/resumption) then runs `--warmup` seconds unmeasured, then `--duration` seconds
 * measured; conversations that end in the measured window count. A phase stops at `--max` conversations, and waits at most one
 * conversation timeout (20 s) for those in flight. With --runs N, targets take turns
 * within each run, so the machine's drift touches both alike; medians are printed last.
 *
 * Resumption: each conversation slot resumes the TLS session its last handshake gave it
 * (a device keeps the newest one); an attempt the server answers with a full handshake
 * instead is counted apart ("fell back"), and its new session is kept. TLS 1.2 resumes
 * by session ID, as wpa_supplicant does (the client offers no ticket extension in 1.2,
 * against both targets alike: eap-client.ts); TLS 1.3 by ticket.
 *
 * --profile DIR (enrollgate only) writes a V8 CPU profile of each of the gateway's
 * processes there when it stops (open one in Chrome DevTools). --gateway-cli FILE starts
 * another build of the gateway (default dist/cli/index.js), for before/after comparisons.
 *
 * --mab (enrollgate only): MAC-authentication Access-Requests (bench/radius-load.ts, 64 in
 * flight, 10 % unknown) alone, then alongside the first full-handshake phase, to see what
 * EAP costs MAB (compare with bench:radius alone).
 *
 * Loopback only, bounded in time and count. Prints its figures; asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freeUdpPort } from '../test/helpers/ports.js';
import { EapTlsPeer, type EapTlsPeerOptions, type HandshakeResult } from './eap-client.js';
import { CLIENT_KEY_TYPES, createBenchPki, type CertFiles, type ClientKeyType } from './eap-certs.js';
import { startGatewayForEap } from './enrollgate-eap.js';
import { startFreeRadius } from './freeradius.js';
import { cpuMeter, cpuSeconds, gatewayProcesses } from './processes.js';
import { runLoad, type LoadResult } from './radius-load.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'freeradius' },
    keys: { type: 'string', default: CLIENT_KEY_TYPES.join(',') },
    tls: { type: 'string', default: '1.2,1.3' },
    inflight: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'first-warmup': { type: 'string', default: '10' },
    runs: { type: 'string', default: '2' },
    max: { type: 'string', default: '200000' },
    workers: { type: 'string', default: '2' },
    'log-level': { type: 'string', default: 'info' },
    mab: { type: 'boolean', default: false },
    profile: { type: 'string' },
    'gateway-cli': { type: 'string', default: 'dist/cli/index.js' },
    'skip-resumption': { type: 'boolean', default: false },
  },
});

type TargetName = 'freeradius' | 'enrollgate';
type TlsVersion = '1.2' | '1.3';
const list = <T extends string>(text: string, allowed: readonly T[], what: string): T[] => {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`--${what}: ${i} is not one of ${allowed.join(', ')}`);
  return items as T[];
};
const TARGETS = list<TargetName>(values.target, ['freeradius', 'enrollgate'], 'target');
const KEYS = list<ClientKeyType>(values.keys, CLIENT_KEY_TYPES, 'keys');
const VERSIONS = list<TlsVersion>(values.tls, ['1.2', '1.3'], 'tls');
const INFLIGHT = Number(values.inflight);
const DURATION = Number(values.duration);
const WARMUP = Number(values.warmup);
const FIRST_WARMUP = Number(values['first-warmup']);
const RUNS = Math.max(1, Number(values.runs));
const MAX = Number(values.max);
const SECRET = randomBytes(18).toString('base64url');
/** The longest a conversation may take (the peer's own bound): how long a phase waits for those in flight at its end. */
const CONVERSATION_TIMEOUT_MS = 20_000;
const KEY_LABEL: Record<ClientKeyType, string> = { p256: 'ECDSA P-256', rsa2048: 'RSA-2048' };

/** A server under test, as the phases need it. */
interface Target {
  name: TargetName;
  port: number;
  serverName: string;
  ca: Buffer;
  clients: Record<ClientKeyType, { cert: Buffer; key: Buffer }>;
  /** Its processes, by role, for the CPU figures. */
  processes: () => Record<string, number>;
  macs: string[];
  stop: () => Promise<void>;
}

/** What one phase measured. */
interface PhaseResult {
  /** Successful conversations of the kind measured (full handshakes, or resumed ones) a second. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  failures: number;
  keyMismatches: number;
  /** Resumption phase: attempts the server answered with a full handshake (and those a second). */
  fellBack: number;
  fellBackPerSecond: number;
  retransmissions: number;
  reasons: Map<string, number>;
  roundTrips: number;
  cores: string;
  /** CPU of the target's processes in the measured window, per conversation that ended in it (ms). */
  serverCpuMs: number;
}

async function readClients(clients: Record<ClientKeyType, CertFiles>): Promise<Target['clients']> {
  const out = {} as Target['clients'];
  for (const k of CLIENT_KEY_TYPES) out[k] = { cert: await readFile(clients[k].cert), key: await readFile(clients[k].key) };
  return out;
}

async function freeRadiusTarget(dir: string): Promise<Target> {
  const pki = await createBenchPki(dir);
  const running = await startFreeRadius({ dir, authPort: await freeUdpPort(), acctPort: await freeUdpPort(), secret: SECRET, server: pki.server, clientCa: pki.ca.cert });
  const port = Number(/port = (\d+)/.exec(await readFile(join(dir, 'raddb', 'sites-available', 'default'), 'utf8'))![1]);
  console.log(`freeradius: pid ${running.pid}, ${execFileSync('freeradius', ['-v'], { encoding: 'utf8' }).split('\n')[0]}, auth port ${port}, log ${running.log}`);
  return {
    name: 'freeradius',
    port,
    serverName: pki.serverName,
    ca: await readFile(pki.ca.cert),
    clients: await readClients(pki.clients),
    processes: () => ({ freeradius: running.pid }),
    macs: [],
    stop: running.stop,
  };
}

async function enrollgateTarget(dir: string): Promise<Target> {
  const g = await startGatewayForEap({ dir, secret: SECRET, workers: Number(values.workers), logLevel: values['log-level'], mabDevices: values.mab ? 10_000 : 0,
    cli: values['gateway-cli'],
    nodeArgs: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [],
  });
  console.log(`enrollgate: pid ${g.pid}, ${values['gateway-cli']}, auth port ${g.authPort}, RADIUS workers ${values.workers}, EAP server name ${g.serverName}${values.profile ? `, CPU profiles into ${values.profile}` : ''}`);
  return {
    name: 'enrollgate',
    port: g.authPort,
    serverName: g.serverName,
    ca: await readFile(g.ca),
    clients: await readClients(g.clients),
    processes: () => gatewayProcesses(g.pid),
    macs: g.macs,
    stop: g.stop,
  };
}

function peerFor(target: Target, key: ClientKeyType, tlsVersion: TlsVersion, bounds: Partial<EapTlsPeerOptions> = {}): EapTlsPeer {
  return new EapTlsPeer({
    host: '127.0.0.1',
    port: target.port,
    secret: SECRET,
    serverName: target.serverName,
    ca: target.ca,
    cert: target.clients[key].cert,
    key: target.clients[key].key,
    tlsVersion,
    conversationTimeoutMs: CONVERSATION_TIMEOUT_MS,
    ...bounds,
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

/**
 * Keeps INFLIGHT conversations going (each slot starts the next when one ends) for the
 * warm-up and the measured window. `sessions` holds each slot's TLS session: resumption
 * phases resume with it; every phase leaves the newest one there.
 */
async function phase(target: Target, peer: EapTlsPeer, sessions: Array<Buffer | undefined>, resume: boolean): Promise<PhaseResult> {
  const latencies: number[] = [];
  const reasons = new Map<string, number>();
  const r = { ok: 0, failures: 0, keyMismatches: 0, fellBack: 0, retransmissions: 0, roundTrips: 0 };
  let measuring = false;
  let stopping = false;
  let started = 0;
  const record = (h: HandshakeResult) => {
    if (!measuring) return;
    r.retransmissions += h.retransmissions;
    if (!h.ok) {
      r.failures++;
      if (h.keyMismatch) r.keyMismatches++;
      const why = h.failure ?? 'unknown';
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
      return;
    }
    if (resume && !h.resumed) {
      r.fellBack++;
      return;
    }
    r.ok++;
    r.roundTrips += h.roundTrips;
    latencies.push(h.ms);
  };
  const slot = async (i: number) => {
    while (!stopping && started < MAX) {
      started++;
      const h = await peer.handshake(resume ? sessions[i] : undefined);
      // A TLS 1.2 resumption brings no new session: the device keeps the one it has.
      if (h.ok && h.session) sessions[i] = h.session;
      record(h);
    }
  };
  const slots = Array.from({ length: INFLIGHT }, (_, i) => slot(i));
  await new Promise((resolve) => setTimeout(resolve, WARMUP * 1000));
  const meter = cpuMeter(target.processes());
  const cpuBefore = serverCpuSeconds(target);
  measuring = true;
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, DURATION * 1000));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cores = meter();
  const serverCpuMs = ((serverCpuSeconds(target) - cpuBefore) * 1000) / Math.max(1, r.ok + r.fellBack);
  stopping = true;
  const drained = await Promise.race([Promise.all(slots).then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), CONVERSATION_TIMEOUT_MS + 1000))]);
  if (!drained) console.log('  (conversations still in flight after the timeout: the peer is stuck)');
  latencies.sort((a, b) => a - b);
  return {
    perSecond: Math.round(r.ok / seconds),
    fellBackPerSecond: Math.round(r.fellBack / seconds),
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    ...r,
    reasons,
    cores,
    serverCpuMs,
  };
}

/** CPU seconds used so far by all of the target's processes (for its CPU per conversation: less disturbed by a busy machine than the rate). */
function serverCpuSeconds(target: Target): number {
  return Object.values(target.processes()).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

function describe(label: string, p: PhaseResult, resume: boolean): string {
  const reasons = [...p.reasons].map(([why, n]) => `${n}× ${why}`).join('; ');
  return (
    `${label.padEnd(44)} ${String(p.perSecond).padStart(6)}/s  p50 ${p.p50Ms.toFixed(1).padStart(6)} ms  p99 ${p.p99Ms.toFixed(1).padStart(6)} ms  ` +
    `ok ${p.ok}  failures ${p.failures}  key mismatches ${p.keyMismatches}` +
    `${resume ? `  fell back to full ${p.fellBack}` : ''}  retransmissions ${p.retransmissions}  round trips ${(p.roundTrips / Math.max(1, p.ok)).toFixed(1)}` +
    `${reasons ? `\n      failures: ${reasons}` : ''}\n      ${p.cores}; server CPU ${p.serverCpuMs.toFixed(2)} ms per conversation`
  );
}

/** Full handshakes at INFLIGHT for FIRST_WARMUP seconds, over every TLS version and key type asked for, counted nowhere. */
async function warmUp(target: Target): Promise<void> {
  if (FIRST_WARMUP <= 0) return;
  const combinations = VERSIONS.flatMap((version) => KEYS.map((key) => ({ version, key })));
  for (const { version, key } of combinations) {
    const peer = peerFor(target, key, version);
    const until = performance.now() + (FIRST_WARMUP * 1000) / combinations.length;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (performance.now() < until) await peer.handshake();
      }),
    );
    await peer.close();
  }
}

/** One handshake, to see whether the target answers EAP-TLS at all before loading it; why not, if it does not. */
async function answersEap(target: Target): Promise<string | undefined> {
  const peer = peerFor(target, KEYS[0]!, VERSIONS[0]!, { conversationTimeoutMs: 5000, retransmitMs: 1000, retries: 2 });
  const h = await peer.handshake();
  await peer.close();
  return h.ok ? undefined : h.failure;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function showMab(label: string, r: LoadResult): void {
  console.log(`${label.padEnd(44)} ${String(r.requestsPerSecond).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  accept ${r.accepts}  reject ${r.rejects}  timeouts ${r.timeouts}  wrong ${r.wrong}`);
}

async function main(): Promise<void> {
  console.log(
    `bench:eap: ${INFLIGHT} conversations in flight, ${FIRST_WARMUP} s warm-up per target, then ${WARMUP} s warm-up + ${DURATION} s measured per phase, ${RUNS} run(s); ` +
      `targets ${TARGETS.join(', ')}; keys ${KEYS.join(', ')}; TLS ${VERSIONS.join(', ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const dirs: string[] = [];
  const targets: Target[] = [];
  try {
    for (const name of TARGETS) {
      const dir = await mkdtemp(join(tmpdir(), `enrollgate-bench-eap-${name}-`));
      dirs.push(dir);
      const target = name === 'freeradius' ? await freeRadiusTarget(dir) : await enrollgateTarget(dir);
      targets.push(target);
      const refused = await answersEap(target);
      if (refused) {
        console.log(`${name} does not answer EAP-TLS (yet): ${refused}. Going on without it.`);
        if (name === 'enrollgate' && values.mab) await mab(target, false);
        await target.stop();
        targets.pop();
      }
    }

    // Each target's first seconds under load, unmeasured: the gateway's first phase came out
    // 10-40 % dearer in CPU per handshake than its later ones while V8 was still compiling
    // the hot path (perf: 6 % of its CPU in the optimising compiler). Both targets get it.
    for (const target of targets) await warmUp(target);

    // Per target, TLS version and key type: the figures of each run, for the medians.
    const all = new Map<string, { full: PhaseResult[]; resumed: PhaseResult[] }>();
    for (let run = 0; run < RUNS; run++) {
      console.log(`\nrun ${run + 1} of ${RUNS} (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
      for (const version of VERSIONS) {
        for (const key of KEYS) {
          for (const target of targets) {
            const label = `${target.name}, TLS ${version}, ${KEY_LABEL[key]}`;
            const peer = peerFor(target, key, version);
            const sessions: Array<Buffer | undefined> = new Array(INFLIGHT).fill(undefined);
            const withMab = values.mab && run === 0 && target.name === 'enrollgate' && version === VERSIONS[0] && key === KEYS[0];
            const full = withMab ? await mabAlongside(target, () => phase(target, peer, sessions, false)) : await phase(target, peer, sessions, false);
            console.log(describe(`${label}, full`, full, false));
            const resumed = values['skip-resumption'] ? undefined : await phase(target, peer, sessions, true);
            if (resumed) console.log(describe(`${label}, resumed`, resumed, true));
            const discarded = Object.entries(peer.stats.discarded);
            if (discarded.length) console.log(`      answers discarded: ${discarded.map(([why, n]) => `${n}× ${why}`).join('; ')}`);
            await peer.close();
            const entry = all.get(label) ?? { full: [], resumed: [] };
            entry.full.push(full);
            if (resumed) entry.resumed.push(resumed);
            all.set(label, entry);
          }
        }
      }
    }

    console.log(`\nmedians of ${RUNS} run(s), ${INFLIGHT} in flight:`);
    console.log(`| target, TLS, client key | full handshakes/s | server CPU per full | p50 | p99 | failures (key mismatches) | resumptions/s | p50 | p99 | fell back to full/s | failures (key mismatches) |`);
    console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
    for (const [label, { full, resumed }] of all) {
      const m = (xs: PhaseResult[], f: (p: PhaseResult) => number) => median(xs.map(f));
      const sum = (xs: PhaseResult[], f: (p: PhaseResult) => number) => xs.reduce((a, p) => a + f(p), 0);
      console.log(
        `| ${label} | ${Math.round(m(full, (p) => p.perSecond))} | ${m(full, (p) => p.serverCpuMs).toFixed(2)} ms | ${m(full, (p) => p.p50Ms).toFixed(1)} ms | ${m(full, (p) => p.p99Ms).toFixed(1)} ms | ` +
          `${sum(full, (p) => p.failures)} (${sum(full, (p) => p.keyMismatches)}) | ${Math.round(m(resumed, (p) => p.perSecond))} | ${m(resumed, (p) => p.p50Ms).toFixed(1)} ms | ` +
          `${m(resumed, (p) => p.p99Ms).toFixed(1)} ms | ${Math.round(m(resumed, (p) => p.fellBackPerSecond))} | ${sum(resumed, (p) => p.failures)} (${sum(resumed, (p) => p.keyMismatches)}) |`,
      );
    }
  } finally {
    for (const t of targets) await t.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

const mabLoad = (target: Target) => ({ port: target.port, secret: SECRET, known: target.macs, durationS: DURATION, warmupS: WARMUP, inflight: 64, unknownPct: 10, timeoutMs: 1000 });

/** MAC authentication alone against the target (bench:radius's load, in this process). */
async function mab(target: Target, eapAnswered: boolean): Promise<void> {
  if (target.macs.length === 0) return;
  const meter = cpuMeter(target.processes());
  showMab(`${target.name}, MAB alone${eapAnswered ? '' : ' (EAP not answered)'}`, await runLoad(mabLoad(target)));
  console.log(`      ${meter()}`);
}

/** Runs `eap` (a full-handshake phase) with the MAB load alongside, after MAB alone: what EAP costs MAC authentication. */
async function mabAlongside(target: Target, eap: () => Promise<PhaseResult>): Promise<PhaseResult> {
  await mab(target, true);
  const [mabResult, eapResult] = await Promise.all([runLoad(mabLoad(target)), eap()]);
  showMab(`${target.name}, MAB with EAP-TLS alongside`, mabResult);
  return eapResult;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
