import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ACCOUNTING_BATCH_MS } from '../../../src/radius/handlers/accounting.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { startOwnRadius } from '../../helpers/own-radius.js';
import { A, assemble, attr, macAuthRequest, signAccountingRequest, Status } from '../../unit/radius/radius-bytes.js';

/**
 * A RADIUS server stopped while answers are still on their way (accounting gathered
 * for its batch, accounting waiting for its commit): what cannot be sent any more is
 * logged and dropped (the routers send again), never an exception or unhandled
 * rejection that would end the process. Its own server on a real SQLite file. The
 * accounting batch's timer is driven by the test (vitest's fake setTimeout), so the
 * moments that matter are reached without waiting on the clock.
 */
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => t?.close());

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Its own server, with `faked` timers the test drives, and a NAS socket; all undone when the test ends. */
async function ownServerAndNas(faked: Array<'setTimeout' | 'clearTimeout' | 'setImmediate' | 'clearImmediate'>) {
  vi.useFakeTimers({ toFake: faked });
  onTestFinished(() => void vi.useRealTimers());
  const own = await startOwnRadius(t);
  onTestFinished(() => own.close());
  const nas = createSocket('udp4');
  await new Promise<void>((resolve) => nas.bind(0, '127.0.0.1', () => resolve()));
  onTestFinished(() => void nas.close());
  return { own, nas };
}

/**
 * Its own server with the batch timer faked, 100 accounting requests read and waiting
 * for their batch (an Access-Request sent after them is answered first, as a marker).
 */
async function loaded() {
  const { own, nas } = await ownServerAndNas(['setTimeout', 'clearTimeout']);
  const answers = { accounting: 0 };
  nas.on('message', (m: Buffer) => void (m[0] === 5 && answers.accounting++));
  for (let i = 0; i < 100; i++) {
    const mac = `02-00-00-00-00-${i.toString(16).padStart(2, '0')}`;
    const accounting = assemble(4, i, Buffer.alloc(16), [attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, `stop-${i}`), attr(A.CallingStationId, mac)]);
    nas.send(signAccountingRequest(accounting, TEST_NAS_SECRET), own.acctPort, '127.0.0.1');
  }
  nas.send(macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 1, userName: '02-00-00-00-01-00' }), own.authPort, '127.0.0.1');
  while (!own.logs.text().includes('"event":"radius.access"')) await nextTurn();
  for (let turn = 0; turn < 3; turn++) await nextTurn();
  return { own, answers, failures: () => own.logs.events().filter((e) => e.event === 'radius.handler_failed') };
}

/** Lets what is left run: promises and commits (turns), and any batch timer still set. */
async function aftermath(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await nextTurn();
  vi.advanceTimersByTime(10 * ACCOUNTING_BATCH_MS);
  for (let turn = 0; turn < 20; turn++) await nextTurn();
}

// Nothing may throw past the server: vitest fails a run on an unhandled rejection or exception.
describe('stopping RADIUS under load', () => {
  it('accounting still gathered for its batch is dropped, never worked on after the stop', async () => {
    const { own, answers, failures } = await loaded();
    await own.server.stop();
    await aftermath();
    expect(failures()).toEqual([]);
    expect(answers.accounting).toBe(0);
  });

  it('an answer made but still waiting for the end of its turn (outbox.ts) is sent before the sockets close', async () => {
    // The turn's end (setImmediate) is the test's to give: the answer is made, and waits.
    const { own, nas } = await ownServerAndNas(['setImmediate', 'clearImmediate']);
    const answered = new Promise<Buffer>((resolve) => nas.once('message', resolve));
    nas.send(macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 7, userName: '02-00-00-00-01-07' }), own.authPort, '127.0.0.1');
    // Not expect.poll: it advances fake timers between its checks, and would end the turn.
    while (!own.logs.text().includes('"event":"radius.access"')) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(own.server['outboxes'].auth.size).toBe(1);
    await own.server.stop();
    const answer = await answered;
    expect(answer[0]).toBe(3); // Access-Reject: the MAC has no session
    expect(answer[1]).toBe(7);
    expect(own.logs.events().filter((e) => e.event === 'radius.handler_failed')).toEqual([]);
  });

  it('accounting whose answer waits for its commit is dropped and logged when the socket has closed meanwhile', async () => {
    const { own, answers, failures } = await loaded();
    // The batch runs now; its answers wait for their commit (next turn), and the server stops first.
    vi.advanceTimersByTime(ACCOUNTING_BATCH_MS);
    await own.server.stop();
    await aftermath();
    expect(failures().length).toBeGreaterThan(0);
    for (const f of failures()) expect(JSON.stringify(f)).toContain('ERR_SOCKET_DGRAM_NOT_RUNNING');
    expect(answers.accounting).toBe(0);
  });
});
