/**
 * Per-device identities for EAP-TLS: a client certificate issued by the gateway's
 * CA with its key, packed as PKCS#12 for a com.apple.security.pkcs12 payload.
 *
 * The key pair is generated with the asynchronous node:crypto API (OpenSSL, on
 * libuv's thread pool) so that a portal request issuing an identity does not
 * block RADIUS; the CA's signature is native too. forge packs the PKCS#12 with
 * pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292), which every iOS version reads.
 */
import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { parseMac, type Mac } from '../mac.js';
import { loadIssuingCa, MAX_COMMON_NAME, signLeafCertificate, type CertificateAuthority, type IssuingCa } from './ca.js';
import { ownerUri } from './owner-uri.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const DEVICE_KEY_BITS = 2048;
const DEVICE_DEFAULT_DAYS = 365;
// 18 random bytes: 144 bits, 24 base64url characters. The password travels in the
// same profile as the PKCS#12 (Apple's Password key), so its job is to satisfy the
// format, not to protect the key from whoever holds the profile.
const PASSWORD_BYTES = 18;

/**
 * The PKCS#12's passphrase: a random one (Apple's profiles, Windows, Android and Linux, whose
 * importers want one), or empty, which the ONC spec requires for a Client certificate.
 */
export type PkcsPassphrase = 'random' | 'empty';

/** A device's EAP-TLS identity, ready for a profile. */
export interface DeviceIdentity {
  /** PKCS#12 (DER): the key, the device certificate and the CA certificate. */
  readonly p12: Buffer;
  /** The one-time random password of `p12` (empty with passphrase 'empty'). Never log it. */
  readonly password: string;
  readonly certificatePem: string;
}

/**
 * Generates device keys one at a time. An RSA-2048 key takes ~100 ms of CPU on
 * libuv's thread pool; four at once (the pool's size) take every core of a small
 * machine from the event loop that answers RADIUS (bench/profile.ts: RADIUS p99
 * ×3 on 2 cores). One at a time keeps a core for the loop; requests queue instead.
 */
export class DeviceKeyGenerator {
  private tail: Promise<unknown> = Promise.resolve();

  /** A new RSA private key, after the ones already asked for. */
  generate(): Promise<KeyObject> {
    const key = this.tail
      .then(() => generateKeyPairAsync('rsa', { modulusLength: DEVICE_KEY_BITS, publicExponent: 0x10001 }))
      .then((pair) => pair.privateKey);
    this.tail = key.catch(() => undefined);
    return key;
  }
}

/** URI in the device certificate's subjectAltName that names the device (its MAC), for the RADIUS server to match. */
export function deviceUri(mac: Mac): string {
  return `urn:enrollgate:device:${mac}`;
}

/**
 * The subject CN of a device certificate: the user name, for people reading certificate
 * lists, cut to 64 characters with a trailing "…" when longer (never inside a surrogate
 * pair). Only certificates issued before the owner URI existed are matched by it.
 */
export function deviceCommonName(user: string): string {
  if (user.length <= MAX_COMMON_NAME) return user;
  let cut = MAX_COMMON_NAME - 1;
  // A high surrogate at the end would be half a character.
  if (/[\uD800-\uDBFF]/.test(user.charAt(cut - 1))) cut -= 1;
  return `${user.slice(0, cut)}…`;
}

/**
 * Issues a client certificate for one device of one person: subject CN = user (cut to
 * 64 characters, deviceCommonName), SAN URIs urn:enrollgate:device:<mac> and
 * urn:enrollgate:owner:<user> (ownerUri), EKU clientAuth, keyUsage digitalSignature +
 * keyEncipherment, 1 year (never past the CA), and packs it in PKCS#12.
 */
