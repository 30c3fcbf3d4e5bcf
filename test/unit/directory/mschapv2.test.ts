import { describe, expect, it } from 'vitest';
import {
  challengeHash,
  challengeResponse,
  checkNtResponse,
  generateAuthenticatorResponse,
  generateNtResponse,
  hashNtPasswordHash,
  ntPasswordHash,
  withoutDomain,
} from '../../../src/directory/mschapv2.js';

/** RFC 2759 §9.2, "Hash Example": user "User", password "clientPass". */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const RFC = {
  userName: 'User',
  password: 'clientPass',
  authenticatorChallenge: hex('5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28'),
  peerChallenge: hex('21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E'),
  challenge: hex('D0 2E 43 86 BC E9 12 26'),
  passwordHash: hex('44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE'),
  ntResponse: hex('82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF'),
  passwordHashHash: hex('41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F'),
  authenticatorResponse: 'S=407A5589115FD0D6209F510FE9C04566932CDA56',
};

describe('MS-CHAP-V2 (RFC 2759 §9.2 test vectors)', () => {
  it('NtPasswordHash and HashNtPasswordHash', () => {
    expect(ntPasswordHash(RFC.password)).toEqual(RFC.passwordHash);
    expect(hashNtPasswordHash(RFC.passwordHash)).toEqual(RFC.passwordHashHash);
  });

  it('ChallengeHash', () => {
    expect(challengeHash(RFC.peerChallenge, RFC.authenticatorChallenge, RFC.userName)).toEqual(RFC.challenge);
  });

  it('ChallengeResponse and GenerateNTResponse', () => {
    expect(challengeResponse(RFC.challenge, RFC.passwordHash)).toEqual(RFC.ntResponse);
    expect(generateNtResponse(RFC.authenticatorChallenge, RFC.peerChallenge, RFC.userName, RFC.passwordHash)).toEqual(RFC.ntResponse);
  });

  it('GenerateAuthenticatorResponse', () => {
    expect(generateAuthenticatorResponse(RFC.passwordHash, RFC.ntResponse, RFC.peerChallenge, RFC.authenticatorChallenge, RFC.userName)).toBe(RFC.authenticatorResponse);
  });

  it('a domain in front of the user name does not enter the challenge hash (§8.2)', () => {
    expect(withoutDomain('EXAMPLE\\User')).toBe('User');
    expect(challengeHash(RFC.peerChallenge, RFC.authenticatorChallenge, 'EXAMPLE\\User')).toEqual(RFC.challenge);
  });

  it('checks a response: the right one, one bit off, another password, a wrong length', () => {
    const attempt = { authenticatorChallenge: RFC.authenticatorChallenge, peerChallenge: RFC.peerChallenge, ntResponse: RFC.ntResponse, userName: RFC.userName };
    expect(checkNtResponse(attempt, RFC.passwordHash)).toBe(true);
    const flipped = Buffer.from(RFC.ntResponse);
    flipped[23]! ^= 0x01;
    expect(checkNtResponse({ ...attempt, ntResponse: flipped }, RFC.passwordHash)).toBe(false);
    expect(checkNtResponse(attempt, ntPasswordHash('clientpass'))).toBe(false);
    expect(checkNtResponse({ ...attempt, ntResponse: RFC.ntResponse.subarray(0, 16) }, RFC.passwordHash)).toBe(false);
  });
});
