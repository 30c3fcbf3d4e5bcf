import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { answers, Backdoor, RawNas } from '../../helpers/raw-nas.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway, type TestGatewayOptions } from '../../helpers/gateway.js';
import { macAuth, radclient, type RadclientResult } from '../../helpers/radclient.js';
import {
  A,
  Status,
  assemble,
  attr,
  expectedResponseAuthenticator,
  ipAttr,
  macAuthRequest,
  maPlaceholder,
  signAccessRequest,
  signAccountingRequest,
  walk,
} from '../../unit/radius/radius-bytes.js';

/**
 * The RADIUS server of a real in-process gateway (real SQLite file), with FreeRADIUS's
 * radclient as the router, and raw datagrams from node:dgram where the bytes matter.
 */

const WRONG_SECRET = 'not-the-nas-secret-9876543210';

async function dropCount(t: TestGateway, nas: string, reason: string): Promise<number> {
  const metric = await t.gateway.metrics.registry.getSingleMetric('enrollgate_radius_drops_total')?.get();
  return metric?.values.find((v) => v.labels.nas === nas && v.labels.reason === reason)?.value ?? 0;
}

function logEvents(t: TestGateway, event: string): Array<Record<string, unknown>> {
  return t.logs.events().filter((e) => e.event === event);
}

function expectNoReply(r: RadclientResult): void {
  expect(r.code).toBe(1);
  expect(r.reply).toBeUndefined();
  expect(r.stdout).not.toContain('Received');
}

/**
 * Sends `forged`, then `barrier` (a request the server answers), from one socket: no datagram
 * may have come back for `forged` by the time the barrier is answered. radclient alone cannot
 * show a drop: it discards by itself a reply signed with another secret than its own.
 */
async function expectUnanswered(port: number, forged: Buffer, barrier: Buffer): Promise<void> {
  expect(forged[1]).not.toBe(barrier[1]);
  const nas = await RawNas.open();
  try {
    await nas.send(port, forged);
    await nas.ask(port, barrier, answers(barrier));
    expect(nas.replies.filter((r) => r[1] === forged[1]).length, 'datagrams answering the forged request').toBe(0);
  } finally {
    await nas.close();
  }
}

/** Accounting-On from the test NAS, correctly signed: always answered, records nothing. */
function accountingOn(identifier: number): Buffer {
  return signAccountingRequest(assemble(4, identifier, Buffer.alloc(16), [attr(A.AcctStatusType, Status.AccountingOn), ipAttr(A.NasIpAddress, '127.0.0.1')]), TEST_NAS_SECRET);
}

const auth = (t: TestGateway, lines: readonly string[], secret = TEST_NAS_SECRET) => radclient(t.gateway.ports.auth, 'auth', secret, lines);
const acct = (t: TestGateway, lines: readonly string[], secret = TEST_NAS_SECRET) => radclient(t.gateway.ports.acct, 'acct', secret, lines);

function statusServer(identifier: number): Buffer {
  return signAccessRequest(assemble(12, identifier, randomBytes(16), [maPlaceholder()]), TEST_NAS_SECRET);
}

async function withGateway(options: TestGatewayOptions, body: (t: TestGateway) => Promise<void>): Promise<void> {
  const t = await startTestGateway(options);
  try {
    await body(t);
    expect(t.logs.text()).not.toContain(TEST_NAS_SECRET);
  } finally {
    await t.close();
  }
}

