/**
 * Stable payload UUIDs. A device that downloads its profile again must get the
 * same PayloadUUIDs and identifiers, so that installing it replaces the old one
 * instead of adding a second Wi-Fi configuration beside it.
 */
import { createHmac, hkdfSync } from 'node:crypto';

/**
 * HMAC-SHA256(key, name) cut to 128 bits and formatted as an RFC 9562 (ex-4122)
 * UUID with the variant bits 10 and version 4. Version 4 rather than 8 ("custom"):
 * a keyed PRF's output cannot be told from random bytes, and it is the version
 * Apple's own tools write, so no profile reader can take exception to it.
 * The key keeps a UUID from revealing the MAC it was derived from.
 */
export function derivedUuid(key: Buffer, name: string): string {
  const bytes = createHmac('sha256', key).update(name, 'utf8').digest().subarray(0, 16);
  // RFC 9562 §5.4: version in the high nibble of octet 6, variant 10 in octet 8.
  bytes.writeUInt8((bytes.readUInt8(6) & 0x0f) | 0x40, 6);
  bytes.writeUInt8((bytes.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = bytes.toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The UUID key, derived from the gateway CA's private key (RFC 5869 HKDF): secret,
 * stable across restarts as long as the CA is, and no new setting to keep.
 */
export function uuidKeyFromCaKey(caKeyDer: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', caKeyDer, Buffer.alloc(0), 'enrollgate profile payload UUIDs', 32));
}
