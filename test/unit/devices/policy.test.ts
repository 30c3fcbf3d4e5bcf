import { describe, expect, it } from 'vitest';
import { parseMac, type Mac } from '../../../src/mac.js';
import { compareVersions, DevicePolicy, groupMatches, type EnrollmentPolicySettings } from '../../../src/devices/policy.js';
import { OsTooOldError, PlatformNotAllowedError, RandomisedMacError } from '../../../src/errors.js';
import { ENROLLABLE_PLATFORMS, type Platform } from '../../../src/devices/device.js';

const ALL_PLATFORMS = { ios: true, macos: true, android: true, windows: true, chromeos: true, linux: true };

function policy(over: Partial<EnrollmentPolicySettings> = {}): DevicePolicy {
  return new DevicePolicy({ device_limit: 3, group_limits: [], platforms: ALL_PLATFORMS, min_os_version: {}, randomised_macs: 'refuse', ...over });
}

const user = (...groups: string[]) => ({ username: 'alice', groups });
const mac = (s: string) => parseMac(s) as Mac;

describe('compareVersions', () => {
  it.each([
    ['16.10', '16.9', 1],
    ['16.9', '16.10', -1],
    ['16', '16.0', 0],
    ['16.0.1', '16', 1],
    ['9', '10', -1],
    ['17.5.1', '17.5.1', 0],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });
});

describe('limitFor', () => {
  it('is device_limit for a person in no configured group', () => {
    expect(policy().limitFor(user('wifi-users'))).toBe(3);
  });

  it('takes the most generous of device_limit and the limits of the groups the person is in', () => {
    const p = policy({ group_limits: [{ group: 'staff', limit: 5 }, { group: 'it', limit: 10 }, { group: 'interns', limit: 1 }] });
    expect(p.limitFor(user('staff'))).toBe(5);
    expect(p.limitFor(user('staff', 'IT'))).toBe(10);
    // A group with a smaller limit does not lower device_limit: the most generous wins.
    expect(p.limitFor(user('interns'))).toBe(3);
  });

  it('treats 0 as unlimited, beating any number (in a group or as device_limit)', () => {
    const p = policy({ group_limits: [{ group: 'it', limit: 0 }, { group: 'staff', limit: 50 }] });
    expect(p.limitFor(user('staff', 'it'))).toBe(0);
    expect(policy({ device_limit: 0, group_limits: [{ group: 'staff', limit: 2 }] }).limitFor(user('staff'))).toBe(0);
  });

  it('matches group names case-insensitively, DNs ignoring case and spacing, and a plain name against the first RDN of a DN', () => {
    expect(groupMatches('Wifi-Staff', 'wifi-staff')).toBe(true);
    expect(groupMatches('wifi-staff', 'cn=Wifi-Staff,ou=groups,dc=example,dc=org')).toBe(true);
    expect(groupMatches('cn=wifi-staff, ou=Groups,dc=example,dc=org', 'CN=Wifi-Staff,OU=groups,DC=example,DC=org')).toBe(true);
    expect(groupMatches('cn=wifi-staff,ou=groups,dc=example,dc=org', 'cn=wifi-staff,ou=other,dc=example,dc=org')).toBe(false);
    // Only the first RDN: a plain name never matches an ou or dc further along.
    expect(groupMatches('groups', 'cn=wifi-staff,ou=groups,dc=example,dc=org')).toBe(false);
    expect(groupMatches('staff', 'wifi-staff')).toBe(false);
    // Spaces are dropped around "," and "=" only; a configured DN is compared whole, never with the first RDN's value.
    expect(groupMatches('cn = Wifi-Staff , ou = groups', 'CN=wifi-staff,OU=Groups')).toBe(true);
    expect(groupMatches('wifi staff', 'cn=wifistaff,ou=groups')).toBe(false);
    expect(groupMatches('ou=staff', 'cn=ou=staff,dc=example')).toBe(false);
    expect(groupMatches('staff', 'x,cn=staff')).toBe(false);
    expect(groupMatches('WIFI-STAFF', 'cn=wifi-staff,ou=groups')).toBe(true);
    // Blanks around the whole name, and a blank on one side of "," or "=" only, are dropped too.
    expect(groupMatches('  wifi-staff ', 'cn=wifi-staff,ou=groups')).toBe(true);
    expect(groupMatches('cn=wifi-staff ,ou =groups', 'cn=wifi-staff,ou=groups')).toBe(true);
    const p = policy({ group_limits: [{ group: 'wifi-staff', limit: 7 }] });
    expect(p.limitFor(user('cn=wifi-staff,ou=groups,dc=example,dc=org'))).toBe(7);
  });
});

