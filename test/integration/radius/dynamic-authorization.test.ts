import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { queryAudit } from '../../../src/audit/query.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import { DynamicAuthorizationClient } from '../../../src/radius/dynamic-authorization.js';
import { selectorAttributes } from '../../../src/radius/dynamic-authorization-packet.js';
import { call as httpCall, type CallOptions, type Reply } from '../../helpers/http.js';
import { LogSink, startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient } from '../../helpers/radclient.js';
import { Backdoor } from '../../helpers/raw-nas.js';
import { A, assemble, attr, expectedResponseAuthenticator, walk } from '../../unit/radius/radius-bytes.js';

/**
 * RFC 5176 from the gateway to a router, end to end: a real gateway issues a session
 * through the portal form, and a UDP listener in this test plays the router's
 * Dynamic Authorization Server. The listener checks every request with its own code
 * (node:crypto, straight from RFC 5176 §3.5), and FreeRADIUS's radclient sending the
 * same request to it shows that code agrees with FreeRADIUS.
 */

const ERROR_CAUSE = 101;
const VENDOR_SPECIFIC = 26;

/** forged: an ACK signed with another secret (the client must ignore it). */
type Behaviour = 'ack' | 'nak' | 'silent' | 'forged';

interface Received {
  readonly raw: Buffer;
  readonly at: number;
  readonly requestAuthenticatorOk: boolean;
  /** undefined when the request has no Message-Authenticator. */
  readonly messageAuthenticatorOk?: boolean;
  readonly attributes: ReturnType<typeof walk>;
}

