import { createHmac } from 'node:crypto';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import type { WifiConfig } from '../../../src/config/load.js';
import { buildEnrollmentProfile } from '../../../src/profiles/apple-profile.js';
import { derivedUuid, uuidKeyFromCaKey } from '../../../src/profiles/payload-uuid.js';

const KEY = Buffer.alloc(32, 7);
const UUID_V4 = /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/;

describe('derivedUuid', () => {
  it('is HMAC-SHA256 cut to 128 bits with the version 4 and RFC 9562 variant bits set', () => {
    const name = 'a8:5b:78:12:34:56/wifi/Staff';
    const uuid = derivedUuid(KEY, name);
    expect(uuid).toMatch(UUID_V4);
    const mac = createHmac('sha256', KEY).update(name).digest();
    const hex = uuid.replaceAll('-', '').toLowerCase();
    // Every bit but the six fixed ones comes from the HMAC.
    expect(hex.slice(0, 12)).toBe(mac.subarray(0, 6).toString('hex'));
    expect(hex.slice(13, 16)).toBe(mac.subarray(6, 8).toString('hex').slice(1));
    expect(Number.parseInt(hex.slice(16, 18), 16) & 0x3f).toBe(mac.readUInt8(8) & 0x3f);
    expect(hex.slice(18)).toBe(mac.subarray(9, 16).toString('hex'));
  });

  it('is the same for the same key and name, and differs when either changes', () => {
    expect(derivedUuid(KEY, 'x')).toBe(derivedUuid(Buffer.from(KEY), 'x'));
    expect(derivedUuid(KEY, 'x')).not.toBe(derivedUuid(KEY, 'y'));
    expect(derivedUuid(KEY, 'x')).not.toBe(derivedUuid(Buffer.alloc(32, 8), 'x'));
  });

  it('derives a 32-byte key from the CA key, the same each time', () => {
    const key = uuidKeyFromCaKey(Buffer.from('a CA key in DER'));
    expect(key).toHaveLength(32);
    expect(key.equals(uuidKeyFromCaKey(Buffer.from('a CA key in DER')))).toBe(true);
    expect(key.equals(uuidKeyFromCaKey(Buffer.from('another CA key')))).toBe(false);
  });
});

describe('buildEnrollmentProfile', () => {
  const base = {
    mac: 'A8-5B-78-12-34-56',
    user: 'alice',
    caDer: Buffer.from([0x30, 0x00]),
    identifier: 'org.example.wifi',
    organisation: 'Example & Co <Wi-Fi>',
    uuidKey: KEY,
  };
  const open = (ssid: string): WifiConfig => ({ ssid, security: 'open', hidden: false, auto_join: true, ttls_inner: 'mschapv2' });

  it('escapes text (the plist parses back to the same strings)', () => {
    const xml = buildEnrollmentProfile({ ...base, wifi: [open('Café & <Guests>')] });
    const profile = parse(xml) as { PayloadOrganization: string; PayloadContent: Array<{ SSID_STR?: string }> };
    expect(profile.PayloadOrganization).toBe('Example & Co <Wi-Fi>');
    expect(profile.PayloadContent[1]!.SSID_STR).toBe('Café & <Guests>');
  });

  it('refuses a network listed twice, an eap-tls network without identity, and a MAC that is not one', () => {
    expect(() => buildEnrollmentProfile({ ...base, wifi: [open('Guest'), open('Guest')] })).toThrow('"Guest" appears twice');
    const tls: WifiConfig = { ...open('Staff'), security: 'eap-tls', server_names: ['radius.example.org'] };
    expect(() => buildEnrollmentProfile({ ...base, wifi: [tls] })).toThrow('needs the device identity');
    expect(() => buildEnrollmentProfile({ ...base, mac: 'ff:ff:ff:ff:ff:ff', wifi: [] })).toThrow('not a device MAC');
  });
});
