import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/store/migration-verify.js';

describe('canonicalJson', () => {
  it('gives equal text for equal values whatever the order of their keys', () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } };
    const b = { a: { c: null, d: [3, { y: 2, z: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('keeps arrays in their order and scalars as JSON has them', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
    expect(canonicalJson(':x')).toBe('":x"');
    expect(canonicalJson(1.5)).toBe('1.5');
  });
});
