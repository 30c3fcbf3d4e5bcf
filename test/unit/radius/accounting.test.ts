import { describe, expect, it } from 'vitest';
import type { AccountingRecord } from '../../../src/accounting/accounting-store.js';
import { accountingUpdate, type AccountingUpdate } from '../../../src/radius/accounting.js';
import { decodeAttributes } from '../../../src/radius/packet.js';
import { A, Status, assemble, attr, ipAttr, signAccountingRequest } from './radius-bytes.js';

const T0 = new Date('2026-03-10T08:00:00.000Z');
const T1 = new Date('2026-03-10T08:05:00.000Z');
const MAC = 'aa:bb:cc:dd:ee:f0';

/** The attributes of a real Accounting-Request, decoded the way the server decodes them. */
function acct(attributes: Buffer[]): Record<string, unknown> {
  const raw = signAccountingRequest(assemble(4, 1, Buffer.alloc(16), attributes), 'acct-test-secret-0123');
  const decoded = decodeAttributes(raw, raw.length);
  if (!decoded) throw new Error('fixture did not decode');
  return decoded;
}

function record(update: AccountingUpdate, previous?: AccountingRecord, sessionUser?: string): AccountingRecord {
  if (update.kind !== 'record') throw new Error(`expected a record, got ${JSON.stringify(update)}`);
  return update.build(previous, sessionUser);
}

