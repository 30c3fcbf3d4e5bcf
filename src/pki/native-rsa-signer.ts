/**
 * A stand-in for a node-forge RSA private key whose `sign` runs in OpenSSL.
 *
 * forge signs RSA in pure JavaScript: ~55 ms of blocked event loop per signature
 * with a 2048-bit key, several times that with the CA's 3072-bit key. Its
 * certificate (`cert.sign`) and PKCS#7 (`addSigner` … `sign()`) code only ever
 * calls `key.sign(md)` and uses the returned binary string, so handing it this
 * object keeps forge for the ASN.1 structures while the RSA operation is native
 * (~1 ms). See docs/dependencies.md, "node-forge".
 */
import { constants, privateEncrypt, type KeyObject } from 'node:crypto';
import type forge from 'node-forge';

// RFC 8017 §9.2 note 1: the DER prefix of DigestInfo { sha256, NULL } before the 32-byte hash.
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const SHA256_LENGTH = 32;

/** What forge calls on a signing key: `sign(md)` returning the signature as a binary string. */
export interface ForgeSigningKey {
  sign(md: forge.md.MessageDigest): string;
}

/** Wraps an RSA private key so that forge's certificate and PKCS#7 signing use OpenSSL (RSASSA-PKCS1-v1_5 with SHA-256 only). */
export function nativeRsaSigner(key: KeyObject): ForgeSigningKey {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`an RSA private key is needed to sign (got a ${key.asymmetricKeyType ?? key.type} key)`);
  }
  return {
    sign(md: forge.md.MessageDigest): string {
      // Only SHA-256 is ever asked for; any other digest would need another prefix,
      // and a wrong prefix gives a signature nobody can verify.
      if (md.algorithm !== 'sha256') throw new Error(`native RSA signing supports SHA-256 only, not ${md.algorithm}`);
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      if (digest.length !== SHA256_LENGTH) throw new Error('unexpected SHA-256 digest length');
      // RFC 8017 §8.2.1: RSASSA-PKCS1-v1_5 is the private-key operation on the
      // EMSA-PKCS1-v1_5 encoding, which is what privateEncrypt with PKCS#1 v1.5
      // padding (block type 1) computes from DigestInfo.
      const signature = privateEncrypt(
        { key, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]),
      );
      return signature.toString('binary');
    },
  };
}

/** Types the native signer as what forge's signatures expect; forge only calls `sign` on it. */
export function asForgeKey(key: ForgeSigningKey): forge.pki.rsa.PrivateKey {
  return key as unknown as forge.pki.rsa.PrivateKey;
}