describe('RADIUS server: MAC authentication', () => {
  let t: TestGateway;
  let db: Backdoor;

  beforeAll(async () => {
    t = await startTestGateway();
    db = await Backdoor.open(t);
  });

  afterAll(async () => {
    await db?.close();
    await t?.close();
  });

  afterEach(() => {
    expect(t.logs.text()).not.toContain(TEST_NAS_SECRET);
    expect(t.logs.text()).not.toContain(WRONG_SECRET);
    expect(logEvents(t, 'radius.handler_failed')).toEqual([]);
  });

  it('answers an unknown MAC with Access-Reject, Message-Authenticator first', async () => {
    const r = await auth(t, macAuth('02:00:00:00:00:01'));
    expect(r.code).toBe(1);
    expect(r.reply).toBe('Access-Reject');
    const received = r.stdout.slice(r.stdout.indexOf('Received Access-Reject'));
    expect(received.split('\n')[1]).toMatch(/^\tMessage-Authenticator = 0x[0-9a-f]{32}$/);
    expect(logEvents(t, 'radius.access').at(-1)).toMatchObject({ mac: '02:00:00:00:00:01', outcome: 'reject', reason: 'no session' });
    // The NAS's last answer, in whole seconds (set at most once a second).
    const last = (await t.gateway.metrics.registry.getSingleMetric('enrollgate_radius_last_answer_timestamp_seconds')?.get())?.values ?? [];
    expect(last).toHaveLength(1);
    expect(last[0]!.labels).toEqual({ nas: 'test-nas' });
    expect(Math.abs(last[0]!.value - Date.now() / 1000)).toBeLessThanOrEqual(2);
  });

  it('the Access-Reject bytes: MA first and correct (HMAC with the request authenticator), Response Authenticator correct', async () => {
    const nas = await RawNas.open();
    try {
      const request = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 77, userName: '02-00-00-00-00-02', callingStationId: '02-00-00-00-00-02', authenticator: randomBytes(16) });
      const reply = await nas.ask(t.gateway.ports.auth, request, (r) => r[1] === 77);
      expect(reply[0]).toBe(3);
      expect(reply.readUInt16BE(2)).toBe(reply.length);
      const requestAuth = request.subarray(4, 20);
      expect(reply.subarray(4, 20).equals(expectedResponseAuthenticator(reply, requestAuth, TEST_NAS_SECRET))).toBe(true);
      const attrs = walk(reply);
      expect(attrs[0]).toMatchObject({ type: A.MessageAuthenticator, at: 20 });
      const copy = Buffer.from(reply);
      requestAuth.copy(copy, 4);
      copy.fill(0, 22, 38);
      expect(attrs[0]!.value.equals(createHmac('md5', TEST_NAS_SECRET).update(copy).digest())).toBe(true);
    } finally {
      await nas.close();
    }
  });

  it('accepts a device with a session, Session-Timeout = seconds until its end (±1 s), and logs the user', async () => {
    const endsAt = await db.giveSession('02:00:00:00:01:01', 3600_000 + 500, 'alice');
    const r = await auth(t, macAuth('02:00:00:00:01:01'));
    const expected = Math.floor((endsAt.getTime() - Date.now()) / 1000);
    expect(r.code).toBe(0);
    expect(r.reply).toBe('Access-Accept');
    expect(Math.abs(Number(r.attributes['Session-Timeout']) - expected)).toBeLessThanOrEqual(1);
    expect(r.stdout.slice(r.stdout.indexOf('Received Access-Accept')).split('\n')[1]).toMatch(/^\tMessage-Authenticator = /);
    expect(logEvents(t, 'radius.access').at(-1)).toMatchObject({ mac: '02:00:00:00:01:01', user: 'alice', outcome: 'accept' });
  });

  it('does not accept a session that ended, nor one ending within the second', async () => {
    await db.giveSession('02:00:00:00:01:02', 400, 'bob');
    const r = await auth(t, macAuth('02:00:00:00:01:02'));
    expect(r.reply).toBe('Access-Reject');
    expect(r.attributes['Session-Timeout']).toBeUndefined();
  });

  it.each([
    ['aa:bb:cc:00:00:10', 'AA-BB-CC-00-00-10'],
    ['AA-BB-CC-00-00-10', 'aa:bb:cc:00:00:10'],
    ['aabb.cc00.0010', 'AABB.CC00.0010'],
    ['AABBCC000010', 'aa-bb-cc-00-00-10'],
  ])('finds the session whatever the notation (User-Name %j, Calling-Station-Id %j)', async (userName, station) => {
    await db.giveSession('aa:bb:cc:00:00:10', 600_000, 'carol');
    const r = await auth(t, [`User-Name = "${userName}"`, `User-Password = "${userName}"`, `Calling-Station-Id = "${station}"`, 'Message-Authenticator = 0x00']);
    expect(r.reply).toBe('Access-Accept');
    expect(Number(r.attributes['Session-Timeout'])).toBeGreaterThan(590);
  });

  it('finds the session from Calling-Station-Id alone', async () => {
    await db.giveSession('aa:bb:cc:00:00:11', 600_000);
    const r = await auth(t, ['Calling-Station-Id = "AA-BB-CC-00-00-11"', 'Message-Authenticator = 0x00']);
    expect(r.reply).toBe('Access-Accept');
  });

  it('rejects (does not drop) malformed MACs and logs why', async () => {
    const r = await auth(t, ['User-Name = "not-a-mac"', 'User-Password = "x"', 'Calling-Station-Id = "AA-BB-CC-DD-EE"', 'Message-Authenticator = 0x00']);
    expect(r.reply).toBe('Access-Reject');
    expect(logEvents(t, 'radius.access').at(-1)).toMatchObject({ outcome: 'reject', reason: expect.stringMatching(/neither User-Name nor Calling-Station-Id is a device MAC/) });
  });

  it('rejects User-Name and Calling-Station-Id naming different devices, even if one has a session', async () => {
    await db.giveSession('aa:bb:cc:00:00:12', 600_000);
    const r = await auth(t, ['User-Name = "aa-bb-cc-00-00-12"', 'Calling-Station-Id = "AA-BB-CC-00-00-13"', 'Message-Authenticator = 0x00']);
    expect(r.reply).toBe('Access-Reject');
    expect(logEvents(t, 'radius.access').at(-1)).toMatchObject({ outcome: 'reject', reason: expect.stringMatching(/different devices/) });
  });

  it('copies Proxy-State into the reply', async () => {
    const r = await auth(t, [...macAuth('02:00:00:00:00:03'), 'Proxy-State = 0x70726f78792d31']);
    expect(r.reply).toBe('Access-Reject');
    expect(r.attributes['Proxy-State']).toBe('0x70726f78792d31');
  });

  it('drops a request signed with the wrong secret and counts it', async () => {
    const before = await dropCount(t, 'test-nas', 'bad_message_authenticator');
    const forged = macAuthRequest({ secret: WRONG_SECRET, identifier: 4, userName: '020000000004', callingStationId: '02-00-00-00-00-04', authenticator: randomBytes(16) });
    const barrier = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 5, userName: '020000000004', callingStationId: '02-00-00-00-00-04', authenticator: randomBytes(16) });
    await expectUnanswered(t.gateway.ports.auth, forged, barrier);
    await expect.poll(() => dropCount(t, 'test-nas', 'bad_message_authenticator')).toBe(before + 1);
    expect(await t.gateway.metrics.registry.getSingleMetricAsString('enrollgate_radius_drops_total')).toContain(
      `enrollgate_radius_drops_total{nas="test-nas",reason="bad_message_authenticator"} ${before + 1}`,
    );
  });

  it('drops an Access-Request without Message-Authenticator (BlastRADIUS default)', async () => {
    const before = await dropCount(t, 'test-nas', 'missing_message_authenticator');
    const r = await auth(t, macAuth('02:00:00:00:00:05').filter((l) => !l.startsWith('Message-Authenticator')));
    expectNoReply(r);
    await expect.poll(() => dropCount(t, 'test-nas', 'missing_message_authenticator')).toBe(before + 1);
  });

  it('drops a Status-Server without Message-Authenticator (RFC 5997 §3)', async () => {
    const nas = await RawNas.open();
    try {
      const before = await dropCount(t, 'test-nas', 'missing_message_authenticator');
      await nas.send(t.gateway.ports.auth, assemble(12, 5, randomBytes(16), []));
      // Barrier: a valid Status-Server sent afterwards is answered, so the first was processed.
      await nas.ask(t.gateway.ports.auth, statusServer(6), (r) => r[1] === 6);
      expect(await dropCount(t, 'test-nas', 'missing_message_authenticator')).toBe(before + 1);
      expect(nas.replies.filter((r) => r[1] === 5)).toEqual([]);
    } finally {
      await nas.close();
    }
  });

  it('answers Status-Server on both ports', async () => {
    const a = await radclient(t.gateway.ports.auth, 'status', TEST_NAS_SECRET, ['Message-Authenticator = 0x00']);
    expect(a.code).toBe(0);
    expect(a.reply).toBe('Access-Accept');
    const b = await radclient(t.gateway.ports.acct, 'status', TEST_NAS_SECRET, ['Message-Authenticator = 0x00']);
    expect(b.code).toBe(0);
    expect(b.reply).toBe('Accounting-Response');
  });

  it('drops an Access-Request sent to the accounting port, and an Accounting-Request sent to the auth port', async () => {
    const nas = await RawNas.open();
    try {
      const before = await dropCount(t, 'test-nas', 'unexpected_code');
      await nas.send(t.gateway.ports.acct, macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 11, userName: '02-00-00-00-00-06' }));
      const accounting = signAccountingRequest(
        assemble(4, 12, Buffer.alloc(16), [attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'x'), attr(A.CallingStationId, '02-00-00-00-00-06')]),
        TEST_NAS_SECRET,
      );
      await nas.send(t.gateway.ports.auth, accounting);
      await nas.ask(t.gateway.ports.acct, statusServer(13), (r) => r[1] === 13);
      await nas.ask(t.gateway.ports.auth, statusServer(14), (r) => r[1] === 14);
      expect(await dropCount(t, 'test-nas', 'unexpected_code')).toBe(before + 2);
      expect(nas.replies.filter((r) => r[1] === 11 || r[1] === 12)).toEqual([]);
    } finally {
      await nas.close();
    }
  });

  it('drops a correctly signed request whose attributes cannot be decoded, and keeps serving', async () => {
    const nas = await RawNas.open();
    try {
      const before = await dropCount(t, 'test-nas', 'undecodable');
      // Tunnel-Type with an empty value, and a 2-octet integer: the radius package throws on both.
      const bad1 = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 21, userName: '02-00-00-00-00-07', extra: [Buffer.from([A.TunnelType, 2])] });
      const bad2 = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 22, userName: '02-00-00-00-00-07', extra: [Buffer.from([A.SessionTimeout, 4, 0, 1])] });
      await nas.send(t.gateway.ports.auth, bad1);
      await nas.send(t.gateway.ports.auth, bad2);
      await nas.ask(t.gateway.ports.auth, statusServer(23), (r) => r[1] === 23);
      expect(await dropCount(t, 'test-nas', 'undecodable')).toBe(before + 2);
      expect(nas.replies.filter((r) => r[1] === 21 || r[1] === 22)).toEqual([]);
    } finally {
      await nas.close();
    }
  });

  it('survives a burst of 5000 garbage datagrams: none answered, all counted, few logged, still answering afterwards', async () => {
    const totalDrops = async () =>
      ((await t.gateway.metrics.registry.getSingleMetric('enrollgate_radius_drops_total')?.get())?.values ?? []).reduce((n, v) => n + v.value, 0);
    const dropsBefore = await totalDrops();
    const linesBefore = logEvents(t, 'radius.dropped').length;
    // What an answered request costs here, one after another (verified, signed, answered):
    // the burst is bounded by it rather than by a figure of wall clock.
    const baseline = await RawNas.open();
    const baselineStarted = performance.now();
    for (let i = 0; i < 200; i++) {
      const probe = statusServer(100 + (i % 50));
      await baseline.ask(t.gateway.ports.auth, probe, answers(probe));
    }
    const answeredMs = (performance.now() - baselineStarted) / 200;
    await baseline.close();
    const nas = await RawNas.open();
    const started = performance.now();
    try {
      const valid = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 99, userName: '02-00-00-00-00-08', callingStationId: '02-00-00-00-00-08' });
      const validAcct = signAccountingRequest(
        assemble(4, 98, Buffer.alloc(16), [attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'g'), attr(A.CallingStationId, '02-00-00-00-00-08')]),
        TEST_NAS_SECRET,
      );
      const garbage = (i: number): Buffer => {
        switch (i % 5) {
          case 0: // random bytes of any size, up to past the RADIUS maximum
            return randomBytes(1 + ((i * 7919) % 4200));
          case 1: // a valid request cut short
            return valid.subarray(0, i % valid.length);
          case 2: {
            // a valid request with one byte changed (length octets left alone so it still scans)
            const b = Buffer.from(valid);
            const at = 4 + (i % (b.length - 4));
            b[at] = b[at]! ^ (1 + (i % 255));
            return b;
          }
          case 3: {
            // a plausible header with random attributes
            const b = randomBytes(20 + (i % 200));
            b[0] = [1, 4, 12][i % 3]!;
            b.writeUInt16BE(b.length, 2);
            return b;
          }
          default: {
            // a valid accounting request cut short or with a changed byte
            const b = Buffer.from(validAcct);
            b[20 + (i % (b.length - 20))]! ^= 0x5a;
            return i % 2 ? b : validAcct.subarray(0, i % validAcct.length);
          }
        }
      };
      let barrier = 150;
      for (let i = 0; i < 5000; i++) {
        await nas.send(i % 2 ? t.gateway.ports.auth : t.gateway.ports.acct, garbage(i));
        // Every 100 datagrams a valid Status-Server: it is answered only after what came before it was
        // handled, and it keeps the socket buffers from overflowing.
        if (i % 100 === 99) {
          const probe = statusServer(barrier);
          await nas.ask(t.gateway.ports.auth, probe, answers(probe));
          barrier = barrier === 199 ? 150 : barrier + 1;
        }
      }
      const probe = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 250, userName: '02-00-00-00-00-09', authenticator: randomBytes(16) });
      const reply = await nas.ask(t.gateway.ports.auth, probe, answers(probe));
      expect(reply[0]).toBe(3);
      const unexpected = nas.replies.filter((r) => r[0] !== 2 && r[0] !== 3);
      expect(unexpected).toEqual([]);
      // Every reply answered one of our valid probes (Status-Server → Accept, the final request → Reject).
      expect(nas.replies.filter((r) => r[0] === 3).every((r) => r[1] === 250)).toBe(true);
      expect(nas.replies.filter((r) => r[0] === 2).every((r) => r[1]! >= 150 && r[1]! < 200)).toBe(true);
      // 5,050 datagrams, each dropped (or, 50 of them, answered) at no more than four times
      // what an answered request costs: a garbage datagram costs a seventh of one here.
      expect(performance.now() - started).toBeLessThan(4 * 5050 * answeredMs);
    } finally {
      await nas.close();
    }
    expect((await totalDrops()) - dropsBefore).toBeGreaterThan(4000);
    // Drops are logged at most once a second per NAS and reason: the flood does not flood the log.
    // Bounded by the time since the flood began (its lines were all written within it), not by
    // a count of lines that a slower machine, taking more seconds, would exceed.
    const loggingMs = performance.now() - started;
    const linesPerKey = new Map<string, number>();
    for (const line of logEvents(t, 'radius.dropped').slice(linesBefore)) {
      const key = `${String(line.nas)}/${String(line.reason)}`;
      linesPerKey.set(key, (linesPerKey.get(key) ?? 0) + 1);
    }
    expect(linesPerKey.size).toBeGreaterThan(0);
    expect(Math.max(...linesPerKey.values())).toBeLessThanOrEqual(Math.floor(loggingMs / 1000) + 1);
    // The server is still up for radclient too.
    expect((await radclient(t.gateway.ports.auth, 'status', TEST_NAS_SECRET, ['Message-Authenticator = 0x00'])).reply).toBe('Access-Accept');
  }, 120_000);

  it('never writes the NAS secret into its logs', () => {
    expect(t.logs.lines.length).toBeGreaterThan(10);
    expect(t.logs.text()).not.toContain(TEST_NAS_SECRET);
    expect(t.logs.text()).not.toContain(TEST_NAS_SECRET.slice(0, 12));
  });
});