const start = (extra: Buffer[] = []) =>
  acct([attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'S-1'), attr(A.UserName, 'aa-bb-cc-dd-ee-f0'), attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F0'), ipAttr(A.FramedIpAddress, '10.0.0.5'), ...extra]);

describe('accountingUpdate', () => {
  it('Start: a new record with the address, zero octets and no user when only the MAC is known', () => {
    const update = accountingUpdate(start(), 'nas-1', T0);
    expect(update).toMatchObject({ kind: 'record', status: 'start', sessionId: 'S-1', mac: MAC });
    expect(record(update)).toEqual({
      sessionId: 'S-1',
      mac: MAC,
      nas: 'nas-1',
      status: 'start',
      ip: '10.0.0.5',
      inputOctets: 0,
      outputOctets: 0,
      startedAt: T0.toISOString(),
      updatedAt: T0.toISOString(),
    });
  });

  it('Start: the user is the owner of the live session when User-Name is the MAC', () => {
    expect(record(accountingUpdate(start(), 'nas-1', T0), undefined, 'alice').user).toBe('alice');
  });

  it('Interim-Update: octets with Gigawords (upper 32 bits), start time and address kept from the previous record', () => {
    const previous = record(accountingUpdate(start(), 'nas-1', T0), undefined, 'alice');
    const interim = acct([
      attr(A.AcctStatusType, Status.InterimUpdate),
      attr(A.AcctSessionId, 'S-1'),
      attr(A.CallingStationId, 'aa:bb:cc:dd:ee:f0'),
      attr(A.AcctInputOctets, 5),
      attr(A.AcctInputGigawords, 2),
      attr(A.AcctOutputOctets, 0xffffffff),
      attr(A.AcctOutputGigawords, 1),
      attr(A.AcctSessionTime, 300),
    ]);
    const r = record(accountingUpdate(interim, 'nas-1', T1), previous, undefined);
    expect(r).toMatchObject({
      status: 'interim',
      inputOctets: 2 * 2 ** 32 + 5,
      outputOctets: 2 ** 32 + 0xffffffff,
      sessionTimeSeconds: 300,
      startedAt: T0.toISOString(),
      updatedAt: T1.toISOString(),
      ip: '10.0.0.5',
      user: 'alice',
    });
    expect(r.stoppedAt).toBeUndefined();
  });

  it('octets without Gigawords are the 32-bit counter', () => {
    const r = record(accountingUpdate(start([attr(A.AcctInputOctets, 1000), attr(A.AcctOutputOctets, 2000)]), 'nas-1', T0));
    expect([r.inputOctets, r.outputOctets]).toEqual([1000, 2000]);
  });

  it('Stop: stop time, terminate cause and session time; the address stays so the lease can be released', () => {
    const previous = record(accountingUpdate(start(), 'nas-1', T0));
    const stop = acct([
      attr(A.AcctStatusType, Status.Stop),
      attr(A.AcctSessionId, 'S-1'),
      attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F0'),
      attr(A.AcctTerminateCause, 5),
      attr(A.AcctSessionTime, 600),
    ]);
    const update = accountingUpdate(stop, 'nas-1', T1);
    expect(update).toMatchObject({ kind: 'record', status: 'stop' });
    expect(record(update, previous)).toMatchObject({
      status: 'stop',
      stoppedAt: T1.toISOString(),
      terminateCause: 'Session-Timeout',
      sessionTimeSeconds: 600,
      ip: '10.0.0.5',
      startedAt: T0.toISOString(),
    });
  });

  it.each([
    ['missing', []],
    ['empty', [attr(A.AcctSessionId, Buffer.alloc(0))]],
  ])('an Acct-Session-Id that is %s makes the request unusable', (_what, sessionId) => {
    const attrs = acct([attr(A.AcctStatusType, Status.Start), ...sessionId, attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F0')]);
    expect(accountingUpdate(attrs, 'nas-1', T0)).toEqual({ kind: 'unusable', problem: expect.stringMatching(/Acct-Session-Id/) });
  });

  it('no device MAC (none, or malformed in both places) makes the request unusable', () => {
    for (const attrs of [
      acct([attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'S-2')]),
      acct([attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'S-2'), attr(A.UserName, 'alice'), attr(A.CallingStationId, 'ff:ff:ff:ff:ff:ff')]),
    ]) {
      expect(accountingUpdate(attrs, 'nas-1', T0)).toEqual({ kind: 'unusable', problem: expect.stringMatching(/MAC/) });
    }
  });

  it('takes the MAC from User-Name when Calling-Station-Id is absent', () => {
    const attrs = acct([attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'S-3'), attr(A.UserName, 'AABB.CCDD.EEF0')]);
    expect(accountingUpdate(attrs, 'nas-1', T0)).toMatchObject({ kind: 'record', mac: MAC });
  });

  it.each([
    ['Accounting-On', Status.AccountingOn],
    ['Accounting-Off', Status.AccountingOff],
  ])('%s is answered but not recorded', (name, value) => {
    expect(accountingUpdate(acct([attr(A.AcctStatusType, value)]), 'nas-1', T0)).toEqual({ kind: 'ignore', statusType: name });
  });

  it('a request without Acct-Status-Type, or with an unknown one, is ignored', () => {
    expect(accountingUpdate(acct([attr(A.AcctSessionId, 'S-4'), attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F0')]), 'nas-1', T0)).toEqual({
      kind: 'ignore',
      statusType: '(none)',
    });
    expect(accountingUpdate(acct([attr(A.AcctStatusType, 99), attr(A.AcctSessionId, 'S-4')]), 'nas-1', T0)).toEqual({ kind: 'ignore', statusType: '99' });
  });

  it('the user: a non-MAC User-Name (802.1X identity) names it; a MAC User-Name defers to the session owner, then the previous record', () => {
    const named = acct([attr(A.AcctStatusType, Status.Start), attr(A.AcctSessionId, 'S-5'), attr(A.UserName, 'bob'), attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F0')]);
    expect(record(accountingUpdate(named, 'nas-1', T0), undefined, 'alice').user).toBe('bob');
    expect(record(accountingUpdate(named, 'nas-1', T0)).user).toBe('bob');

    const byMac = start();
    expect(record(accountingUpdate(byMac, 'nas-1', T0), undefined, 'alice').user).toBe('alice');
    const previous = record(accountingUpdate(byMac, 'nas-1', T0), undefined, 'carol');
    expect(record(accountingUpdate(byMac, 'nas-1', T1), previous, undefined).user).toBe('carol');
    expect('user' in record(accountingUpdate(byMac, 'nas-1', T1), undefined, undefined)).toBe(false);
  });

  it('build does not depend on earlier calls (pure)', () => {
    const update = accountingUpdate(start(), 'nas-1', T0);
    const a = record(update, undefined, 'alice');
    const b = record(update, undefined, undefined);
    expect(a.user).toBe('alice');
    expect(b.user).toBeUndefined();
  });
});
