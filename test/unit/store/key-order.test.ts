import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../../src/store/key-order.js';

describe('compareKeys', () => {
  it('orders keys by their UTF-8 bytes, as SQLite’s primary key does', () => {
    const keys = ['b', 'a', 'zz-\u{1F600}', 'zz-\uFFFD', 'zz-\uE000', 'müller', 'mueller', '', 'a\u0000', '3c:a0:00:00:01:00', '3c:a0:00:00:00:ff'];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
    // Where JavaScript's own order differs: an emoji (a surrogate pair) sorts after U+FFFD.
    expect([...keys].sort()).not.toEqual(byBytes);
  });

  it('is 0 only for equal keys; a prefix comes first', () => {
    expect(compareKeys('abc', 'abc')).toBe(0);
    expect(compareKeys('ab', 'abc')).toBeLessThan(0);
    expect(compareKeys('\u{1F600}a', '\u{1F600}b')).toBeLessThan(0);
  });
});
