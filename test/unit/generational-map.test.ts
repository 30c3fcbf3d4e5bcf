import { describe, expect, it } from 'vitest';
import { GenerationalMap } from '../../src/generational-map.js';

describe('GenerationalMap', () => {
  it('keeps at most maxEntries, the most recently set surviving', () => {
    const m = new GenerationalMap<number, number>(100);
    for (let i = 0; i < 1000; i++) m.set(i, i);
    expect(m.size).toBeLessThanOrEqual(100);
    expect(m.get(999)).toBe(999);
    expect(m.get(950)).toBe(950);
    expect(m.get(0)).toBeUndefined();
  });

  it('an entry set again moves to the newer generation and outlives its old one', () => {
    const m = new GenerationalMap<string, number>(4);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3); // rotates: a, b are the older generation
    m.set('a', 4); // a moves to the newer one
    m.set('d', 5); // rotates again: b goes
    expect(m.get('a')).toBe(4);
    expect(m.get('b')).toBeUndefined();
    expect(m.delete('a')).toBe(true);
    expect(m.get('a')).toBeUndefined();
  });

  it('newer() finds only what the newer generation holds', () => {
    const m = new GenerationalMap<string, { n: number }>(4);
    m.set('a', { n: 1 });
    expect(m.newer('a')).toEqual({ n: 1 });
    m.set('b', { n: 2 });
    m.set('c', { n: 3 }); // rotates: a, b are the older generation
    expect(m.newer('a')).toBeUndefined();
    expect(m.get('a')).toEqual({ n: 1 });
    expect(m.newer('c')).toEqual({ n: 3 });
  });

  it('with maxAgeMs, retires a generation once it is that old', () => {
    const m = new GenerationalMap<string, number>(1000, 30_000, 0);
    m.set('old', 1, 0);
    m.set('x', 2, 30_000); // the first generation is 30 s old: it becomes the older one
    expect(m.get('old')).toBe(1);
    m.set('y', 3, 60_000); // and is dropped at the next rotation
    expect(m.get('old')).toBeUndefined();
    expect(m.get('x')).toBe(2);
  });
});
