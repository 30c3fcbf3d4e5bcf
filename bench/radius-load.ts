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

function request(id: number, mac: string, secret: string): { bytes: Buffer; auth: Buffer } {
  const auth = randomBytes(16);
  const attrs = Buffer.concat([
    attr(80, Buffer.alloc(16)),
    attr(1, Buffer.from(mac)),
    attr(31, Buffer.from(mac.toUpperCase())),
    attr(4, Buffer.from([127, 0, 0, 1])),
    attr(6, Buffer.from([0, 0, 0, 10])), // Service-Type = Call-Check
  ]);
  const bytes = Buffer.concat([Buffer.from([ACCESS_REQUEST, id, 0, 0]), auth, attrs]);
  bytes.writeUInt16BE(bytes.length, 2);
  createHmac('md5', secret).update(bytes).digest().copy(bytes, 22);
  return { bytes, auth };
}

/** Checks a reply on its bytes; returns the code and Session-Timeout, or a reason it is wrong. */
function check(reply: Buffer, requestAuth: Buffer, secret: string): { code: number; sessionTimeout?: number } | string {
  if (reply.length < 20 || reply.readUInt16BE(2) !== reply.length) return 'bad length';
  const copy = Buffer.from(reply);
  requestAuth.copy(copy, 4);
  const expected = createHash('md5').update(copy).update(secret).digest();
  if (!expected.equals(reply.subarray(4, 20))) return 'bad response authenticator';
  if (reply[20] !== 80 || reply[21] !== 18) return 'Message-Authenticator not first';
  copy.fill(0, 22, 38);
  if (!createHmac('md5', secret).update(copy).digest().equals(reply.subarray(22, 38))) return 'bad Message-Authenticator';
  let sessionTimeout: number | undefined;
  for (let at = 20; at < reply.length; at += reply[at + 1]!) {
    if (reply[at] === 27) sessionTimeout = reply.readUInt32BE(at + 2);
  }
  return { code: reply[0]!, ...(sessionTimeout !== undefined ? { sessionTimeout } : {}) };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const sockets: Socket[] = [];
  const perSocket = 256;
  const socketCount = Math.ceil(o.inflight / perSocket);
  const pending: Array<Map<number, { auth: Buffer; known: boolean; at: bigint }>> = [];
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
    const mac = known ? o.known[Math.floor(Math.random() * o.known.length)]! : `02-ee-${randomBytes(4).toString('hex').match(/../g)!.join('-')}`;
    const { bytes, auth } = request(id, mac, o.secret);
    pending[s]!.set(id, { auth, known, at: process.hrtime.bigint() });
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
        latencies.push(Number(process.hrtime.bigint() - entry.at) / 1e6);
      }
      send(s);
    });
  }
  // Time out lost requests (no retransmission: a lost one counts and is replaced).
  const sweeper = setInterval(() => {
    const now = process.hrtime.bigint();
    for (let s = 0; s < socketCount; s++) {
      for (const [id, entry] of pending[s]!) {
        if (Number(now - entry.at) / 1e6 > o.timeoutMs) {
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
