import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/**
 * A closed-loop RADIUS load generator: keeps `inflight` MAC-authentication
 * Access-Requests outstanding for `durationS` seconds and checks every answer
 * (Response Authenticator, Message-Authenticator first, decision, Session-Timeout).
 * Written independently of src/ so it can catch the server's mistakes.
 */
export interface LoadOptions {
  port: number;
  secret: string;
  /** MACs with a live session (aa-bb-cc-dd-ee-ff). */
  known: readonly string[];
  durationS: number;
  warmupS: number;
  inflight: number;
  unknownPct: number;
  timeoutMs: number;
}

export interface LoadResult {
  sent: number;
  accepts: number;
  rejects: number;
  timeouts: number;
  wrong: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const ACCESS_REQUEST = 1;
const ACCEPT = 2;
const REJECT = 3;

function attr(type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

/**
 * The request for a device without its identifier, authenticator and Message-Authenticator
 * (filled per request): built once per MAC, so the generator spends its CPU on what
 * changes (bench:radius runs it on the same two cores as the gateway).
 */
function template(mac: string): Buffer {
  const attrs = Buffer.concat([
    attr(80, Buffer.alloc(16)),
    attr(1, Buffer.from(mac)),
    attr(31, Buffer.from(mac.toUpperCase())),
    attr(4, Buffer.from([127, 0, 0, 1])),
    attr(6, Buffer.from([0, 0, 0, 10])), // Service-Type = Call-Check
  ]);
  const bytes = Buffer.concat([Buffer.from([ACCESS_REQUEST, 0, 0, 0]), Buffer.alloc(16), attrs]);
  bytes.writeUInt16BE(bytes.length, 2);
  return bytes;
}

/**
 * Request Authenticators: random at start, then counted, so that no two requests in a
 * run share one (the server would take a repeat for a retransmission, RFC 5080). A
 * generator need not make them unpredictable; the server must not care.
 */
const nextAuthenticator = (() => {
  const state = randomBytes(16);
  return (into: Buffer): void => {
    for (let i = 15; i >= 0 && ++state[i]! === 256; i--) state[i] = 0;
    state.copy(into, 4);
  };
})();

function request(id: number, shape: Buffer, secret: string): { bytes: Buffer; auth: Buffer } {
  const bytes = Buffer.allocUnsafe(shape.length);
  shape.copy(bytes);
  bytes[1] = id;
  nextAuthenticator(bytes);
  createHmac('md5', secret).update(bytes).digest().copy(bytes, 22);
  return { bytes, auth: bytes.subarray(4, 20) };
}

const scratch = Buffer.alloc(32);

/** Checks a reply on its bytes (and overwrites them doing so); returns the code and Session-Timeout, or a reason it is wrong. */
function check(reply: Buffer, requestAuth: Buffer, secret: string): { code: number; sessionTimeout?: number } | string {
  if (reply.length < 38 || reply.readUInt16BE(2) !== reply.length) return 'bad length';
  if (reply[20] !== 80 || reply[21] !== 18) return 'Message-Authenticator not first';
  // Both authenticators are computed over the reply with the request's authenticator in its place.
  reply.copy(scratch, 0, 4, 20);
  reply.copy(scratch, 16, 22, 38);
  requestAuth.copy(reply, 4);
  if (!createHash('md5').update(reply).update(secret).digest().equals(scratch.subarray(0, 16))) return 'bad response authenticator';
  reply.fill(0, 22, 38);
  if (!createHmac('md5', secret).update(reply).digest().equals(scratch.subarray(16, 32))) return 'bad Message-Authenticator';
  let sessionTimeout: number | undefined;
  for (let at = 20; at < reply.length; at += reply[at + 1]!) {
    if (reply[at + 1]! < 2) return 'bad attribute length';
    if (reply[at] === 27) sessionTimeout = reply.readUInt32BE(at + 2);
  }
  return { code: reply[0]!, ...(sessionTimeout !== undefined ? { sessionTimeout } : {}) };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const sockets: Socket[] = [];
  const perSocket = 256;
  const socketCount = Math.ceil(o.inflight / perSocket);
  const pending: Array<Map<number, { auth: Buffer; known: boolean; at: number }>> = [];
  const shapes = new Map(o.known.map((mac) => [mac, template(mac)]));
  const latencies: number[] = [];
  let measuring = false;
  let stopping = false;
  const r = { sent: 0, accepts: 0, rejects: 0, timeouts: 0, wrong: 0 };
  const wrongReasons = new Map<string, number>();
  const freeIds: number[][] = [];

  const fail = (why: string) => {
    if (!measuring) return;
    r.wrong++;
    wrongReasons.set(why, (wrongReasons.get(why) ?? 0) + 1);
  };

  const send = (s: number) => {
    if (stopping) return;
    const id = freeIds[s]!.pop();
    if (id === undefined) return;
    const known = Math.random() * 100 >= o.unknownPct;
    const shape = known
      ? shapes.get(o.known[Math.floor(Math.random() * o.known.length)]!)!
      : template(`02-ee-${randomBytes(4).toString('hex').match(/../g)!.join('-')}`);
    const { bytes, auth } = request(id, shape, o.secret);
    pending[s]!.set(id, { auth, known, at: performance.now() });
    if (measuring) r.sent++;
    sockets[s]!.send(bytes, o.port, '127.0.0.1');
  };

  for (let s = 0; s < socketCount; s++) {
    const socket = createSocket('udp4');
    sockets.push(socket);
    pending.push(new Map());
    freeIds.push(Array.from({ length: Math.min(perSocket, o.inflight - s * perSocket) }, (_, i) => i));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    socket.on('message', (reply) => {
      const entry = pending[s]!.get(reply[1]!);
      if (!entry) return;
      pending[s]!.delete(reply[1]!);
      freeIds[s]!.push(reply[1]!);
      const result = check(reply, entry.auth, o.secret);
      if (typeof result === 'string') fail(result);
      else if (entry.known && (result.code !== ACCEPT || !result.sessionTimeout)) fail('known device not accepted with Session-Timeout');
      else if (!entry.known && result.code !== REJECT) fail('unknown device not rejected');
      else if (measuring) {
        if (result.code === ACCEPT) r.accepts++;
        else r.rejects++;
        latencies.push(performance.now() - entry.at);
      }
      send(s);
    });
  }
  // Time out lost requests (no retransmission: a lost one counts and is replaced).
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (let s = 0; s < socketCount; s++) {
      for (const [id, entry] of pending[s]!) {
        if (now - entry.at > o.timeoutMs) {
          pending[s]!.delete(id);
          freeIds[s]!.push(id);
          if (measuring) r.timeouts++;
          send(s);
        }
      }
    }
  }, 50);
  for (let s = 0; s < socketCount; s++) for (let i = 0; i < Math.min(perSocket, o.inflight - s * perSocket); i++) send(s);
  await new Promise((resolve) => setTimeout(resolve, o.warmupS * 1000));
  measuring = true;
  const started = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, o.durationS * 1000));
  measuring = false;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  stopping = true;
  clearInterval(sweeper);
  for (const s of sockets) s.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? NaN;
  if (wrongReasons.size > 0) console.error('wrong answers:', Object.fromEntries(wrongReasons));
  return {
    ...r,
    requestsPerSecond: Math.round((r.accepts + r.rejects) / elapsed),
    p50Ms: +pct(50).toFixed(3),
    p99Ms: +pct(99).toFixed(3),
    maxMs: +(latencies.at(-1) ?? NaN).toFixed(3),
  };
}
