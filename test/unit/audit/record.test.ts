import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIT_FILE, eventMembers, fileFor, GENESIS, headHmac, HEAD_FILE, isoTime, lineHash, openRecord, sealMembers } from '../../../src/audit/record.js';
import { outcomeOf, type AuditEvent } from '../../../src/audit/events.js';

/** The audit trail's line format (record.ts): what the writer seals and the checker opens. */
const KEY = Buffer.from('an audit key of at least 32 characters!!');
const AT = new Date('2026-11-26T08:15:04.120Z');
const MEMBERS = '"type":"device.blocked","mac":"3c:a0:00:00:00:01","by":"admin","reason":"lost","outcome":"success"';
/** SHA-256 of "abc" (FIPS 180-2, appendix B.1). */
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('the audit line format', () => {
  it('names the chain start, the daily files and the checkpoint', () => {
    expect(GENESIS).toBe('0000000000000000000000000000000000000000000000000000000000000000');
    expect(HEAD_FILE).toBe('audit-head.json');
    expect(AUDIT_FILE.exec('audit-2026-11-26.jsonl')?.[1]).toBe('2026-11-26');
    for (const name of ['audit-2026-11-26.jsonl.tmp', 'x-audit-2026-11-26.jsonl', 'audit-2026-11-6.jsonl', 'audit-head.json']) expect(AUDIT_FILE.test(name)).toBe(false);
  });

  it('files a record by its UTC date', () => {
    expect(fileFor(new Date('2026-11-25T23:59:59.999Z'))).toBe('audit-2026-11-25.jsonl');
    expect(fileFor(new Date('2026-11-26T00:00:00.000Z'))).toBe('audit-2026-11-26.jsonl');
  });

  it('stamps times as ISO text, also when asked again for the same or another millisecond', () => {
    expect(isoTime(AT)).toBe('2026-11-26T08:15:04.120Z');
    expect(isoTime(new Date(AT.getTime()))).toBe('2026-11-26T08:15:04.120Z');
    expect(isoTime(new Date(AT.getTime() + 1))).toBe('2026-11-26T08:15:04.121Z');
    expect(isoTime(AT)).toBe('2026-11-26T08:15:04.120Z');
  });

  it('hashes a line as SHA-256 hex, the same from a string or its bytes', () => {
    expect(lineHash('abc')).toBe(SHA256_ABC);
    expect(lineHash(Buffer.from('abc'))).toBe(SHA256_ABC);
  });

  it("writes an event's members, type first, with its outcome", () => {
    expect(eventMembers({ type: 'device.blocked', mac: '3c:a0:00:00:00:01', by: 'admin', reason: 'lost' })).toBe(MEMBERS);
    expect(eventMembers({ type: 'login.failed', user: 'bob', code: 'EG_INVALID_CREDENTIALS' })).toBe('"type":"login.failed","user":"bob","code":"EG_INVALID_CREDENTIALS","outcome":"failure"');
  });

  it('seals members into a line chained to prev, without a key', () => {
    expect(sealMembers(MEMBERS, { seq: 42, at: AT, prev: GENESIS })).toBe(`{"seq":42,"at":"2026-11-26T08:15:04.120Z",${MEMBERS},"prev":"${GENESIS}"}`);
  });

  it('seals with the key: HMAC-SHA256 of the line as it reads without the hmac member', () => {
    const body = `{"seq":1,"at":"2026-11-26T08:15:04.120Z",${MEMBERS},"prev":"${GENESIS}"}`;
    const mac = createHmac('sha256', KEY).update(body).digest('hex');
    expect(sealMembers(MEMBERS, { seq: 1, at: AT, prev: GENESIS }, KEY)).toBe(`${body.slice(0, -1)},"hmac":"${mac}"}`);
  });

  it("binds a checkpoint's seq and hash in its HMAC", () => {
    expect(headHmac(7, SHA256_ABC, KEY)).toBe(createHmac('sha256', KEY).update(`7:${SHA256_ABC}`).digest('hex'));
    expect(headHmac(7, SHA256_ABC, KEY)).not.toBe(headHmac(8, SHA256_ABC, KEY));
  });
});

