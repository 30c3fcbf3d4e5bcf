import { describe, expect, it } from 'vitest';
import { TlsSessionCache } from '../../../../src/radius/eap/session-cache.js';

/** Drives the cache the way Node's TLSSocket does: through its "server"'s events. */
function store(cache: TlsSessionCache, id: string, data: string): void {
  let done = false;
  cache.server.emit('newSession', Buffer.from(id), Buffer.from(data), () => (done = true));
  expect(done).toBe(true);
}

function resume(cache: TlsSessionCache, id: string): string | null {
  let got: Buffer | null | undefined;
  cache.server.emit('resumeSession', Buffer.from(id), (err: Error | null, data: Buffer | null) => {
    expect(err).toBeNull();
    got = data;
  });
  if (got === undefined) throw new Error('resumeSession did not answer');
  return got === null ? null : got.toString();
}

describe('TlsSessionCache', () => {
  it('gives back a stored session by its ID, and nothing for an unknown one', () => {
    const cache = new TlsSessionCache({ maxSessions: 10, lifetimeMs: 60_000 });
    store(cache, 'id-1', 'session-1');
    expect(resume(cache, 'id-1')).toBe('session-1');
    expect(resume(cache, 'id-2')).toBeNull();
  });

  it('forgets a session past its lifetime', () => {
    const clock = { ms: 0 };
    const cache = new TlsSessionCache({ maxSessions: 10, lifetimeMs: 1000, now: () => clock.ms });
    store(cache, 'old', 'a');
    clock.ms = 999;
    expect(resume(cache, 'old')).toBe('a');
    clock.ms = 1000;
    expect(resume(cache, 'old')).toBeNull();
    expect(cache.size).toBe(0);
  });

  it('keeps at most maxSessions, dropping the oldest', () => {
    const cache = new TlsSessionCache({ maxSessions: 3, lifetimeMs: 60_000 });
    for (const id of ['a', 'b', 'c', 'd']) store(cache, id, id.toUpperCase());
    expect(cache.size).toBe(3);
    expect(resume(cache, 'a')).toBeNull();
    expect(resume(cache, 'd')).toBe('D');
  });
});
