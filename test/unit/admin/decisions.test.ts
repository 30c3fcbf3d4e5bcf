import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.js';
import { auditFilterFor, decisionFilter, decisionMatches, decisionRow, dropMatches, dropRow } from '../../../src/admin/decisions.js';
import type { Mac } from '../../../src/mac.js';
import { RECENT_DROPS, RecentDrops, type DroppedPacket } from '../../../src/radius/recent-drops.js';
import { BadInputError } from '../../../src/errors.js';

const rec = (fields: Record<string, unknown>): AuditRecord => ({ seq: 1, at: '2026-12-07T06:00:00.000Z', outcome: 'success', prev: '0'.repeat(64), type: 'radius.accepted', ...fields }) as AuditRecord;

const mabAccept = rec({ type: 'radius.accepted', nas: 'ap-lobby', mac: 'aa:bb:cc:dd:ee:01', user: 'alice', reason: 'session' });
const mabReject = rec({ type: 'radius.rejected', outcome: 'failure', nas: 'ap-lobby', mac: 'aa:bb:cc:dd:ee:02', reason: 'no session' });
const eapAccept = rec({ type: 'eap.accepted', nas: 'ap-floor2', method: 'tls', mac: 'aa:bb:cc:dd:ee:03', user: 'bob', reason: 'certificate' });
const eapRejectEarly = rec({ type: 'eap.rejected', outcome: 'failure', nas: 'ap-floor2', reason: 'no method agreed' });
const other = rec({ type: 'session.revoked', mac: 'aa:bb:cc:dd:ee:01', nas: 'ap-lobby', reason: 'session' });

describe('recent decisions', () => {
  it('parses the form: a MAC in any notation becomes the gateway’s form; a bad MAC or outcome names the field', () => {
    expect(decisionFilter({ outcome: 'reject', nas: ' ap-lobby ', mac: 'AA-BB-CC-DD-EE-02', reason: 'no session' }).filter).toEqual({
      outcome: 'reject',
      nas: 'ap-lobby',
      mac: 'aa:bb:cc:dd:ee:02',
      reason: 'no session',
    });
    expect(decisionFilter({}).filter).toEqual({});
    // Repeated parameters (an array) are ignored, not joined.
    expect(decisionFilter({ nas: ['a', 'b'] }).filter).toEqual({});
    expect(() => decisionFilter({ mac: 'not-a-mac' })).toThrow(BadInputError);
    expect(() => decisionFilter({ mac: 'not-a-mac' })).toThrow(/^MAC: /);
    expect(() => decisionFilter({ outcome: 'success' })).toThrow(/^Outcome: /);
  });

  it('searches the trail from the window’s start, by MAC and by the outcome the trail records', () => {
    const now = new Date('2026-12-07T06:00:00Z');
    expect(auditFilterFor({ mac: 'aa:bb:cc:dd:ee:01' as never, outcome: 'reject' }, now)).toEqual({ from: new Date('2026-12-06T06:00:00Z'), mac: 'aa:bb:cc:dd:ee:01', outcome: 'failure' });
    expect(auditFilterFor({ outcome: 'accept' }, now)).toEqual({ from: new Date('2026-12-06T06:00:00Z'), outcome: 'success' });
    expect(auditFilterFor({ outcome: 'drop' }, now)).toEqual({ from: new Date('2026-12-06T06:00:00Z') });
  });

  it('matches only accepts and rejects, by outcome, NAS, MAC and exact reason', () => {
    const all = [mabAccept, mabReject, eapAccept, eapRejectEarly, other];
    const pick = (f: Parameters<typeof decisionMatches>[1]) => all.filter((r) => decisionMatches(r, f));
    expect(pick({})).toEqual([mabAccept, mabReject, eapAccept, eapRejectEarly]);
    expect(pick({ outcome: 'accept' })).toEqual([mabAccept, eapAccept]);
    expect(pick({ outcome: 'reject' })).toEqual([mabReject, eapRejectEarly]);
    expect(pick({ outcome: 'drop' })).toEqual([]);
    expect(pick({ nas: 'ap-floor2' })).toEqual([eapAccept, eapRejectEarly]);
    expect(pick({ mac: 'aa:bb:cc:dd:ee:01' as never })).toEqual([mabAccept]);
    expect(pick({ reason: 'no session' })).toEqual([mabReject]);
    expect(pick({ reason: 'no sess' })).toEqual([]);
  });

  it('shows each decision with its method: mab, eap/<method>, or eap before a method was chosen', () => {
    expect(decisionRow(mabAccept)).toEqual({ at: mabAccept.at, outcome: 'accept', reason: 'session', nas: 'ap-lobby', mac: 'aa:bb:cc:dd:ee:01', user: 'alice', method: 'mab', attributes: '' });
    expect(decisionRow(eapAccept)).toMatchObject({ outcome: 'accept', method: 'eap/tls', user: 'bob' });
    expect(decisionRow(eapRejectEarly)).toMatchObject({ outcome: 'reject', method: 'eap', mac: '', user: '' });
    expect(decisionRow(other)).toBeUndefined();
  });
});