export async function issueDeviceIdentity(
  ca: CertificateAuthority | IssuingCa,
  device: { user: string; mac: string; validDays?: number; now?: Date; passphrase?: PkcsPassphrase },
  keys: DeviceKeyGenerator = new DeviceKeyGenerator(),
): Promise<DeviceIdentity> {
  const mac = parseMac(device.mac);
  if (mac === null) throw new RangeError('issueDeviceIdentity: not a device MAC address');
  const now = device.now ?? new Date();
  const issuer = 'signingKey' in ca ? ca : loadIssuingCa(ca, now);
  const key = toForgeKey(await keys.generate());

  const { cert, certPem } = signLeafCertificate(issuer, {
    commonName: deviceCommonName(device.user),
    publicKey: forge.pki.setRsaPublicKey(key.n, key.e),
    days: device.validDays ?? DEVICE_DEFAULT_DAYS,
    now,
    extensions: [
      // RFC 5280 §4.2.1.3; keyEncipherment for RSA key transport in older TLS suites.
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      // RFC 5216 §5.3 (EAP-TLS) and RFC 5280 §4.2.1.12: a TLS client certificate.
      { name: 'extKeyUsage', clientAuth: true },
      // RFC 5280 §4.2.1.6, GeneralName [6] uniformResourceIdentifier: the device, and its
      // owner in full (EAP-TLS matches the owner by it, radius/eap/device-certificate.ts).
      { name: 'subjectAltName', altNames: [{ type: 6, value: deviceUri(mac) }, { type: 6, value: ownerUri(device.user) }] },
    ],
  });

  // ChromeOS's ONC import takes a PKCS#12 only with an empty passphrase (profiles/chromeos-onc.ts).
  const password = device.passphrase === 'empty' ? '' : randomBytes(PASSWORD_BYTES).toString('base64url');
  const p12Asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert, issuer.cert], password, {
    algorithm: '3des',
    // Key stretching protects a password a person chose; this one is PASSWORD_BYTES of
    // randomness, used once, so 2,048 rounds (forge's default) would add nothing but
    // 14 ms of blocking pure-JS SHA-1 per profile (bench/profile.ts).
    count: PKCS12_ITERATIONS,
    // Shown in the device's certificate list.
    friendlyName: `${device.user} (${mac})`,
    generateLocalKeyId: true,
  });
  const p12 = Buffer.from(forge.asn1.toDer(p12Asn1).getBytes(), 'binary');
  return { p12, password, certificatePem: certPem };
}

/**
 * The same key and certificates as a PKCS#12 with no password: key and certificates in
 * clear, a MAC over an empty password (RFC 7292 §B: integrity only). Android's Passpoint
 * installer opens the PKCS#12 of a profile with an empty password and wants exactly one
 * key entry, and ChromeOS's ONC asks the same; the file's transport (a one-time HTTPS link)
 * protects it. The key and the leaf keep their shared friendlyName and localKeyId, so a
 * Java key store sees one entry; the CA certificate carries neither.
 */
export function pkcs12WithoutPassword(p12: Buffer, password: string): Buffer {
  const opened = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(p12.toString('binary')), true, password);
  const keys = [...(opened.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []), ...(opened.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? [])];
  const certs = opened.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const key = keys[0]?.key;
  if (keys.length !== 1 || key === undefined) throw new RangeError(`pkcs12WithoutPassword: expected one private key, found ${keys.length}`);
  // The leaf is the certificate that shares the key's localKeyId; the rest follow it.
  const keyId = keys[0]!.attributes.localKeyId?.[0];
  const leaf = certs.find((c) => keyId !== undefined && c.attributes.localKeyId?.[0] === keyId);
  if (leaf?.cert === undefined) throw new RangeError('pkcs12WithoutPassword: no certificate for the key');
  const chain = [leaf.cert, ...certs.filter((c) => c !== leaf && c.cert !== undefined).map((c) => c.cert!)];
  const friendlyName = keys[0]!.attributes.friendlyName?.[0];
  const asn1 = forge.pkcs12.toPkcs12Asn1(key as forge.pki.rsa.PrivateKey, chain, null, {
    count: PKCS12_ITERATIONS,
    ...(friendlyName !== undefined ? { friendlyName } : {}),
    generateLocalKeyId: true,
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** PBE and MAC iteration count of the PKCS#12 (see above: the password is random, not chosen). */
const PKCS12_ITERATIONS = 64;

function toForgeKey(privateKey: KeyObject): forge.pki.rsa.PrivateKey {
  // forge reads PKCS#1 or PKCS#8 PEM; a few hundred microseconds, no RSA operation.
  return forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}
