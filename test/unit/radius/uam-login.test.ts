import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Mac } from '../../../src/mac.js';
import { credentialMatches, decryptUserPassword, rawAttribute, tokenCredential, tokenLoginProblem } from '../../../src/radius/uam-login.js';
import type { LoginToken } from '../../../src/devices/login-token-store.js';

const SECRET = 'radius-secret-0123456789';
const RA = Buffer.alloc(16, 1);
const TOKEN = 'abcdefghijklmnop';

/** An Access-Request's bytes with the given attributes (type, value). */
function packet(attrs: Array<[number, Buffer]>, authenticator = RA): Buffer {
  const body = Buffer.concat(attrs.map(([t, v]) => Buffer.concat([Buffer.from([t, v.length + 2]), v])));
  const header = Buffer.alloc(20);
  header[0] = 1;
  header.writeUInt16BE(20 + body.length, 2);
  authenticator.copy(header, 4);
  return Buffer.concat([header, body]);
}

const md5 = (...p: Buffer[]) => p.reduce((h, b) => h.update(b), createHash('md5')).digest();

describe('RFC 2865 §5.2 User-Password', () => {
  it('decrypts the known answer (Python hashlib) and strips the NUL padding', () => {
    expect(decryptUserPassword(Buffer.from('495aa77bdbc40055eba4ae27fe10d2ed', 'hex'), SECRET, RA)?.toString()).toBe(TOKEN);
  });

  it('decrypts multi-block passwords (each block keyed by the previous ciphertext)', () => {
    const plain = Buffer.alloc(32);
    Buffer.from('a-password-longer-than-16').copy(plain);
    const c1 = Buffer.from(plain.subarray(0, 16).map((b, i) => b ^ md5(Buffer.from(SECRET), RA)[i]!));
    const c2 = Buffer.from(plain.subarray(16).map((b, i) => b ^ md5(Buffer.from(SECRET), c1)[i]!));
    expect(decryptUserPassword(Buffer.concat([c1, c2]), SECRET, RA)?.toString()).toBe('a-password-longer-than-16');
  });

  it('refuses lengths that are not whole blocks of 16 to 128 octets', () => {
    expect(decryptUserPassword(Buffer.alloc(15), SECRET, RA)).toBeUndefined();
    expect(decryptUserPassword(Buffer.alloc(17), SECRET, RA)).toBeUndefined();
    expect(decryptUserPassword(Buffer.alloc(144), SECRET, RA)).toBeUndefined();
  });
});

describe('tokenCredential and credentialMatches', () => {
  it('reads PAP from User-Password', () => {
    const raw = packet([[1, Buffer.from('uam-x')], [2, Buffer.from('495aa77bdbc40055eba4ae27fe10d2ed', 'hex')]]);
    const c = tokenCredential(raw, raw.length, RA, SECRET);
    expect(c.kind).toBe('pap');
    expect(credentialMatches(c, TOKEN)).toBe(true);
    expect(credentialMatches(c, 'abcdefghijklmnoq')).toBe(false);
    expect(credentialMatches(c, TOKEN.slice(0, 15))).toBe(false);
  });

  it('reads CHAP with CHAP-Challenge, else the Request Authenticator as the challenge (RFC 2865 §5.3)', () => {
    const challenge = randomBytes(16);
    const response = md5(Buffer.from([7]), Buffer.from(TOKEN), challenge);
    const withChallenge = packet([[3, Buffer.concat([Buffer.from([7]), response])], [60, challenge]]);
    expect(credentialMatches(tokenCredential(withChallenge, withChallenge.length, RA, SECRET), TOKEN)).toBe(true);
    const viaAuthenticator = packet([[3, Buffer.concat([Buffer.from([7]), md5(Buffer.from([7]), Buffer.from(TOKEN), RA)])]]);
    expect(credentialMatches(tokenCredential(viaAuthenticator, viaAuthenticator.length, RA, SECRET), TOKEN)).toBe(true);
    const wrongIdent = packet([[3, Buffer.concat([Buffer.from([8]), response])], [60, challenge]]);
    expect(credentialMatches(tokenCredential(wrongIdent, wrongIdent.length, RA, SECRET), TOKEN)).toBe(false);
  });

  it('says why when there is no usable credential', () => {
    const none = packet([[1, Buffer.from('uam-x')]]);
    expect(tokenCredential(none, none.length, RA, SECRET)).toEqual({ kind: 'none', problem: 'neither User-Password nor CHAP-Password is present' });
    const shortChap = packet([[3, Buffer.alloc(5)]]);
    expect(tokenCredential(shortChap, shortChap.length, RA, SECRET).kind).toBe('none');
    expect(rawAttribute(none, none.length, 2)).toBeUndefined();
  });
});

describe('tokenLoginProblem', () => {
  const mac = 'aa:bb:cc:dd:ee:01' as Mac;
  const token: LoginToken = { mac, user: 'employee', nas: 'chilli', secret: TOKEN, expiresAt: '2030-01-01T00:00:00Z' };
  const pap = { kind: 'pap', password: Buffer.from(TOKEN) } as const;

  it('accepts the right password from the right router for the right device', () => {
    expect(tokenLoginProblem(token, 'chilli', mac, pap)).toBeNull();
  });

  it.each([
    ['no token', undefined, 'chilli', mac, pap, 'unknown, expired or already used login token'],
    ['another router', token, 'other', mac, pap, 'login token issued for another router'],
    ['a wrong password', token, 'chilli', mac, { kind: 'pap', password: Buffer.from('x') } as const, 'wrong login token password'],
    ['another device', token, 'chilli', 'aa:bb:cc:dd:ee:02' as Mac, pap, 'login token issued for another device'],
    ['no device', token, 'chilli', null, pap, 'Calling-Station-Id is not a device MAC address'],
  ])('refuses %s', (_why, tok, nasName, station, credential, reason) => {
    expect(tokenLoginProblem(tok, nasName, station, credential)).toBe(reason);
  });
});
