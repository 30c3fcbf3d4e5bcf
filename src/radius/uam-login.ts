import { createHash, timingSafeEqual } from 'node:crypto';
import type { Mac } from '../mac.js';
import type { LoginToken } from '../devices/login-token-store.js';

/**
 * The RADIUS half of a UAM login: a router (CoovaChilli) redeems the one-time token the
 * portal handed it (portal/uam/), with the token id as User-Name and the token as
 * User-Password (PAP) or CHAP-Password. Pure: bytes in, a verdict out.
 */

/** RFC 2865 §5 attribute types read here on the raw bytes. */
const Attr = { UserPassword: 2, ChapPassword: 3, ChapChallenge: 60 } as const;

/** The first value of an attribute, from a packet whose structure scanPacket has checked. */
export function rawAttribute(raw: Buffer, length: number, type: number): Buffer | undefined {
  for (let at = 20; at + 2 <= length; ) {
    const len = raw[at + 1]!;
    if (len < 2 || at + len > length) return undefined;
    if (raw[at] === type) return raw.subarray(at + 2, at + len);
    at += len;
  }
  return undefined;
}

function md5(...parts: Array<Buffer | string>): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * RFC 2865 §5.2: User-Password is hidden in 16-octet blocks, b1 = MD5(S ‖ RA),
 * bi = MD5(S ‖ c(i-1)), c(i) = p(i) XOR b(i); the plaintext is NUL-padded.
 * Undefined when the length is not 16 to 128 octets in whole blocks.
 */
export function decryptUserPassword(hidden: Buffer, secret: string, requestAuthenticator: Buffer): Buffer | undefined {
  if (hidden.length < 16 || hidden.length > 128 || hidden.length % 16 !== 0) return undefined;
  const out = Buffer.alloc(hidden.length);
  let previous = requestAuthenticator;
  for (let i = 0; i < hidden.length; i += 16) {
    const b = md5(secret, previous);
    for (let j = 0; j < 16; j++) out[i + j] = hidden[i + j]! ^ b[j]!;
    previous = hidden.subarray(i, i + 16);
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return out.subarray(0, end);
}

/** What an Access-Request offers as the token: a PAP password (decrypted) or a CHAP answer. */
export type TokenCredential =
  | { readonly kind: 'pap'; readonly password: Buffer }
  | { readonly kind: 'chap'; readonly ident: number; readonly response: Buffer; readonly challenge: Buffer }
  | { readonly kind: 'none'; readonly problem: string };

/**
 * Reads the credential of an Access-Request. RFC 2865 §5.3: CHAP-Password is the CHAP
 * ident and a 16-octet response; the challenge is CHAP-Challenge, else the Request
 * Authenticator.
 */
export function tokenCredential(raw: Buffer, length: number, requestAuthenticator: Buffer, secret: string): TokenCredential {
  const chap = rawAttribute(raw, length, Attr.ChapPassword);
  if (chap) {
    if (chap.length !== 17) return { kind: 'none', problem: 'CHAP-Password is not 17 octets' };
    const challenge = rawAttribute(raw, length, Attr.ChapChallenge) ?? requestAuthenticator;
    return { kind: 'chap', ident: chap[0]!, response: chap.subarray(1), challenge };
  }
  const hidden = rawAttribute(raw, length, Attr.UserPassword);
  if (hidden) {
    const password = decryptUserPassword(hidden, secret, requestAuthenticator);
    return password ? { kind: 'pap', password } : { kind: 'none', problem: 'User-Password is not 16 to 128 octets in whole blocks' };
  }
  return { kind: 'none', problem: 'neither User-Password nor CHAP-Password is present' };
}

/** Whether the credential proves the token's secret (constant-time comparisons). */
export function credentialMatches(credential: TokenCredential, secret: string): boolean {
  const expected = Buffer.from(secret, 'utf8');
  switch (credential.kind) {
    case 'pap':
      return credential.password.length === expected.length && timingSafeEqual(credential.password, expected);
    case 'chap': {
      const want = md5(Buffer.from([credential.ident]), expected, credential.challenge);
      return credential.response.length === 16 && timingSafeEqual(want, credential.response);
    }
    case 'none':
      return false;
  }
}

/**
 * Why a token login must be refused, or null when it may be accepted: the token exists
 * and is unexpired (the store checked), was issued for this router, the credential
 * proves it, and the request is about the device it was issued for. No reason names the token.
 */
export function tokenLoginProblem(token: LoginToken | undefined, nas: string, mac: Mac | null, credential: TokenCredential): string | null {
  if (!token) return 'unknown, expired or already used login token';
  if (token.nas !== nas) return 'login token issued for another router';
  if (credential.kind === 'none') return credential.problem;
  if (!credentialMatches(credential, token.secret)) return 'wrong login token password';
  if (mac === null) return 'Calling-Station-Id is not a device MAC address';
  if (mac !== token.mac) return 'login token issued for another device';
  return null;
}
