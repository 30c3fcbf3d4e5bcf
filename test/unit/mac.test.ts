import { describe, expect, it } from 'vitest';
import { isLocallyAdministered, macProblem, parseMac } from '../../src/mac.js';

describe('parseMac', () => {
  it.each([
    'aa:bb:cc:dd:ee:f0',
    'AA:BB:CC:DD:EE:F0',
    'aa-bb-cc-dd-ee-f0',
    'AA-BB-CC-DD-EE-F0',
    'aabb.ccdd.eef0',
    'AABBCCDDEEF0',
    '  aa:bb:cc:dd:ee:f0\n',
    'Aa-bB-cc-DD-ee-F0',
  ])('normalises %j', (input) => {
    expect(parseMac(input)).toBe('aa:bb:cc:dd:ee:f0');
  });

  it.each([
    ['', 'not a MAC'],
    ['aa:bb:cc:dd:ee', 'not a MAC'],
    ['aa:bb:cc:dd:ee:f0:11', 'not a MAC'],
    ['aa:bb-cc:dd:ee:f0', 'not a MAC'],
    ['gg:bb:cc:dd:ee:f0', 'not a MAC'],
    ['aabbccddeef', 'not a MAC'],
    ['aa:bb:cc:dd:ee:f0; DROP TABLE', 'not a MAC'],
    ['alice', 'not a MAC'],
    ['00:00:00:00:00:00', 'all-zero'],
    ['ff:ff:ff:ff:ff:ff', 'broadcast'],
    ['01:00:5e:00:00:01', 'multicast'],
    ['0B-00-5E-00-00-01', 'multicast'],
    ['aa:bb:cc:dd:ee:fg', 'not a MAC'],
    ['aa:bb:cc:dd:ee:f ', 'not a MAC'],
    [' aa:bb:cc:dd:ee:f', 'not a MAC'],
    ['aa-bb-cc-dd-ee:f0', 'not a MAC'],
    ['aa.bb.cc.dd.ee.f0', 'not a MAC'],
  ])('refuses %j', (input, why) => {
    expect(parseMac(input)).toBeNull();
    expect(macProblem(input)).toContain(why);
  });

  it('refuses non-strings', () => {
    expect(parseMac(undefined)).toBeNull();
    expect(parseMac(null)).toBeNull();
  });
});

describe('parseMac against the regular expressions it shortcuts', () => {
  it('agrees on the group bit of every first octet, in every case and separator', () => {
    for (let octet = 0; octet < 256; octet++) {
      const hex = octet.toString(16).padStart(2, '0');
      const group = (octet & 1) === 1;
      for (const input of [`${hex}:bb:cc:dd:ee:f0`, `${hex.toUpperCase()}-BB-CC-DD-EE-F0`, `${hex}bbccddeef0`]) {
        expect(parseMac(input), input).toBe(group ? null : `${hex}:bb:cc:dd:ee:f0`);
      }
    }
  });
});

describe('isLocallyAdministered', () => {
  it('tells randomised (private) addresses from burned-in ones', () => {
    expect(isLocallyAdministered(parseMac('da:a1:19:00:00:01')!)).toBe(true);
    expect(isLocallyAdministered(parseMac('00:1b:63:00:00:01')!)).toBe(false);
  });
});
