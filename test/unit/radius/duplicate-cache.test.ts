import { describe, expect, it } from 'vitest';
import { duplicateKey, MemoryDuplicateCache } from '../../../src/radius/duplicate-cache.js';

const key = duplicateKey('auth', '10.0.0.1', 4000, 7, Buffer.alloc(16, 1));

describe('MemoryDuplicateCache (RFC 5080 §2.2.2)', () => {
  it('marks a new request in progress, then answers its retransmission with the same bytes', () => {
    const cache = new MemoryDuplicateCache(30_000);
    expect(cache.begin(key, 0)).toEqual({ kind: 'new' });
    expect(cache.begin(key, 10)).toEqual({ kind: 'in_progress' });
    cache.finish(key, Buffer.from('answer'));
    expect(cache.begin(key, 20)).toEqual({ kind: 'answered', response: Buffer.from('answer') });
  });

  it('forgets a request that got no answer, so the retry is worked on afresh', () => {
    const cache = new MemoryDuplicateCache(30_000);
    cache.begin(key, 0);
    cache.finish(key, undefined);
    expect(cache.begin(key, 10)).toEqual({ kind: 'new' });
  });

  it('treats the same identifier and authenticator from another port, address or listener as a new request', () => {
    const cache = new MemoryDuplicateCache(30_000);
    cache.begin(key, 0);
    cache.finish(key, Buffer.from('a'));
    for (const other of [
      duplicateKey('acct', '10.0.0.1', 4000, 7, Buffer.alloc(16, 1)),
      duplicateKey('auth', '10.0.0.2', 4000, 7, Buffer.alloc(16, 1)),
      duplicateKey('auth', '10.0.0.1', 4001, 7, Buffer.alloc(16, 1)),
      duplicateKey('auth', '10.0.0.1', 4000, 8, Buffer.alloc(16, 1)),
      duplicateKey('auth', '10.0.0.1', 4000, 7, Buffer.alloc(16, 2)),
    ]) {
      expect(cache.begin(other, 1)).toEqual({ kind: 'new' });
    }
  });

  it('tells apart keys of one set that differ in any single octet, the last one too', () => {
    // One set of four ways: every key below is compared with the others.
    const cache = new MemoryDuplicateCache(30_000, 4);
    const authenticator = Buffer.alloc(16, 1);
    cache.begin(duplicateKey('auth', '10.0.0.1', 4000, 7, authenticator), 0);
    cache.finish(duplicateKey('auth', '10.0.0.1', 4000, 7, authenticator), Buffer.from('a'));
    for (const octet of [0, 7, 15]) {
      const other = Buffer.from(authenticator);
      other[octet] = 2;
      expect(cache.begin(duplicateKey('auth', '10.0.0.1', 4000, 7, other), 1), `octet ${octet}`).toEqual({ kind: 'new' });
      cache.finish(duplicateKey('auth', '10.0.0.1', 4000, 7, other), undefined);
    }
    expect(cache.begin(duplicateKey('auth', '10.0.0.1', 4000, 7, authenticator), 2)).toEqual({ kind: 'answered', response: Buffer.from('a') });
  });

  it('expires answers after the window', () => {
    const cache = new MemoryDuplicateCache(30_000);
    cache.begin(key, 0);
    cache.finish(key, Buffer.from('a'));
    expect(cache.begin(key, 29_999).kind).toBe('answered');
    expect(cache.begin(key, 30_000)).toEqual({ kind: 'new' });
  });

  it('stays bounded: a full set gives up its oldest entry', () => {
    const cache = new MemoryDuplicateCache(30_000, 100);
    const keyOf = (i: number) => duplicateKey('auth', '10.0.0.1', 1, i % 256, Buffer.alloc(16, i >> 8));
    for (let i = 0; i < 1000; i++) {
      cache.begin(keyOf(i), i);
      cache.finish(keyOf(i), Buffer.from(`answer ${i}`));
    }
    // 16 sets of 4 slots: the largest table within 100 entries.
    expect(cache.size).toBe(64);
    expect(cache.begin(keyOf(999), 1000)).toEqual({ kind: 'answered', response: Buffer.from('answer 999') });
    expect(cache.begin(keyOf(0), 1000)).toEqual({ kind: 'new' });
  });

  it('never answers one request with another request\'s answer, across 20,000 requests in a small table', () => {
    const cache = new MemoryDuplicateCache(30_000, 1000);
    const keyOf = (i: number) => duplicateKey(i % 2 ? 'auth' : 'acct', `10.0.${(i >> 8) & 255}.${i & 255}`, 1000 + (i % 7), i % 256, Buffer.alloc(16, i % 251));
    const answered = { again: 0, forgotten: 0 };
    for (let i = 0; i < 20_000; i++) {
      const seen = cache.begin(keyOf(i), i);
      if (seen.kind === 'answered') expect(seen.response.toString()).toBe(`answer ${i}`);
      else cache.finish(keyOf(i), Buffer.from(`answer ${i}`));
      // A retransmission of a recent request, when still remembered, gets exactly its answer.
      const back = i - (i % 13);
      const again = cache.begin(keyOf(back), i);
      if (again.kind === 'answered') {
        expect(again.response.toString()).toBe(`answer ${back}`);
        if (back !== i) answered.again++;
      } else if (again.kind === 'new') {
        answered.forgotten++;
        cache.finish(keyOf(back), Buffer.from(`answer ${back}`));
      }
    }
    // The checks above ran: most retransmissions of a request at most 12 back were answered from the table.
    expect(answered.again).toBeGreaterThan(15_000);
  });

  it('finishes the right request when others were begun in between, also when one of them took its slot', () => {
    // One set of 4 slots: the fifth request in the same millisecond takes the first one's slot.
    const cache = new MemoryDuplicateCache(30_000, 8);
    const keys = [1, 2, 3, 4, 5].map((i) => duplicateKey('auth', '10.0.0.1', 4000 + i, i, Buffer.alloc(16, i)));
    for (const k of keys.slice(0, 4)) expect(cache.begin(k, 0)).toEqual({ kind: 'new' });
    cache.finish(keys[1]!, Buffer.from('answer 2'));
    expect(cache.begin(keys[4]!, 0)).toEqual({ kind: 'new' });
    // The first request's slot is now the fifth's: its answer must not land there.
    cache.finish(keys[0]!, Buffer.from('answer 1'));
    expect(cache.begin(keys[4]!, 1)).toEqual({ kind: 'in_progress' });
    cache.finish(keys[4]!, Buffer.from('answer 5'));
    cache.finish(keys[2]!, Buffer.from('answer 3'));
    expect(cache.begin(keys[1]!, 2)).toEqual({ kind: 'answered', response: Buffer.from('answer 2') });
    expect(cache.begin(keys[2]!, 2)).toEqual({ kind: 'answered', response: Buffer.from('answer 3') });
    expect(cache.begin(keys[4]!, 2)).toEqual({ kind: 'answered', response: Buffer.from('answer 5') });
    expect(cache.begin(keys[3]!, 2)).toEqual({ kind: 'in_progress' });
  });

  it('an expired slot is reused, and its old answer is never given', () => {
    const cache = new MemoryDuplicateCache(1000, 8);
    const keys = Array.from({ length: 8 }, (_, i) => duplicateKey('auth', '10.0.0.1', 1, i, Buffer.alloc(16, 3)));
    for (const k of keys) {
      cache.begin(k, 0);
      cache.finish(k, Buffer.from('old'));
    }
    expect(cache.begin(keys[0]!, 1000)).toEqual({ kind: 'new' });
    cache.finish(keys[0]!, Buffer.from('new'));
    expect(cache.begin(keys[0]!, 1500)).toEqual({ kind: 'answered', response: Buffer.from('new') });
  });

  it('keeps answers too long for a slot (a long redirect URL), and keys too long for one (a scoped IPv6 address), beside the table', () => {
    const cache = new MemoryDuplicateCache(30_000);
    const long = Buffer.alloc(1200, 0x61);
    cache.begin(key, 0);
    cache.finish(key, long);
    expect(cache.begin(key, 10)).toEqual({ kind: 'answered', response: long });
    const v6 = duplicateKey('auth', 'fe80:1234:5678:9abc:def0:1234:5678:9abc%enp0s31f6', 65000, 1, Buffer.alloc(16, 9));
    expect(v6.length).toBeGreaterThan(64);
    expect(cache.begin(v6, 0)).toEqual({ kind: 'new' });
    expect(cache.begin(v6, 1)).toEqual({ kind: 'in_progress' });
    cache.finish(v6, Buffer.from('v6 answer'));
    expect(cache.begin(v6, 2)).toEqual({ kind: 'answered', response: Buffer.from('v6 answer') });
    expect(cache.begin(v6, 30_000)).toEqual({ kind: 'new' });
  });

  it('holds every request outside the JS heap: the table is one Buffer of its full size from the start', () => {
    const before = process.memoryUsage().arrayBuffers;
    const cache = new MemoryDuplicateCache(30_000, 65_536);
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(65_536 * 256);
    expect(cache.size).toBe(0);
  });
});
