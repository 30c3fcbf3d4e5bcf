import { describe, expect, it } from 'vitest';
import { parseDeviceName, withoutRefusedCharacters } from '../../../src/devices/device-name.js';

describe('parseDeviceName', () => {
  it('trims, normalises to NFC, and takes an empty name as none', () => {
    expect(parseDeviceName('  Work phone ')).toEqual({ name: 'Work phone' });
    expect(parseDeviceName('Cafe\u0301')).toEqual({ name: 'Café' });
    expect(parseDeviceName('   ')).toEqual({ name: undefined });
    expect(parseDeviceName('')).toEqual({ name: undefined });
  });

  it('allows 40 characters, counted as characters (an emoji is one), and refuses 41', () => {
    expect(parseDeviceName('x'.repeat(40))).toEqual({ name: 'x'.repeat(40) });
    expect(parseDeviceName('📱'.repeat(40))).toEqual({ name: '📱'.repeat(40) });
    expect(parseDeviceName(` ${'x'.repeat(40)} `)).toEqual({ name: 'x'.repeat(40) });
    expect(parseDeviceName('x'.repeat(41))).toEqual({ problem: 'A name can have at most 40 characters.', reason: 'too_long' });
  });

  it.each([
    ['a line break', 'Work\nphone'],
    ['a tab', 'Work\tphone'],
    ['NUL', 'Work\u0000'],
    ['DEL', 'Work\u007f'],
    ['a C1 control', 'Work\u0085'],
    ['a bidirectional override', 'Work \u202ephone'],
    ['a bidirectional isolate', 'Work \u2066phone'],
  ])('refuses %s', (_, typed) => {
    expect(parseDeviceName(typed)).toEqual({ problem: 'A name cannot contain line breaks, tabs or other control characters.', reason: 'control' });
  });

  it('refuses what is not text', () => {
    expect(parseDeviceName(undefined)).toEqual({ problem: 'Type a name for the device.', reason: 'missing' });
    expect(parseDeviceName(['a', 'b'])).toEqual({ problem: 'Type a name for the device.', reason: 'missing' });
  });

  it('shows a refused name back with each refused character a space', () => {
    expect(withoutRefusedCharacters('Work\n\u202ephone')).toBe('Work  phone');
  });
});
