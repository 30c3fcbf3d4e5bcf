import { describe, expect, it } from 'vitest';
import { earlierAddressOf } from '../../../src/devices/address-change.js';
import type { Device } from '../../../src/devices/device.js';
import { parseMac, type Mac } from '../../../src/mac.js';

const mac = (s: string) => parseMac(s) as Mac;
const device = (m: string, over: Partial<Device> = {}): Device => ({ mac: mac(m), owner: 'alice', platform: 'ios', model: 'iPhone', enrolledAt: '2026-03-01T08:00:00.000Z', ...over });

describe('earlierAddressOf: a device that seems to be an earlier enrollment under a new private address', () => {
  const oldIphone = device('3e:00:00:00:00:01');

  it('a new private address with an earlier private one of the same platform and model', () => {
    expect(earlierAddressOf({ mac: mac('5a:00:00:00:00:02'), platform: 'ios', model: 'iPhone' }, [oldIphone])).toBe(oldIphone);
  });

  it('the most recent of several, and only ones enrolled before it when it is enrolled', () => {
    const later = device('3e:00:00:00:00:03', { enrolledAt: '2026-03-05T08:00:00.000Z' });
    expect(earlierAddressOf({ mac: mac('5a:00:00:00:00:02'), platform: 'ios', model: 'iPhone' }, [later, oldIphone])).toBe(later);
    expect(earlierAddressOf({ mac: mac('5a:00:00:00:00:02'), platform: 'ios', model: 'iPhone', enrolledAt: '2026-03-02T08:00:00.000Z' }, [later, oldIphone])).toBe(oldIphone);
  });

  it.each([
    ['the new address is the device MAC', { mac: mac('3c:00:00:00:00:02'), platform: 'ios' as const, model: 'iPhone' }, [oldIphone]],
    ['the earlier one used its device MAC', { mac: mac('5a:00:00:00:00:02'), platform: 'ios' as const, model: 'iPhone' }, [device('3c:00:00:00:00:01')]],
    ['another model', { mac: mac('5a:00:00:00:00:02'), platform: 'ios' as const, model: 'iPad' }, [oldIphone]],
    ['another platform', { mac: mac('5a:00:00:00:00:02'), platform: 'android' as const, model: 'iPhone' }, [oldIphone]],
    ['no model known (Chrome on Android names none)', { mac: mac('5a:00:00:00:00:02'), platform: 'android' as const }, [device('3e:00:00:00:00:01', { platform: 'android', model: undefined })]],
    ['the same enrollment', { mac: oldIphone.mac, platform: 'ios' as const, model: 'iPhone' }, [oldIphone]],
    ['enrolled after it', { mac: mac('5a:00:00:00:00:02'), platform: 'ios' as const, model: 'iPhone', enrolledAt: '2026-02-01T08:00:00.000Z' }, [oldIphone]],
  ])('none when %s', (_, current, owned) => {
    expect(earlierAddressOf(current, owned)).toBeUndefined();
  });
});
