import { describe, expect, it } from 'vitest';
import { nextCutoff, secondsUntil } from '../../../src/sessions/daily-cutoff.js';

const BERLIN = 'Europe/Berlin';
const at = (iso: string): Date => new Date(iso);

describe('nextCutoff', () => {
  it('a session started one minute before the cut-off lasts one minute', () => {
    expect(nextCutoff(at('2026-11-23T03:59:00+01:00'), '04:00', BERLIN).toISOString()).toBe('2026-11-23T03:00:00.000Z');
  });

  it('a session started one minute after the cut-off lasts until the next day', () => {
    expect(nextCutoff(at('2026-11-23T04:01:00+01:00'), '04:00', BERLIN).toISOString()).toBe('2026-11-24T03:00:00.000Z');
  });

  it('a session started exactly at the cut-off lasts a whole day', () => {
    expect(nextCutoff(at('2026-11-23T04:00:00+01:00'), '04:00', BERLIN).toISOString()).toBe('2026-11-24T03:00:00.000Z');
  });

  it('spring forward: the night is 23 hours long and the cut-off stays at 04:00 local', () => {
    // 29 March 2026: 02:00 CET jumps to 03:00 CEST.
    const end = nextCutoff(at('2026-03-28T12:00:00+01:00'), '04:00', BERLIN);
    expect(end.toISOString()).toBe('2026-03-29T02:00:00.000Z'); // 04:00 CEST
    expect(secondsUntil(end, at('2026-03-28T04:00:00+01:00'))).toBe(23 * 3600);
  });

  it('fall back: the night is 25 hours long and the cut-off stays at 04:00 local', () => {
    // 25 October 2026: 03:00 CEST falls back to 02:00 CET.
    const start = at('2026-10-24T04:00:00+02:00');
    const end = nextCutoff(start, '04:00', BERLIN);
    expect(end.toISOString()).toBe('2026-10-25T03:00:00.000Z'); // 04:00 CET
    expect(secondsUntil(end, start)).toBe(25 * 3600);
  });

  it('a cut-off inside the spring-forward gap happens when the clocks jump', () => {
    const end = nextCutoff(at('2026-03-29T01:00:00+01:00'), '02:30', BERLIN);
    expect(end.toISOString()).toBe('2026-03-29T01:00:00.000Z'); // 03:00 CEST, the first instant after the gap
  });

  it('a cut-off inside the fall-back hour happens at its first occurrence, once', () => {
    const first = nextCutoff(at('2026-10-25T01:00:00+02:00'), '02:30', BERLIN);
    expect(first.toISOString()).toBe('2026-10-25T00:30:00.000Z'); // 02:30 CEST
    // A session started between the two 02:30s lasts until the next day, not 60 minutes.
    const next = nextCutoff(at('2026-10-25T02:45:00+02:00'), '02:30', BERLIN);
    expect(next.toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });

  it('a cut-off inside a half-hour spring-forward gap happens when the clocks jump (Lord Howe Island)', () => {
    // 4 October 2026: 02:00 LHST (+10:30) jumps to 02:30 LHDT (+11); 02:15 does not exist.
    const end = nextCutoff(at('2026-10-04T00:30:00+10:30'), '02:15', 'Australia/Lord_Howe');
    expect(end.toISOString()).toBe('2026-10-03T15:30:00.000Z');
  });

  it('works across a year boundary and in UTC and in zones with odd offsets', () => {
    expect(nextCutoff(at('2026-12-31T23:59:00Z'), '00:00', 'UTC').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextCutoff(at('2026-11-23T12:00:00Z'), '04:00', 'Asia/Kathmandu').toISOString()).toBe('2026-11-23T22:15:00.000Z');
  });

  it('refuses an unknown time zone', () => {
    expect(() => nextCutoff(at('2026-11-23T12:00:00Z'), '04:00', 'Mars/Olympus')).toThrow(/time zone/);
  });
});

describe('secondsUntil', () => {
  it('is whole seconds, rounded down, never negative', () => {
    expect(secondsUntil(at('2026-01-01T00:01:00.999Z'), at('2026-01-01T00:00:00Z'))).toBe(60);
    expect(secondsUntil(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:05Z'))).toBe(0);
  });
});
