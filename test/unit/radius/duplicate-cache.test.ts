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

  it('expires answers after the window', () => {
    const cache = new MemoryDuplicateCache(30_000);
    cache.begin(key, 0);
    cache.finish(key, Buffer.from('a'));
    expect(cache.begin(key, 29_999).kind).toBe('answered');
    expect(cache.begin(key, 30_000)).toEqual({ kind: 'new' });
  });

  it('stays bounded: the oldest entries go first', () => {
    const cache = new MemoryDuplicateCache(30_000, 100);
    for (let i = 0; i < 1000; i++) cache.begin(duplicateKey('auth', '10.0.0.1', 1, i % 256, Buffer.alloc(16, i >> 8)), i);
    expect(cache.size).toBe(100);
  });
});