describe('RADIUS server: accounting', () => {
  let t: TestGateway;
  let db: Backdoor;

  beforeAll(async () => {
    t = await startTestGateway();
    db = await Backdoor.open(t);
  });

  afterAll(async () => {
    await db?.close();
    await t?.close();
  });

  afterEach(() => {
    expect(t.logs.text()).not.toContain(TEST_NAS_SECRET);
    expect(logEvents(t, 'radius.handler_failed')).toEqual([]);
  });

  it('Start → Interim-Update → Stop: records, octets with Gigawords, and the IP→MAC lease', async () => {
    await db.giveSession('02:00:00:00:02:01', 3600_000, 'dave');
    const base = ['Acct-Session-Id = "acct-1"', 'Calling-Station-Id = "02-00-00-00-02-01"', 'User-Name = "02-00-00-00-02-01"'];

    const start = await acct(t, ['Acct-Status-Type = Start', ...base, 'Framed-IP-Address = 10.0.0.5']);
    expect(start.code).toBe(0);
    expect(start.reply).toBe('Accounting-Response');
    expect(await db.accounting.leaseFor('10.0.0.5')).toMatchObject({ ip: '10.0.0.5', mac: '02:00:00:00:02:01', nas: 'test-nas' });
    expect(await db.accounting.get('test-nas', 'acct-1')).toMatchObject({ status: 'start', mac: '02:00:00:00:02:01', user: 'dave', ip: '10.0.0.5' });

    const interim = await acct(t, [
      'Acct-Status-Type = Interim-Update',
      ...base,
      'Framed-IP-Address = 10.0.0.5',
      'Acct-Input-Octets = 100',
      'Acct-Input-Gigawords = 1',
      'Acct-Output-Octets = 200',
      'Acct-Output-Gigawords = 2',
      'Acct-Session-Time = 60',
    ]);
    expect(interim.reply).toBe('Accounting-Response');
    const afterInterim = await db.accounting.get('test-nas', 'acct-1');
    expect(afterInterim).toMatchObject({ status: 'interim', inputOctets: 2 ** 32 + 100, outputOctets: 2 * 2 ** 32 + 200, sessionTimeSeconds: 60 });

    const stop = await acct(t, ['Acct-Status-Type = Stop', ...base, 'Framed-IP-Address = 10.0.0.5', 'Acct-Terminate-Cause = User-Request', 'Acct-Input-Octets = 300']);
    expect(stop.reply).toBe('Accounting-Response');
    expect(await db.accounting.leaseFor('10.0.0.5')).toBeUndefined();
    expect(await db.accounting.get('test-nas', 'acct-1')).toMatchObject({
      status: 'stop',
      terminateCause: 'User-Request',
      inputOctets: 300,
      startedAt: afterInterim!.startedAt,
    });
    expect(logEvents(t, 'accounting.stop').at(-1)).toMatchObject({ mac: '02:00:00:00:02:01', sessionId: 'acct-1' });
  });

  it('a Stop without Framed-IP-Address still releases the address the Start gave', async () => {
    const base = ['Acct-Session-Id = "acct-2"', 'Calling-Station-Id = "02-00-00-00-02-07"'];
    expect((await acct(t, ['Acct-Status-Type = Start', ...base, 'Framed-IP-Address = 10.0.0.10'])).reply).toBe('Accounting-Response');
    expect(await db.accounting.leaseFor('10.0.0.10')).toMatchObject({ mac: '02:00:00:00:02:07' });
    expect((await acct(t, ['Acct-Status-Type = Stop', ...base])).reply).toBe('Accounting-Response');
    expect(await db.accounting.leaseFor('10.0.0.10')).toBeUndefined();
  });

  it('a Stop for an address since given to another device leaves that lease alone', async () => {
    await acct(t, ['Acct-Status-Type = Start', 'Acct-Session-Id = "old"', 'Calling-Station-Id = "02-00-00-00-02-02"', 'Framed-IP-Address = 10.0.0.6']);
    await acct(t, ['Acct-Status-Type = Start', 'Acct-Session-Id = "new"', 'Calling-Station-Id = "02-00-00-00-02-03"', 'Framed-IP-Address = 10.0.0.6']);
    const stop = await acct(t, ['Acct-Status-Type = Stop', 'Acct-Session-Id = "old"', 'Calling-Station-Id = "02-00-00-00-02-02"', 'Framed-IP-Address = 10.0.0.6']);
    expect(stop.reply).toBe('Accounting-Response');
    expect(await db.accounting.leaseFor('10.0.0.6')).toMatchObject({ mac: '02:00:00:00:02:03' });
  });

  it('answers Accounting-On without recording anything', async () => {
    const r = await acct(t, ['Acct-Status-Type = Accounting-On', 'NAS-IP-Address = 127.0.0.1']);
    expect(r.reply).toBe('Accounting-Response');
  });

  it('drops accounting signed with the wrong secret (bad_authenticator) and records nothing', async () => {
    const before = await dropCount(t, 'test-nas', 'bad_authenticator');
    const forged = signAccountingRequest(
      assemble(4, 24, Buffer.alloc(16), [attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'forged'), attr(A.CallingStationId, '02-00-00-00-02-04'), ipAttr(A.FramedIpAddress, '10.0.0.7')]),
      WRONG_SECRET,
    );
    await expectUnanswered(t.gateway.ports.acct, forged, accountingOn(25));
    await expect.poll(() => dropCount(t, 'test-nas', 'bad_authenticator')).toBe(before + 1);
    expect(await db.accounting.leaseFor('10.0.0.7')).toBeUndefined();
    expect(await db.accounting.get('test-nas', 'forged')).toBeUndefined();
    expect(t.logs.text()).not.toContain(WRONG_SECRET);
  });

  it('does not answer accounting without Acct-Session-Id (the NAS keeps it and retries)', async () => {
    const before = await dropCount(t, 'test-nas', 'unusable_accounting');
    const r = await acct(t, ['Acct-Status-Type = Start', 'Calling-Station-Id = "02-00-00-00-02-05"', 'Framed-IP-Address = 10.0.0.8']);
    expectNoReply(r);
    await expect.poll(() => dropCount(t, 'test-nas', 'unusable_accounting')).toBe(before + 1);
    expect(await db.accounting.leaseFor('10.0.0.8')).toBeUndefined();
    expect(logEvents(t, 'radius.dropped').at(-1)).toMatchObject({ problem: expect.stringMatching(/Acct-Session-Id/) });
  });

  it('accepts an accounting request carrying a Message-Authenticator (computed over the zeroed authenticator)', async () => {
    const nas = await RawNas.open();
    try {
      const request = signAccountingRequest(
        assemble(4, 31, Buffer.alloc(16), [maPlaceholder(), attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'ma-1'), attr(A.CallingStationId, '02-00-00-00-02-06'), ipAttr(A.FramedIpAddress, '10.0.0.9')]),
        TEST_NAS_SECRET,
      );
      const reply = await nas.ask(t.gateway.ports.acct, request, answers(request));
      expect(reply[0]).toBe(5);
      expect(walk(reply).some((a) => a.type === A.MessageAuthenticator)).toBe(false);
      expect(await db.accounting.leaseFor('10.0.0.9')).toMatchObject({ mac: '02:00:00:00:02:06' });
    } finally {
      await nas.close();
    }
  });
});

