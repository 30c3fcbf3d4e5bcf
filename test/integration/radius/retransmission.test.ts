import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { answers, Backdoor, RawNas } from '../../helpers/raw-nas.js';
import { A, attr, ipAttr, assemble, macAuthRequest, signAccountingRequest, Status } from '../../unit/radius/radius-bytes.js';

/** RFC 5080 §2.2.2 against a real gateway: a retransmission gets the same answer, and policy does not run again. */

let t: TestGateway;
let db: Backdoor;
let nas: RawNas;

async function retransmissions(handled: string): Promise<number> {
  const metric = await t.gateway.metrics.registry.getSingleMetric('enrollgate_radius_retransmissions_total')?.get();
  return metric?.values.find((v) => v.labels.nas === 'test-nas' && v.labels.handled === handled)?.value ?? 0;
}

beforeAll(async () => {
  t = await startTestGateway();
  db = await Backdoor.open(t);
  nas = await RawNas.open();
});
afterAll(async () => {
  await nas?.close();
  await db?.close();
  await t?.close();
});

describe('retransmissions', () => {
  it('answers an Access-Request retransmission from the cache, without running policy again', async () => {
    const mac = '02-00-00-00-05-01';
    const request = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 17, userName: mac, callingStationId: mac, authenticator: randomBytes(16) });
    const first = await nas.ask(t.gateway.ports.auth, request, answers(request));
    expect(first[0]).toBe(3); // Access-Reject: no session yet
    // The device gets a session now; a retransmission of the old request must still get the old answer.
    await db.giveSession('02:00:00:00:05:01', 3600_000);
    const before = await retransmissions('answered_from_cache');
    const again = await nas.ask(t.gateway.ports.auth, request, (r) => answers(request)(r) && r !== first);
    expect(again.equals(first)).toBe(true);
    expect(await retransmissions('answered_from_cache')).toBe(before + 1);
    // A new request (new authenticator) is decided afresh: now accepted.
    const fresh = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 17, userName: mac, callingStationId: mac, authenticator: randomBytes(16) });
    expect((await nas.ask(t.gateway.ports.auth, fresh, answers(fresh)))[0]).toBe(2);
  });

  it('records a retransmitted accounting Start once and answers both', async () => {
    const request = signAccountingRequest(
      assemble(4, 33, Buffer.alloc(16), [
        attr(A.AcctStatusType, Status.Start),
        attr(A.AcctSessionId, 'retrans-1'),
        attr(A.CallingStationId, '02-00-00-00-05-02'),
        ipAttr(A.FramedIpAddress, '10.5.0.2'),
      ]),
      TEST_NAS_SECRET,
    );
    const first = await nas.ask(t.gateway.ports.acct, request, answers(request));
    const recorded = await db.accounting.get('test-nas', 'retrans-1');
    expect(recorded?.status).toBe('start');
    const before = await retransmissions('answered_from_cache');
    const again = await nas.ask(t.gateway.ports.acct, request, (r) => answers(request)(r) && r !== first);
    expect(again.equals(first)).toBe(true);
    expect(await retransmissions('answered_from_cache')).toBe(before + 1);
    // Not recorded again: the record's update time is unchanged.
    expect((await db.accounting.get('test-nas', 'retrans-1'))?.updatedAt).toBe(recorded?.updatedAt);
  });
});