describe('recent decisions: drops kept in memory', () => {
  const wrongSecret: DroppedPacket = { atMs: Date.parse('2026-12-07T06:00:01.000Z'), nas: 'ap-lobby', from: '10.0.0.2:40000', reason: 'bad_message_authenticator' };
  const stranger: DroppedPacket = { atMs: Date.parse('2026-12-07T06:00:02.000Z'), from: '192.0.2.9:1645', reason: 'unknown_client' };

  it('shows a drop as a row: the NAS, or the source address when none is known; no MAC, user, method or attributes', () => {
    expect(dropRow(wrongSecret)).toEqual({ at: '2026-12-07T06:00:01.000Z', outcome: 'drop', reason: 'bad_message_authenticator', nas: 'ap-lobby', mac: '', user: '', method: '', attributes: '' });
    expect(dropRow(stranger).nas).toBe('192.0.2.9:1645');
  });

  it('filters drops: any or drop outcome, the NAS by name or source address, the reason; a MAC filter matches none', () => {
    expect(dropMatches(wrongSecret, {})).toBe(true);
    expect(dropMatches(wrongSecret, { outcome: 'drop' })).toBe(true);
    expect(dropMatches(wrongSecret, { outcome: 'accept' })).toBe(false);
    expect(dropMatches(wrongSecret, { outcome: 'reject' })).toBe(false);
    expect(dropMatches(wrongSecret, { nas: 'ap-lobby' })).toBe(true);
    expect(dropMatches(wrongSecret, { nas: 'ap-floor2' })).toBe(false);
    expect(dropMatches(stranger, { nas: '192.0.2.9' })).toBe(true);
    expect(dropMatches(stranger, { nas: '192.0.2.90' })).toBe(false);
    // An IPv6 source has colons of its own: ::1 is not a prefix of ::1:5.
    const v6: DroppedPacket = { atMs: stranger.atMs, from: '::1:5:1645', reason: 'unknown_client' };
    expect(dropMatches(v6, { nas: '::1' })).toBe(false);
    expect(dropMatches(v6, { nas: '::1:5' })).toBe(true);
    expect(dropMatches(wrongSecret, { reason: 'bad_message_authenticator' })).toBe(true);
    expect(dropMatches(wrongSecret, { reason: 'unknown_client' })).toBe(false);
    expect(dropMatches(wrongSecret, { mac: 'aa:bb:cc:dd:ee:01' as Mac })).toBe(false);
  });

  it('keeps the last `size` drops, newest first, the oldest forgotten first', () => {
    const ring = new RecentDrops(3);
    expect(ring.list()).toEqual([]);
    for (let i = 1; i <= 5; i++) ring.add({ ...wrongSecret, atMs: i });
    expect(ring.list().map((d) => d.atMs)).toEqual([5, 4, 3]);
    // Workers' batches arrive late: listed by time, not by arrival.
    ring.add({ ...wrongSecret, atMs: 0.5 });
    ring.add({ ...wrongSecret, atMs: 6 });
    expect(ring.list().map((d) => d.atMs)).toEqual([6, 5, 0.5]);
    expect(new RecentDrops().size).toBe(RECENT_DROPS);
  });

  it('shows what an accept carried', () => {
    expect(decisionRow(rec({ ...mabAccept, attributes: 'Session-Timeout=3600' }))?.attributes).toBe('Session-Timeout=3600');
    expect(decisionRow(mabReject)?.attributes).toBe('');
  });
});