describe('RADIUS server: per-NAS configuration', () => {
  it('require_message_authenticator: false answers requests without one (but still drops Proxy-State without one)', async () => {
    await withGateway({ configure: (doc) => { doc.radius.clients[0].require_message_authenticator = false; } }, async (t) => {
      const r = await auth(t, macAuth('02:00:00:00:03:01').filter((l) => !l.startsWith('Message-Authenticator')));
      expect(r.reply).toBe('Access-Reject');
      // The answer still carries a Message-Authenticator first.
      expect(r.stdout.slice(r.stdout.indexOf('Received Access-Reject')).split('\n')[1]).toMatch(/^\tMessage-Authenticator = /);
      // A wrong Message-Authenticator is still refused when one is present.
      await expectUnanswered(
        t.gateway.ports.auth,
        macAuthRequest({ secret: WRONG_SECRET, identifier: 31, userName: '020000000301', callingStationId: '02-00-00-00-03-01', authenticator: randomBytes(16) }),
        macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 32, userName: '020000000301', callingStationId: '02-00-00-00-03-01', authenticator: randomBytes(16) }),
      );
      const before = await dropCount(t, 'test-nas', 'missing_message_authenticator');
      const proxied = await auth(t, [...macAuth('02:00:00:00:03:01').filter((l) => !l.startsWith('Message-Authenticator')), 'Proxy-State = 0x01']);
      expectNoReply(proxied);
      await expect.poll(() => dropCount(t, 'test-nas', 'missing_message_authenticator')).toBe(before + 1);
    });
  });

  it('sends nothing rather than a truncated answer when the answer would exceed 4096 octets', async () => {
    await withGateway({ configure: (doc) => { doc.radius.clients[0].no_session = { answer: 'vlan', vlan: '99' }; } }, async (t) => {
      const nas = await RawNas.open();
      try {
        // A 4096-octet request full of Proxy-States: the answer adds 17 octets of VLAN attributes.
        const attrs = [maPlaceholder(), attr(A.UserName, '020000000305')];
        for (let left = 4096 - 20 - 18 - 14; left > 0; left -= Math.min(253, left)) attrs.push(attr(A.ProxyState, Buffer.alloc(Math.min(253, left) - 2, 0x61)));
        const request = signAccessRequest(assemble(1, 41, randomBytes(16), attrs), TEST_NAS_SECRET);
        expect(request.length).toBe(4096);
        await nas.send(t.gateway.ports.auth, request);
        // The decision awaits the store; the failure is logged after the point where a reply would have been sent.
        await expect.poll(() => logEvents(t, 'radius.handler_failed')).toHaveLength(1);
        expect(logEvents(t, 'radius.handler_failed')[0]).toMatchObject({ err: { message: expect.stringMatching(/4099 octets, over the RADIUS maximum of 4096/) } });
        expect(logEvents(t, 'radius.access').at(-1)).toMatchObject({ mac: '02:00:00:00:03:05', outcome: 'registration_vlan' });
        await nas.ask(t.gateway.ports.auth, statusServer(42), (r) => r[1] === 42);
        expect(nas.replies.filter((r) => r[1] === 41)).toEqual([]);
      } finally {
        await nas.close();
      }
    });
  });

  it('drops packets from an address that is no configured NAS (unknown_client, nas="unknown")', async () => {
    await withGateway({ configure: (doc) => { doc.radius.clients[0].address = '10.9.9.9'; } }, async (t) => {
      expectNoReply(await auth(t, macAuth('02:00:00:00:03:02')));
      expectNoReply(await acct(t, ['Acct-Status-Type = Start', 'Acct-Session-Id = "u"', 'Calling-Station-Id = "02-00-00-00-03-02"']));
      expectNoReply(await radclient(t.gateway.ports.auth, 'status', TEST_NAS_SECRET, ['Message-Authenticator = 0x00']));
      await expect.poll(() => dropCount(t, 'unknown', 'unknown_client')).toBe(3);
      expect(await t.gateway.metrics.registry.getSingleMetricAsString('enrollgate_radius_drops_total')).toContain(
        'enrollgate_radius_drops_total{nas="unknown",reason="unknown_client"} 3',
      );
      expect(await dropCount(t, 'test-nas', 'unknown_client')).toBe(0);
    });
  });

  it('a registration-VLAN NAS puts devices without a session into the VLAN (RFC 3580), and devices with one onto the network', async () => {
    await withGateway({ configure: (doc) => { doc.radius.clients[0].no_session = { answer: 'vlan', vlan: '99' }; } }, async (t) => {
      const r = await auth(t, macAuth('02:00:00:00:03:03'));
      expect(r.code).toBe(0);
      expect(r.reply).toBe('Access-Accept');
      expect(r.attributes).toMatchObject({ 'Tunnel-Type:0': 'VLAN', 'Tunnel-Medium-Type:0': 'IEEE-802', 'Tunnel-Private-Group-Id:0': '99' });
      expect(r.attributes['Session-Timeout']).toBeUndefined();

      // Proxy-State comes back byte for byte after the tagged attributes.
      const proxied = await auth(t, [...macAuth('02:00:00:00:03:03'), 'Proxy-State = 0x70726f78792d32']);
      expect(proxied.reply).toBe('Access-Accept');
      expect(proxied.attributes['Proxy-State']).toBe('0x70726f78792d32');

      const db = await Backdoor.open(t);
      try {
        await db.giveSession('02:00:00:00:03:04', 120_000);
        const s = await auth(t, macAuth('02:00:00:00:03:04'));
        expect(s.reply).toBe('Access-Accept');
        expect(Number(s.attributes['Session-Timeout'])).toBeGreaterThan(110);
        expect(Object.keys(s.attributes).some((k) => k.startsWith('Tunnel-'))).toBe(false);
      } finally {
        await db.close();
      }
    });
  });
});