describe('replace (a reloaded config)', () => {
  it('takes the new settings for every later check, and leaves the old ones behind', () => {
    const p = policy({ device_limit: 3, min_os_version: { ios: '16' } });
    p.replace({ device_limit: 9, group_limits: [], platforms: { ...ALL_PLATFORMS, linux: false }, min_os_version: { ios: '17' }, randomised_macs: 'accept' });
    expect(p.limitFor(user())).toBe(9);
    expect(p.allows('linux')).toBe(false);
    expect(() => p.checkOs('ios', '16.5')).toThrow(OsTooOldError);
    expect(p.checkMac(mac('3e:00:00:00:00:01'), 'ios')).toEqual({ randomised: true });
  });
});

describe('checkOs', () => {
  const p = policy({ min_os_version: { ios: '16.4', android: '10' } });

  it('allows the minimum and newer versions, comparing numerically', () => {
    expect(() => p.checkOs('ios', '16.4')).not.toThrow();
    expect(() => p.checkOs('ios', '16.10')).not.toThrow();
    expect(() => p.checkOs('ios', '17')).not.toThrow();
    expect(() => p.checkOs('android', '14')).not.toThrow();
  });

  it('refuses an older iOS, saying the version found, the version needed and where to update', () => {
    let err: unknown;
    try {
      p.checkOs('ios', '16.3.1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OsTooOldError);
    const e = err as OsTooOldError;
    expect(e.code).toBe('EG_OS_TOO_OLD');
    expect(e.status).toBe(403);
    expect(e.needed).toBe('16.4');
    expect(e.message).toContain('iOS 16.3.1');
    expect(e.message).toContain('iOS 16.4 or later');
    expect(e.message).toContain('Settings → General → Software Update');
  });

  it('refuses an older Android with the Android settings path', () => {
    expect(() => p.checkOs('android', '9')).toThrow(/Android 9; this Wi-Fi needs Android 10 or later.*Settings → System → Software update/);
  });

  it('refuses an unknown version wherever a minimum is set: it never slips past', () => {
    expect(() => p.checkOs('ios', undefined)).toThrow(/^This device did not say which iOS version it runs; this Wi-Fi needs iOS 16\.4 or later\. Open this page in Safari/);
    expect(() => p.checkOs('android', undefined)).toThrow(/did not say which Android version.*Android 10 or later\. This browser does not tell it; ask IT how to enroll this device\.$/);
    expect(() => p.checkOs('android', 'unknown')).toThrow(OsTooOldError);
  });

  it('reads a version with blanks around it, and counts anything but dotted numbers as unknown', () => {
    expect(() => p.checkOs('ios', ' 16.10 ')).not.toThrow();
    expect(() => p.checkOs('ios', ' 16.3 ')).toThrow(/^This device runs iOS 16\.3; this Wi-Fi needs iOS 16\.4 or later\./);
    for (const version of ['beta 17', '17 beta', '17.', '.17', '17..1', '17.x', '']) {
      expect(() => p.checkOs('ios', version), version).toThrow(/^This device did not say which iOS version it runs; this Wi-Fi needs iOS 16\.4 or later\./);
    }
  });

  it('has no minimum for platforms without one, known version or not', () => {
    for (const platform of ['macos', 'windows', 'chromeos', 'linux', 'other'] as const) {
      expect(() => p.checkOs(platform, undefined), platform).not.toThrow();
    }
    expect(() => policy().checkOs('ios', undefined)).not.toThrow();
    expect(() => policy().checkOs('ios', '9')).not.toThrow();
  });
});

describe('checkPlatform (enrollment.platforms)', () => {
  it.each(ENROLLABLE_PLATFORMS.map((p) => [p]))('%s: allowed when its switch is on, refused with EG_PLATFORM_NOT_ALLOWED when off', (platform) => {
    expect(() => policy().checkPlatform(platform)).not.toThrow();
    const off = policy({ platforms: { ...ALL_PLATFORMS, [platform]: false } });
    expect(off.allows(platform)).toBe(false);
    let err: unknown;
    try {
      off.checkPlatform(platform);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlatformNotAllowedError);
    expect((err as PlatformNotAllowedError).code).toBe('EG_PLATFORM_NOT_ALLOWED');
    expect((err as PlatformNotAllowedError).status).toBe(403);
    expect((err as PlatformNotAllowedError).details()).toEqual({ platform });
    // Every other platform stays as it was.
    for (const other of ENROLLABLE_PLATFORMS.filter((p) => p !== platform)) expect(off.allows(other)).toBe(true);
  });

  it('never allows a platform it does not recognise, and names what is open instead', () => {
    expect(policy().allows('other' as Platform)).toBe(false);
    expect(() => policy({ platforms: { ...ALL_PLATFORMS, windows: false, linux: false } }).checkPlatform('other')).toThrow(
      /^This device's system was not recognised, so it cannot be enrolled here\. It is open to: iPhone and iPad, Mac, Android, Chromebook\.$/,
    );
    expect(() => policy({ platforms: { ...ALL_PLATFORMS, windows: false } }).checkPlatform('windows')).toThrow(/^This Wi-Fi is not open to Windows devices\./);
    expect(() => policy({ platforms: { ...ALL_PLATFORMS, linux: false } }).checkPlatform('linux')).toThrow(/^This Wi-Fi is not open to Linux devices\. It is open to: iPhone and iPad, Mac, Android, Windows, Chromebook\.$/);
    // Nothing open at all: no list of what is open instead.
    const none = { ios: false, macos: false, android: false, windows: false, chromeos: false, linux: false };
    expect(() => policy({ platforms: none }).checkPlatform('ios')).toThrow(/^This Wi-Fi is not open to iPhone and iPad devices\.$/);
  });

  it('lists the allowed platforms in a fixed order', () => {
    expect(policy({ platforms: { ios: true, macos: false, android: true, windows: false, chromeos: false, linux: true } }).allowedPlatforms()).toEqual(['ios', 'android', 'linux']);
  });
});

describe('randomised MACs', () => {
  it('recognises the locally administered bit of the first octet', () => {
    const p = policy();
    expect(p.isRandomisedMac(mac('3e:00:00:00:00:01'))).toBe(true);
    expect(p.isRandomisedMac(mac('da:a1:19:00:00:01'))).toBe(true);
    expect(p.isRandomisedMac(mac('3c:00:00:00:00:01'))).toBe(false);
    expect(p.isRandomisedMac(mac('f0:18:98:00:00:01'))).toBe(false);
  });

  it('with refuse: tells iOS and Android how to use the device MAC on this network', () => {
    const p = policy();
    expect(p.checkMac(mac('3c:00:00:00:00:01'), 'ios')).toEqual({ randomised: false });
    expect(() => p.checkMac(mac('3e:00:00:00:00:01'), 'ios')).toThrow(RandomisedMacError);
    expect(() => p.checkMac(mac('3e:00:00:00:00:01'), 'ios')).toThrow(/Settings → Wi-Fi → tap ⓘ next to this network → turn off Private Wi-Fi Address \(iOS 18: set Private Wi-Fi Address to Off\)/);
    expect(() => p.checkMac(mac('3e:00:00:00:00:01'), 'android')).toThrow(/Settings → Network & internet → Internet → tap ⚙ next to this network → Privacy → Use device MAC/);
    expect(() => p.checkMac(mac('3e:00:00:00:00:01'), 'macos')).toThrow(/System Settings → Wi-Fi → Details… next to this network → Private Wi-Fi address → Off \(macOS 15 and later\)\. Then reconnect\.$/);
    expect(() => p.checkMac(mac('3e:00:00:00:00:01'), 'windows')).toThrow(/Settings → Network & internet → Wi-Fi → Manage known networks → this network → Random hardware addresses → Off\. Then reconnect\.$/);
    expect(() => p.checkMac(mac('3e:00:00:00:00:01'), 'other')).toThrow(/private \(randomised\) Wi-Fi address/);
    expect(() => p.checkMac(mac('3e:00:00:00:00:01'), 'other')).toThrow(/Turn off the private \(randomised\) Wi-Fi address for this network in the device's Wi-Fi settings so that it uses its own address, then reconnect\.$/);
  });

  it('with accept: enrolls it, marked as randomised', () => {
    expect(policy({ randomised_macs: 'accept' }).checkMac(mac('3e:00:00:00:00:01'), 'android')).toEqual({ randomised: true });
  });
});