/** The router's DAS: verifies each request itself, then answers ACK, NAK (Error-Cause 503) or nothing, per Calling-Station-Id. */
class DasListener {
  readonly received: Received[] = [];
  readonly behaviour = new Map<string, Behaviour>();
  /** Answer this long after the request arrives. */
  delayMs = 0;
  /** Identifiers received and not yet answered, and whether two ever overlapped. */
  readonly unanswered = new Set<number>();
  identifierClash = false;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    private readonly secret: string,
  ) {
    socket.on('message', (raw, peer) => this.onRequest(raw, peer));
  }

  static open(secret: string): Promise<DasListener> {
    const socket = createSocket('udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve(new DasListener(socket, secret)));
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Requests whose Calling-Station-Id is `station`. */
  for(station: string): Received[] {
    return this.received.filter((r) => text(r, A.CallingStationId) === station);
  }

  async waitFor(station: string, count: number, timeoutMs = 5000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.for(station).length < count) {
      if (Date.now() > deadline) throw new Error(`DAS got ${this.for(station).length} of ${count} requests for ${station}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.for(station);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private onRequest(raw: Buffer, peer: RemoteInfo): void {
    const length = raw.readUInt16BE(2);
    const packet = Buffer.from(raw.subarray(0, length));
    const attributes = walk(packet);
    // RFC 5176 §3.5: Request Authenticator = MD5(Code+ID+Length+16 zero octets+Attributes+Secret).
    const zeroed = Buffer.from(packet);
    zeroed.fill(0, 4, 20);
    const requestAuthenticatorOk = timingSafeEqual(createHash('md5').update(zeroed).update(this.secret).digest(), packet.subarray(4, 20));
    // Message-Authenticator: HMAC-MD5 over the packet with the authenticator zeroed first, then its own value zeroed.
    const ma = attributes.find((a) => a.type === A.MessageAuthenticator);
    let messageAuthenticatorOk: boolean | undefined;
    if (ma) {
      const forHmac = Buffer.from(zeroed);
      forHmac.fill(0, ma.at + 2, ma.at + 18);
      messageAuthenticatorOk = timingSafeEqual(createHmac('md5', this.secret).update(forHmac).digest(), ma.value);
    }
    const r: Received = { raw: packet, at: Date.now(), requestAuthenticatorOk, ...(ma ? { messageAuthenticatorOk } : {}), attributes };
    this.received.push(r);
    for (const w of this.waiters.splice(0)) w();

    const behaviour = this.behaviour.get(text(r, A.CallingStationId) ?? '') ?? 'ack';
    if (behaviour === 'silent' || !requestAuthenticatorOk || messageAuthenticatorOk === false) return;
    if (this.unanswered.has(packet[1]!)) this.identifierClash = true;
    this.unanswered.add(packet[1]!);
    // ACK = request code + 1, NAK = + 2 (RFC 5176 §3: 40/41/42, 43/44/45); the ACK carries a Message-Authenticator too.
    const requestAuth = packet.subarray(4, 20);
    const reply =
      behaviour === 'ack'
        ? assemble(packet[0]! + 1, packet[1]!, requestAuth, [attr(A.MessageAuthenticator, Buffer.alloc(16))])
        : assemble(packet[0]! + 2, packet[1]!, requestAuth, [attr(ERROR_CAUSE, 503)]);
    if (behaviour === 'ack') createHmac('md5', this.secret).update(reply).digest().copy(reply, 22);
    expectedResponseAuthenticator(reply, requestAuth, behaviour === 'forged' ? `${this.secret}-not` : this.secret).copy(reply, 4);
    setTimeout(() => {
      this.unanswered.delete(packet[1]!);
      this.socket.send(reply, peer.port, peer.address);
    }, this.delayMs);
  }
}

function text(r: Received, type: number): string | undefined {
  return r.attributes.find((a) => a.type === type)?.value.toString('utf8');
}

/** Cisco-AVPair values of a request (Vendor-Specific, vendor 9, type 1). */
function ciscoAvPairs(r: Received): string[] {
  return r.attributes
    .filter((a) => a.type === VENDOR_SPECIFIC && a.value.readUInt32BE(0) === 9 && a.value[4] === 1)
    .map((a) => a.value.subarray(6).toString('utf8'));
}

let t: TestGateway;
let das: DasListener;
/** The router's timeout_ms: the first wait of the retry schedule. */
const COA_TIMEOUT_MS = 200;

function call(method: string, path: string, o: CallOptions): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, o);
}

/** Accounting Start from the router, so the portal knows which device holds `ip` and where it is. */
async function accountingStart(station: string, ip: string, sessionId: string): Promise<void> {
  const r = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, [
    'Acct-Status-Type = Start',
    `Acct-Session-Id = "${sessionId}"`,
    `Calling-Station-Id = "${station}"`,
    `Framed-IP-Address = ${ip}`,
    'NAS-IP-Address = 127.0.0.1',
  ]);
  expect(r.reply).toBe('Accounting-Response');
}

/**
 * Enrolls the device at `ip` through the portal form (or, for a device already enrolled,
 * logs in for the day with the form the start page shows); resolves when the portal has answered.
 */
async function enroll(ip: string, startPath = '/portal'): Promise<Reply> {
  const page = await call('GET', startPath, { ip });
  const action = /<form method="post" action="[^"]*(\/portal\/[a-z]+)"/.exec(page.body)?.[1] ?? '/portal/enroll';
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  const cookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((c) => c.startsWith('eg_flow='))?.split(';')[0];
  expect(csrf, 'enrollment form').toBeDefined();
  expect(cookie, 'flow cookie').toBeDefined();
  return call('POST', action, { ip, cookie: cookie!, form: { _csrf: csrf!, username: 'employee', password: t.employeePassword } });
}

async function counted(kind: string, result: string): Promise<number> {
  const metric = await t.gateway.metrics.dynamicAuthorization.get();
  return metric.values.find((v) => v.labels.nas === 'test-nas' && v.labels.kind === kind && v.labels.result === result)?.value ?? 0;
}

function events(name: string, station: string): Array<Record<string, unknown>> {
  const mac = station.toLowerCase().replace(/-/g, ':');
  return t.logs.events().filter((e) => e.event === name && e.mac === mac);
}

beforeAll(async () => {
  das = await DasListener.open(TEST_NAS_SECRET);
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.radius.clients = [
        {
          name: 'test-nas',
          address: '127.0.0.1',
          secret: TEST_NAS_SECRET,
          profile: 'cisco-wlc',
          dynamic_authorization: { enabled: true, address: '127.0.0.1', port: das.port, timeout_ms: COA_TIMEOUT_MS, retries: 2 },
        },
      ];
    },
  });
});
afterAll(async () => {
  await t?.close();
  await das?.close();
});

describe('telling the router when a session is issued (RFC 5176)', () => {
  it('sends the Cisco WLC a reauthenticate CoA-Request naming the accounting session, and counts the ACK', async () => {
    const station = 'AA-BB-CC-00-00-30';
    await accountingStart(station, '10.2.0.30', 'acct-coa-30');
    const r = await enroll('10.2.0.30');
    expect(r.status).toBe(303);
    await t.gateway.notifier.idle();

    const [request, ...more] = das.for(station);
    expect(more).toEqual([]);
    expect(request!.raw[0]).toBe(43);
    expect(request!.requestAuthenticatorOk).toBe(true);
    expect(request!.messageAuthenticatorOk).toBe(true);
    expect(text(request!, A.AcctSessionId)).toBe('acct-coa-30');
    expect([...request!.attributes.find((a) => a.type === A.NasIpAddress)!.value]).toEqual([127, 0, 0, 1]);
    expect(ciscoAvPairs(request!)).toEqual(['subscriber:command=reauthenticate', 'subscriber:reauthenticate-type=last']);

    expect(events('coa.sent', station)).toHaveLength(1);
    expect(events('coa.ack', station)).toEqual([expect.objectContaining({ nas: 'test-nas', tries: 1, acctSessionId: 'acct-coa-30', found: 'accounting' })]);
    expect(await counted('coa', 'ack')).toBe(1);
    expect(t.logs.text()).not.toContain(TEST_NAS_SECRET);
  });

  it('logs and counts a NAK with its Error-Cause, without retrying', async () => {
    const station = 'AA-BB-CC-00-00-31';
    das.behaviour.set(station, 'nak');
    await accountingStart(station, '10.2.0.31', 'acct-coa-31');
    expect((await enroll('10.2.0.31')).status).toBe(303);
    await t.gateway.notifier.idle();

    expect(das.for(station)).toHaveLength(1);
    expect(events('coa.nak', station)).toEqual([expect.objectContaining({ errorCause: 503, errorCauseName: 'Session-Context-Not-Found', tries: 1 })]);
    expect(await counted('coa', 'nak')).toBe(1);
  });

  it('retries an unanswered request with the same bytes and doubling waits, within a bounded time, after the portal has answered', async () => {
    const station = 'AA-BB-CC-00-00-32';
    das.behaviour.set(station, 'silent');
    await accountingStart(station, '10.2.0.32', 'acct-coa-32');
    const r = await enroll('10.2.0.32');
    expect(r.status).toBe(303);
    // The portal answered without waiting for the exchange: it had not given up yet, and the
    // router had not seen every try. (Not "at most the first try": the second goes 200 ms after
    // the first, which a slower machine may take to bring the answer to this test.)
    const seenWhenPortalAnswered = das.for(station).length;
    expect(seenWhenPortalAnswered).toBeLessThan(3);
    expect(events('coa.timeout', station)).toEqual([]);

    await t.gateway.notifier.idle();
    const idleAt = Date.now();
    const tries = das.for(station);
    // timeout_ms 200, retries 2: tries at 0, 200 and 600 ms; gives up at 1400 ms.
    // The upper bounds below are measured on this run's own waits, not on the wall clock:
    // a loaded machine fires timers late (never early), and all of them alike.
    expect(tries).toHaveLength(3);
    expect(tries.every((x) => x.raw.equals(tries[0]!.raw))).toBe(true);
    // The waits are measured where the tries leave (the gateway's log lines, written as each is
    // sent), not where they arrive: this test's socket may take the first datagram late, while
    // the process is busy with the portal's answer, and the next on time, which shortens a gap.
    const sends = [...events('coa.sent', station), ...events('coa.retried', station)];
    expect(sends.map((e) => e.waitMs)).toEqual([200, 400, 800]);
    const sentAt = sends.map((e) => Date.parse(e.time as string));
    const [gap1, gap2] = [sentAt[1]! - sentAt[0]!, sentAt[2]! - sentAt[1]!];
    expect(gap1).toBeGreaterThanOrEqual(199);
    expect(gap2).toBeGreaterThanOrEqual(399);
    const [timeout] = events('coa.timeout', station);
    expect(timeout).toMatchObject({ tries: 3 });
    expect(timeout!.ms as number).toBeGreaterThanOrEqual(1390);
    // The last wait doubles the second once (800 ms), not twice (1,600 ms): under three times the second.
    const lastWait = (timeout!.ms as number) - (sentAt[2]! - sentAt[0]!);
    expect(lastWait).toBeLessThan(3 * gap2);
    // idle() resolves as the exchange gives up, not later: within the schedule's shortest wait.
    expect(idleAt - Date.parse(timeout!.time as string)).toBeLessThan(COA_TIMEOUT_MS);
    expect(events('coa.retried', station)).toHaveLength(2);
    expect(await counted('coa', 'timeout')).toBe(1);
    // The audit trail records the failure; the session itself was issued regardless.
    t.gateway.audit.flush();
    const notified: Array<Record<string, unknown>> = [];
    queryAudit(t.config.audit.dir, { type: 'router.notified', mac: station.toLowerCase().replace(/-/g, ':') }, (m) => notified.push(m.record));
    expect(notified).toEqual([expect.objectContaining({ kind: 'coa', result: 'timeout', outcome: 'failure' })]);
  });

  it('finds the router from its Access-Request when there is no accounting, and omits Acct-Session-Id', async () => {
    const station = 'AA-BB-CC-00-00-33';
    const auth = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(station));
    expect(auth.reply).toBe('Access-Reject');
    // Without accounting the portal knows the device only by the router's unsigned redirect:
    // it enrolls nothing on that claim, but its owner may log in for the day (the agent enrolled it).
    await Backdoor.with(t, (b) => b.enrollByAgent(station));
    expect((await enroll('10.2.0.33', `/portal?mac=${station}&ip=10.2.0.33`)).status).toBe(303);
    await t.gateway.notifier.idle();

    const [request] = das.for(station);
    expect(request!.requestAuthenticatorOk).toBe(true);
    expect(text(request!, A.AcctSessionId)).toBeUndefined();
    expect(request!.attributes.find((a) => a.type === A.NasIpAddress)).toBeUndefined();
    expect(events('coa.ack', station)).toEqual([expect.objectContaining({ found: 'access_request' })]);
  });

  it('sends requests FreeRADIUS would: radclient\'s CoA-Request with the same attributes passes the same checks and carries the same attributes', async () => {
    const station = 'AA-BB-CC-00-00-30';
    const ours = das.for(station)[0]!;
    const r = await radclient(das.port, 'coa', TEST_NAS_SECRET, [
      'NAS-IP-Address = 127.0.0.1',
      `Calling-Station-Id = "${station}"`,
      'Acct-Session-Id = "acct-coa-30"',
      'Cisco-AVPair = "subscriber:command=reauthenticate"',
      'Cisco-AVPair = "subscriber:reauthenticate-type=last"',
      'Message-Authenticator = 0x00',
    ]);
    // radclient accepted our listener's CoA-ACK (it checks the Response Authenticator and Message-Authenticator).
    expect(r.reply).toBe('CoA-ACK');
    expect(r.code).toBe(0);
    const theirs = das.for(station).at(-1)!;
    expect(theirs).not.toBe(ours);
    expect(theirs.raw[0]).toBe(43);
    expect(theirs.requestAuthenticatorOk).toBe(true);
    expect(theirs.messageAuthenticatorOk).toBe(true);
    const withoutMa = (x: Received) => x.attributes.filter((a) => a.type !== A.MessageAuthenticator).map((a) => `${a.type}/${a.value.toString('hex')}`);
    expect(withoutMa(ours)).toHaveLength(5);
    expect(withoutMa(ours)).toEqual(withoutMa(theirs));
  });
});

describe('the RFC 5176 client on its own', () => {
  let logs: LogSink;
  let client: DynamicAuthorizationClient;
  beforeAll(() => {
    logs = new LogSink();
    client = new DynamicAuthorizationClient({ bindAddress: '127.0.0.1', metrics: new Metrics({ parts: ['portal'] }), log: createLogger('debug', logs) });
  });
  afterAll(async () => client?.close());

  const request = (station: string, retries = 0) => ({
    nas: 'direct',
    kind: 'disconnect' as const,
    address: '127.0.0.1',
    port: das.port,
    secret: TEST_NAS_SECRET,
    attributes: selectorAttributes({ callingStationId: station }),
    timeoutMs: 2000,
    retries,
  });

  it('keeps 300 concurrent requests to one router on distinct identifiers (waiting when all 256 are in flight)', async () => {
    das.delayMs = 100;
    try {
      const stations = Array.from({ length: 300 }, (_, i) => `02-00-00-00-${(i >> 8).toString(16).padStart(2, '0')}-${(i & 0xff).toString(16).padStart(2, '0')}`.toUpperCase());
      const outcomes = await Promise.all(stations.map((st) => client.send(request(st))));
      expect(outcomes.every((o) => o.result === 'ack')).toBe(true);
      expect(das.identifierClash).toBe(false);
      expect(new Set(stations.map((st) => das.for(st)[0]!.raw[0]))).toEqual(new Set([40]));
    } finally {
      das.delayMs = 0;
    }
  });

  it('ignores an answer with a wrong Response Authenticator, logs it, and times out', async () => {
    const station = 'AA-BB-CC-00-00-3F';
    das.behaviour.set(station, 'forged');
    const outcome = await client.send({ ...request(station), timeoutMs: 300 });
    expect(outcome).toEqual({ result: 'timeout' });
    expect(logs.events().filter((e) => e.event === 'disconnect.reply_dropped')).toEqual([expect.objectContaining({ problem: 'bad_authenticator' })]);
  });

  it('ends exchanges under way at close, and sends nothing after', async () => {
    const station = 'AA-BB-CC-00-00-3E';
    das.behaviour.set(station, 'silent');
    const pending = client.send(request(station, 5));
    await das.waitFor(station, 1);
    await client.close();
    expect(await pending).toEqual({ result: 'error', reason: 'shutting down' });
    expect(await client.send(request(station))).toEqual({ result: 'error', reason: 'shutting down' });
    expect(das.for(station)).toHaveLength(1);
  });
});
