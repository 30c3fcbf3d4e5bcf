import type Keyv from 'keyv';
import { DeviceOwnedByOtherError } from '../errors.js';
import { storeCall } from '../store/state-store.js';
import type { Device } from './device.js';
import type { Mac } from './mac.js';

/** Enrolled devices by MAC. */
export class DeviceRegistry {
  constructor(private readonly kv: Keyv) {}

  /** The enrolled device with this MAC, if any. */
  async get(mac: Mac): Promise<Device | undefined> {
    return storeCall('read a device', () => this.kv.get<Device>(mac));
  }

  /**
   * Records the device as enrolled by its owner. Enrolling again by the same owner
   * refreshes the record (keeping the first enrolment time); a device enrolled to
   * somebody else is refused, never silently taken over.
   */
  async enroll(device: Device): Promise<Device> {
    const existing = await this.get(device.mac);
    if (existing && !sameUser(existing.owner, device.owner)) throw new DeviceOwnedByOtherError();
    const record: Device = existing ? { ...device, enrolledAt: existing.enrolledAt } : device;
    await storeCall('write a device', () => this.kv.set(device.mac, record));
    return record;
  }

  /** Removes the device; true when it was enrolled. */
  async unenroll(mac: Mac): Promise<boolean> {
    return storeCall('delete a device', () => this.kv.delete(mac));
  }
}

/** Directory usernames compare case-insensitively (LDAP uid and sAMAccountName do). */
export function sameUser(a: string, b: string): boolean {
  return a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;
}
