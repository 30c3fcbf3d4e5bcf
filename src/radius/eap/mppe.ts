import { createHash, randomBytes } from 'node:crypto';

/**
 * MS-MPPE-Recv-Key and MS-MPPE-Send-Key (RFC 2548 §2.4.2, §2.4.3): how the access
 * point learns the keys EAP derived (RFC 5216 §2.3: Recv-Key = MSK[0..31], Send-Key
 * = MSK[32..63]). Each is encrypted with the shared secret, the Request
 * Authenticator and a salt. Built here as raw Vendor-Specific attributes: the
 * `radius` package does not do this encryption.
 */
const MICROSOFT = 311;
const MS_MPPE_SEND_KEY = 16;
const MS_MPPE_RECV_KEY = 17;
const VENDOR_SPECIFIC = 26;

/** The two attributes for an MSK of at least 64 octets. */
export function mppeKeyAttributes(msk: Buffer, secret: string, requestAuthenticator: Buffer): Buffer[] {
  if (msk.length < 64) throw new RangeError(`an MSK of ${msk.length} octets; 64 are needed`);
  // Two different salts in one packet (§2.4.2: "each salt value MUST be unique").
  const salt = randomBytes(2);
  salt[0]! |= 0x80;
  const other = Buffer.from([salt[0]!, salt[1]! ^ 0x01]);
  return [
    vendorAttribute(MS_MPPE_RECV_KEY, salt, encryptKey(msk.subarray(0, 32), secret, requestAuthenticator, salt)),
    vendorAttribute(MS_MPPE_SEND_KEY, other, encryptKey(msk.subarray(32, 64), secret, requestAuthenticator, other)),
  ];
}

/** RFC 2548 §2.4.2: the key, prefixed with its length and padded to 16 octets, XORed with a chain of MD5s. */
export function encryptKey(key: Buffer, secret: string, requestAuthenticator: Buffer, salt: Buffer): Buffer {
  const plainLength = Math.ceil((1 + key.length) / 16) * 16;
  const plain = Buffer.alloc(plainLength);
  plain[0] = key.length;
  key.copy(plain, 1);
  const out = Buffer.allocUnsafe(plainLength);
  const secretBytes = Buffer.from(secret, 'utf8');
  let previous: Buffer = Buffer.concat([requestAuthenticator, salt]);
  for (let at = 0; at < plainLength; at += 16) {
    const b = createHash('md5').update(secretBytes).update(previous).digest();
    for (let i = 0; i < 16; i++) out[at + i] = plain[at + i]! ^ b[i]!;
    previous = out.subarray(at, at + 16);
  }
  return out;
}

/** The inverse of encryptKey (tests, and a client checking what it got). */
export function decryptKey(encrypted: Buffer, secret: string, requestAuthenticator: Buffer, salt: Buffer): Buffer {
  const plain = Buffer.allocUnsafe(encrypted.length);
  const secretBytes = Buffer.from(secret, 'utf8');
  let previous: Buffer = Buffer.concat([requestAuthenticator, salt]);
  for (let at = 0; at + 16 <= encrypted.length; at += 16) {
    const b = createHash('md5').update(secretBytes).update(previous).digest();
    for (let i = 0; i < 16; i++) plain[at + i] = encrypted[at + i]! ^ b[i]!;
    previous = encrypted.subarray(at, at + 16);
  }
  return plain.subarray(1, 1 + plain[0]!);
}

function vendorAttribute(vendorType: number, salt: Buffer, encrypted: Buffer): Buffer {
  const vendorLength = 2 + salt.length + encrypted.length;
  const out = Buffer.allocUnsafe(2 + 4 + vendorLength);
  out[0] = VENDOR_SPECIFIC;
  out[1] = out.length;
  out.writeUInt32BE(MICROSOFT, 2);
  out[6] = vendorType;
  out[7] = vendorLength;
  salt.copy(out, 8);
  encrypted.copy(out, 10);
  return out;
}
