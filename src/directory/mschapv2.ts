import { createCipheriv, createHash, timingSafeEqual } from 'node:crypto';
import md4 from 'js-md4';

/**
 * MS-CHAP-V2's arithmetic (RFC 2759 §8), server side: what the peer's NT-Response
 * must be for a password's NT hash, and the authenticator response that proves to
 * the peer we know the hash too. Pure; the primitives are MD4 (js-md4: Node 20's
 * OpenSSL 3 has none without its legacy provider), SHA-1 and DES (through OpenSSL's
 * two-key triple DES with both keys equal, which is single DES: NIST SP 800-67
 * keying option 3, kept for exactly this backward compatibility; plain des-ecb is
 * legacy-only too).
 *
 * The NT hash is password-equivalent: whoever holds it can answer any challenge.
 */

/** NtPasswordHash (§8.3): MD4 of the password in UTF-16LE. */
export function ntPasswordHash(password: string): Buffer {
  return md4Of(Buffer.from(password, 'utf16le'));
}

/** HashNtPasswordHash (§8.4): MD4 of the NT hash, the input of the keys and of the authenticator response. */
export function hashNtPasswordHash(ntHash: Buffer): Buffer {
  return md4Of(ntHash);
}

/**
 * ChallengeHash (§8.2): the first 8 octets of SHA-1(peer challenge, authenticator
 * challenge, user name). The user name is the one the peer sent, without any
 * "DOMAIN\" in front (§8.2 says so).
 */
export function challengeHash(peerChallenge: Buffer, authenticatorChallenge: Buffer, userName: string): Buffer {
  return createHash('sha1').update(peerChallenge).update(authenticatorChallenge).update(withoutDomain(userName), 'utf8').digest().subarray(0, 8);
}

/** ChallengeResponse (§8.5): the 8-octet challenge encrypted with three DES keys cut from the NT hash padded to 21 octets. */
export function challengeResponse(challenge: Buffer, ntHash: Buffer): Buffer {
  const padded = Buffer.alloc(21);
  ntHash.copy(padded);
  return Buffer.concat([0, 7, 14].map((at) => desEncrypt(challenge, desKey(padded.subarray(at, at + 7)))));
}

/** GenerateNTResponse (§8.1): the 24 octets a peer knowing the password sends. */
export function generateNtResponse(authenticatorChallenge: Buffer, peerChallenge: Buffer, userName: string, ntHash: Buffer): Buffer {
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, userName), ntHash);
}

/** Whether `ntResponse` is the one `ntHash` gives for these challenges, compared in constant time. */
export function checkNtResponse(attempt: { authenticatorChallenge: Buffer; peerChallenge: Buffer; ntResponse: Buffer; userName: string }, ntHash: Buffer): boolean {
  if (attempt.ntResponse.length !== 24) return false;
  return timingSafeEqual(generateNtResponse(attempt.authenticatorChallenge, attempt.peerChallenge, attempt.userName, ntHash), attempt.ntResponse);
}

/** The two constants of GenerateAuthenticatorResponse (§8.7). */
const MAGIC_1 = Buffer.from('Magic server to client signing constant', 'ascii');
const MAGIC_2 = Buffer.from('Pad to make it do more than one iteration', 'ascii');

/** GenerateAuthenticatorResponse (§8.7): "S=" and 40 upper-case hex digits, sent in the Success packet. */
export function generateAuthenticatorResponse(ntHash: Buffer, ntResponse: Buffer, peerChallenge: Buffer, authenticatorChallenge: Buffer, userName: string): string {
  const digest = createHash('sha1').update(hashNtPasswordHash(ntHash)).update(ntResponse).update(MAGIC_1).digest();
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  const response = createHash('sha1').update(digest).update(challenge).update(MAGIC_2).digest();
  return `S=${response.toString('hex').toUpperCase()}`;
}

/** The name after the last "\" ("EXAMPLE\alice" is alice): Windows peers put their domain in front. */
export function withoutDomain(userName: string): string {
  return userName.slice(userName.lastIndexOf('\\') + 1);
}

function md4Of(data: Buffer): Buffer {
  return Buffer.from(md4.arrayBuffer(data));
}

/** A 7-octet key spread over 8 octets, 7 bits each (§8.6); DES ignores the eighth (parity) bit. */
function desKey(seven: Buffer): Buffer {
  const key = Buffer.alloc(8);
  let bits = 0n;
  for (const octet of seven) bits = (bits << 8n) | BigInt(octet);
  for (let i = 0; i < 8; i++) key[i] = Number((bits >> BigInt(49 - 7 * i)) & 0x7fn) << 1;
  return key;
}

function desEncrypt(block: Buffer, key: Buffer): Buffer {
  // des-ede-ecb with K1 = K2 is E(K, D(K, E(K, x))) = E(K, x): single DES.
  const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}
