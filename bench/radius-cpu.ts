/**
 * npm run bench:radius-cpu — the gateway's own CPU per MAC-authentication request,
 * without sockets: what bench:radius measures minus the kernel and libuv. Builds the
 * RADIUS server as a worker does (buildRadiusServer, embedded SQLite store with
 * `--devices` live sessions, audit records forwarded as in a worker), feeds it signed
 * Access-Requests (10 % unknown MACs) through the same entry a datagram takes, and
 * prints µs per request over `--count` requests, after a warm-up, a few rounds. Run it
 * with `node --cpu-prof` (through tsx) for a profile of just this path.
 *
 *   npm run bench:radius-cpu -- [--devices 10000] [--count 200000] [--rounds 5] [--per-turn 8]
 *
 * In-process, no network. Prints its figures; asserts nothing.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { initCommand } from '../src/cli/commands/init.js';
import { loadConfig } from '../src/config/load.js';
import { systemClock } from '../src/clock.js';
import { createLogger } from '../src/logger.js';
import { Metrics } from '../src/metrics.js';
import { ForwardingAccessRequests, ForwardingAudit, ForwardingDrops } from '../src/radius/workers.js';
import { openSqliteStore } from '../src/store/sqlite-state-store.js';
import { buildRadiusServer } from '../src/wiring.js';
import { knownMacs, seedSessions } from './seed.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    count: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
    'per-turn': { type: 'string', default: '8' },
  },
});
const DEVICES = Number(values.devices);
const COUNT = Number(values.count);
const SECRET = randomBytes(18).toString('base64url');

/** An Access-Request as the C generator sends it: Message-Authenticator first, PAP User-Password = MAC. */
function accessRequest(mac: string, id: number): Buffer {
  const attr = (type: number, value: Buffer) => Buffer.concat([Buffer.from([type, value.length + 2]), value]);
  const authenticator = randomBytes(16);
  // RFC 2865 §5.2: the password hidden with MD5(secret + authenticator).
  const password = Buffer.alloc(32);
  Buffer.from(mac).copy(password);
  const b1 = createHash('md5').update(SECRET).update(authenticator).digest();
  for (let i = 0; i < 16; i++) password[i]! ^= b1[i]!;
  const b2 = createHash('md5').update(SECRET).update(password.subarray(0, 16)).digest();
  for (let i = 0; i < 16; i++) password[16 + i]! ^= b2[i]!;
  const attributes = Buffer.concat([
    attr(80, Buffer.alloc(16)),
    attr(1, Buffer.from(mac)),
    attr(2, password),
    attr(31, Buffer.from(mac)),
    attr(4, Buffer.from([127, 0, 0, 1])),
    attr(61, Buffer.from([0, 0, 0, 15])),
    attr(6, Buffer.from([0, 0, 0, 10])),
  ]);
  const packet = Buffer.concat([Buffer.from([1, id & 0xff, 0, 0]), authenticator, attributes]);
  packet.writeUInt16BE(packet.length, 2);
  createHmac('md5', SECRET).update(packet).digest().copy(packet, 22);
  return packet;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-bench-cpu-'));
  const configFile = await initCommand({ dir, certsDir: join(dir, 'certs'), print: () => {} });
  const doc = parse(await readFile(configFile, 'utf8')) as Record<string, any>;
  doc.radius.clients = [{ name: 'bench', address: '127.0.0.1', secret: SECRET, with_session: { vlan: '10' } }];
  doc.session = { daily_cutoff: `${String((new Date().getUTCHours() + 23) % 24).padStart(2, '0')}:00`, time_zone: 'UTC' };
  await writeFile(configFile, stringify(doc));
  const config = loadConfig(configFile);

  const macs = knownMacs(DEVICES);
  const store = await openSqliteStore(join(dir, 'state.sqlite'));
  await seedSessions(store.kv, macs);
  const log = createLogger('info');
  const metrics = new Metrics({ parts: ['radius'] });
  const server = buildRadiusServer(config, {
    store,
    metrics,
    clock: systemClock,
    log,
    accessRequests: new ForwardingAccessRequests(),
    audit: new ForwardingAudit(),
    drops: new ForwardingDrops(),
    serve: 'auth',
  });
  // 4,096 distinct requests (10 % unknown), sent round and round with fresh identifiers.
  const requests = Array.from({ length: 4096 }, (_, i) => {
    const known = i % 10 !== 0;
    const mac = known ? macs[(i * 7919) % macs.length]! : `02-00-00-${(i >> 16).toString(16).padStart(2, '0')}-${((i >> 8) & 0xff).toString(16).padStart(2, '0')}-${(i & 0xff).toString(16).padStart(2, '0')}`;
    return accessRequest(mac, i);
  });
  let sent = 0;
  const socket = { send: () => void sent++ } as unknown as Socket;
  const receive = (server as unknown as { receive(port: string, s: Socket, raw: Buffer, peer: RemoteInfo): void }).receive.bind(server);
  let port = 1024;
  const one = (i: number) => {
    const raw = requests[i & 4095]!;
    // A new source port per pass: otherwise the RFC 5080 cache answers from memory.
    receive('auth', socket, raw, { address: '127.0.0.1', port: port + (i >> 12), family: 'IPv4', size: raw.length });
  };
  // Turns as a socket gives them: a few datagrams (--per-turn), then the event loop (immediates, timers).
  const BATCH = Math.max(1, Number(values['per-turn']));
  const run = async (count: number) => {
    for (let i = 0; i < count; i += BATCH) {
      for (let j = 0; j < BATCH; j++) one(i + j);
      if ((i / BATCH) % 1 === 0) await new Promise((r) => setImmediate(r));
    }
    port += (count >> 12) + 1;
  };
  await run(50_000);
  for (let r = 0; r < Number(values.rounds); r++) {
    const before = sent;
    const cpu = process.cpuUsage();
    const t = performance.now();
    await run(COUNT);
    const wall = performance.now() - t;
    const used = process.cpuUsage(cpu);
    console.log(`round ${r + 1}: ${COUNT} requests, ${sent - before} answered; ${(((used.user + used.system) / COUNT)).toFixed(2)} µs CPU per request (${((wall * 1000) / COUNT).toFixed(2)} µs wall)`);
  }
  await server.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