describe('openRecord', () => {
  const line = sealMembers(MEMBERS, { seq: 3, at: AT, prev: SHA256_ABC });
  const sealed = sealMembers(MEMBERS, { seq: 3, at: AT, prev: SHA256_ABC }, KEY);

  it('reads a record back', () => {
    expect(openRecord(line)).toEqual({
      record: { seq: 3, at: '2026-11-26T08:15:04.120Z', type: 'device.blocked', mac: '3c:a0:00:00:00:01', by: 'admin', reason: 'lost', outcome: 'success', prev: SHA256_ABC },
    });
  });

  it('reads a sealed record back with its key, and without a key (the HMAC is then not checked)', () => {
    expect(openRecord(sealed, KEY)).toMatchObject({ record: { seq: 3, type: 'device.blocked', prev: SHA256_ABC } });
    expect(openRecord(sealed)).toMatchObject({ record: { seq: 3 } });
  });

  it('refuses a line without an HMAC when the key is configured', () => {
    expect(openRecord(line, KEY)).toEqual({ problem: 'has no HMAC (the audit key is configured)' });
    // An hmac member that is not the last, or not 64 hex digits, is no HMAC.
    expect(openRecord(sealed.replace(/"\}$/, '","x":1}'), KEY)).toEqual({ problem: 'has no HMAC (the audit key is configured)' });
    expect(openRecord(sealed.replace(/"hmac":"[0-9a-f]/, '"hmac":"'), KEY)).toEqual({ problem: 'has no HMAC (the audit key is configured)' });
    // Anything after the closing brace, even a blank, and the HMAC is not the line's end.
    expect(openRecord(`${sealed} `, KEY)).toEqual({ problem: 'has no HMAC (the audit key is configured)' });
  });

  it('refuses a wrong HMAC: another key, or the line changed after it was sealed', () => {
    expect(openRecord(sealed, Buffer.from('another key of at least 32 characters!!!'))).toEqual({ problem: 'has a wrong HMAC' });
    expect(openRecord(sealed.replace('"lost"', '"stolen"'), KEY)).toEqual({ problem: 'has a wrong HMAC' });
  });

  it('refuses a line that is not JSON', () => {
    expect(openRecord('{"seq":1,')).toEqual({ problem: 'is not a JSON record' });
    expect(openRecord('')).toEqual({ problem: 'is not a JSON record' });
  });

  it.each([
    ['null', 'null'],
    ['a number', '7'],
    ['no seq', `{"at":"x","type":"t","prev":"${GENESIS}"}`],
    ['seq 0', `{"seq":0,"at":"x","type":"t","prev":"${GENESIS}"}`],
    ['seq 1.5', `{"seq":1.5,"at":"x","type":"t","prev":"${GENESIS}"}`],
    ['seq as text', `{"seq":"1","at":"x","type":"t","prev":"${GENESIS}"}`],
    ['at as a number', `{"seq":1,"at":1,"type":"t","prev":"${GENESIS}"}`],
    ['no type', `{"seq":1,"at":"x","prev":"${GENESIS}"}`],
    ['no prev', `{"seq":1,"at":"x","type":"t"}`],
    ['prev as a number', `{"seq":1,"at":"x","type":"t","prev":0}`],
    ['prev as a list holding a hash', `{"seq":1,"at":"x","type":"t","prev":["${GENESIS}"]}`],
    ['prev of 63 hex digits', `{"seq":1,"at":"x","type":"t","prev":"${GENESIS.slice(1)}"}`],
    ['prev with a 65th hex digit', `{"seq":1,"at":"x","type":"t","prev":"${GENESIS}0"}`],
    ['prev in capitals', `{"seq":1,"at":"x","type":"t","prev":"${SHA256_ABC.toUpperCase()}"}`],
  ])('refuses a record with %s', (_name, text) => {
    expect(openRecord(text)).toEqual({ problem: 'lacks the chain fields (seq, at, type, prev)' });
  });

  it('takes seq 1, the first record', () => {
    expect(openRecord(`{"seq":1,"at":"x","type":"t","prev":"${GENESIS}"}`)).toEqual({ record: { seq: 1, at: 'x', type: 't', prev: GENESIS } });
  });
});

describe('eventMembers of RADIUS answers', () => {
  /** What eventMembers gives for any event: the object's JSON members, then its outcome. */
  const generic = (event: AuditEvent) => `${JSON.stringify(event).slice(1, -1)},"outcome":"${outcomeOf(event)}"`;
  const awkward = ['plain', '', 'quote " and backslash \\', 'line\nbreak\ttab\u0001', 'ünïcödé 🙂', '\u2028\u2029', 'lone \ud800 surrogate'];

  it('is the text JSON.stringify gives for the object audit-records.ts builds, for awkward values and absent members', () => {
    let checked = 0;
    for (const nas of awkward) {
      for (const text of awkward) {
        for (const absent of [undefined, text]) {
          const events: AuditEvent[] = [
            { type: 'radius.accepted', nas, mac: absent, user: absent, reason: text, attributes: absent },
            { type: 'radius.accepted', nas, mac: 'aa:bb:cc:dd:ee:ff', user: text, reason: absent, attributes: text },
            { type: 'radius.rejected', nas, mac: absent, reason: text },
          ];
          for (const event of events) {
            // Twice: the second from the remembered pieces.
            expect(eventMembers(event)).toBe(generic(event));
            expect(eventMembers(event)).toBe(generic(event));
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(awkward.length * awkward.length * 2 * 3);
  });
});
