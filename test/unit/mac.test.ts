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

  it.each([
    // Blanks around any form; the Cisco and the bare forms in either case.
    ['\taa-bb-cc-dd-ee-f0 ', 'aa:bb:cc:dd:ee:f0'],
    [' AA:BB:CC:DD:EE:F0', 'aa:bb:cc:dd:ee:f0'],
    [' 0a1b.2c3d.4e5f ', '0a:1b:2c:3d:4e:5f'],
    [' 0A1B2C3D4E5F ', '0a:1b:2c:3d:4e:5f'],
    ['0a1b.2C3D.4e5f', '0a:1b:2c:3d:4e:5f'],
    ['0023456789ab', '00:23:45:67:89:ab'],
  ])('normalises %j to %s', (input, mac) => {
    expect(parseMac(input)).toBe(mac);
  });

  it.each([
    // Each character just outside 0-9, A-F and a-f, in a hex position of each form.
    ...['/', ':', '@', 'G', '`', 'g'].flatMap((c) => [`aa:bb:cc:dd:ee:f${c}`, `aa-bb-cc-dd-ee-${c}0`, ` aa:bb:cc:dd:ee:${c}0`, `aabb.ccdd.eef${c}`, `aabbccddeef${c}`]),
    // Something before or after each form.
    'xaa:bb:cc:dd:ee:f0',
    'aa:bb:cc:dd:ee:f0x',
    'x aa-bb-cc-dd-ee-f0',
    'xaabb.ccdd.eef0',
    'aabb.ccdd.eef0x',
    'xaabbccddeef0',
    'aabbccddeef0x',
    // A pair or a group one digit short, the length made up elsewhere.
    'aaa:bb:cc:dd:ee:f',
    'aab:b:cc:dd:ee:f0 ',
    'aabbc.cdd.eef0',
    'aabb.ccddee.f0',
    'a:bb:cc:dd:ee:f00',
    // Separators not where six pairs have them.
    'aa:bb:cc:dd:eef:0',
    'aa:bb:cc:dd:ee-f0',
    'aa_bb_cc_dd_ee_f0',
    // Digits only but for one character past the hex letters, and six pairs of no hex at all.
    '00:11:22:33:44:5G',
    '00:11:22:33:44:5g',
    '00-11-22-33-44-5`',
    'gg:gg:gg:gg:gg:gg',
  ])('refuses %j', (input) => {
    expect(parseMac(input)).toBeNull();
    expect(macProblem(input)).toContain('not a MAC');
  });

  it('refuses non-strings', () => {
    expect(parseMac(undefined)).toBeNull();
    expect(parseMac(null)).toBeNull();
  });
});

describe('parseMac: the group bit', () => {
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
    expect(isLocallyAdministered(parseMac('02:00:00:00:00:01')!)).toBe(true);
    expect(isLocallyAdministered(parseMac('fc:ff:ff:ff:ff:ff')!)).toBe(false);
  });
});
