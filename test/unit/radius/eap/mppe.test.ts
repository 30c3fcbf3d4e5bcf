import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptKey, encryptKey, mppeKeyAttributes } from '../../../../src/radius/eap/mppe.js';

const SECRET = 'mppe-known-answer-secret';
const AUTHENTICATOR = Buffer.from('101112131415161718191a1b1c1d1e1f', 'hex');

describe('MS-MPPE key encryption (RFC 2548 §2.4.2)', () => {
  it('matches a known answer computed outside this code base', () => {
    // Computed once with Python's hashlib, straight from RFC 2548 §2.4.2 (P = length octet
    // + key, zero-padded to 16; b(1) = MD5(S + R + A), c(i) = p(i) xor b(i), b(i) = MD5(S + c(i-1))):
    //   S = b"mppe-known-answer-secret", R = bytes(range(0x10, 0x20)), A = bytes([0x85, 0x3a]),
    //   key = bytes(range(0xa0, 0xc0)); 48 octets out.
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i));
    const salt = Buffer.from([0x85, 0x3a]);
    const expected = Buffer.from('5bdd291c0a65152bc985fe89e4b42b65ca029b52c990455c7fe89547e9edc486d9c6fa09f0e9abaa964b3dc246ab6ee4', 'hex');
    expect(encryptKey(key, SECRET, AUTHENTICATOR, salt)).toEqual(expected);
    expect(decryptKey(expected, SECRET, AUTHENTICATOR, salt)).toEqual(key);
  });

  it.each([1, 15, 16, 31, 32, 47, 64])('decrypts what it encrypts, for a key of %i octets, padded to a multiple of 16 with its length first', (n) => {
    const key = randomBytes(n);
    const salt = Buffer.from([0x80 | n, 0x01]);
    const encrypted = encryptKey(key, SECRET, AUTHENTICATOR, salt);
    expect(encrypted.length).toBe(Math.ceil((n + 1) / 16) * 16);
    expect(decryptKey(encrypted, SECRET, AUTHENTICATOR, salt)).toEqual(key);
  });

  it('depends on the secret, the authenticator and the salt', () => {
    const key = randomBytes(32);
    const salt = Buffer.from([0x81, 0x02]);
    const base = encryptKey(key, SECRET, AUTHENTICATOR, salt);
    expect(encryptKey(key, `${SECRET}x`, AUTHENTICATOR, salt).equals(base)).toBe(false);
    expect(encryptKey(key, SECRET, Buffer.alloc(16), salt).equals(base)).toBe(false);
    expect(encryptKey(key, SECRET, AUTHENTICATOR, Buffer.from([0x81, 0x03])).equals(base)).toBe(false);
  });
});

describe('mppeKeyAttributes', () => {
  const msk = Buffer.from(Array.from({ length: 64 }, (_, i) => i));

  /** Vendor-Specific (26) with one Microsoft (311) sub-attribute: its type, salt and encrypted key. */
  function readVsa(attribute: Buffer): { vendorType: number; salt: Buffer; encrypted: Buffer } {
    expect(attribute[0]).toBe(26);
    expect(attribute[1]).toBe(attribute.length);
    expect(attribute.readUInt32BE(2)).toBe(311);
    expect(attribute[7]).toBe(attribute.length - 6); // the vendor length covers type, length, salt, key
    return { vendorType: attribute[6]!, salt: attribute.subarray(8, 10), encrypted: attribute.subarray(10) };
  }

  it('carries Recv-Key (17) = MSK[0..31] then Send-Key (16) = MSK[32..63] (RFC 5216 §2.3), laid out as RFC 2548 says', () => {
    const [recv, send, ...rest] = mppeKeyAttributes(msk, SECRET, AUTHENTICATOR);
    expect(rest).toEqual([]);
    // 2 (type, length) + 4 (vendor) + 2 (vendor type, length) + 2 (salt) + 48 (1 + 32 padded to 48) = 58
    expect(recv).toHaveLength(58);
    expect(send).toHaveLength(58);
    const r = readVsa(recv!);
    const s = readVsa(send!);
    expect([r.vendorType, s.vendorType]).toEqual([17, 16]);
    expect(decryptKey(r.encrypted, SECRET, AUTHENTICATOR, r.salt)).toEqual(msk.subarray(0, 32));
    expect(decryptKey(s.encrypted, SECRET, AUTHENTICATOR, s.salt)).toEqual(msk.subarray(32, 64));
  });

  it('uses two different salts, each with the high bit set (RFC 2548 §2.4.2), and new ones every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const [recv, send] = mppeKeyAttributes(msk, SECRET, AUTHENTICATOR).map(readVsa);
      expect(recv!.salt[0]! & 0x80).toBe(0x80);
      expect(send!.salt[0]! & 0x80).toBe(0x80);
      expect(recv!.salt.equals(send!.salt)).toBe(false);
      seen.add(recv!.salt.toString('hex'));
    }
    // Random salts: 200 draws from 2^15 values repeat a few at most.
    expect(seen.size).toBeGreaterThan(150);
  });

  it('refuses an MSK shorter than 64 octets', () => {
    expect(() => mppeKeyAttributes(msk.subarray(0, 63), SECRET, AUTHENTICATOR)).toThrow(RangeError);
  });
});
