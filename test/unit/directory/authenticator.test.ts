import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../../src/directory/authenticator.js';
import type { Directory, DirectoryUser } from '../../../src/directory/directory.js';
import { noAudit } from '../../../src/audit/events.js';
import { LoginThrottle } from '../../../src/directory/login-throttle.js';
import { DirectoryUnavailableError, InvalidCredentialsError, NoNtHashError, TooManyAttemptsError } from '../../../src/errors.js';
import type { MsChapV2Attempt, MsChapV2Proof } from '../../../src/directory/directory.js';

/** A directory that knows one password, and can be made unavailable; it counts what it is asked. */
class OnePassword implements Directory {
  asked = 0;
  down = false;
  async authenticate(username: string, password: string): Promise<DirectoryUser> {
    this.asked++;
    if (this.down) throw new DirectoryUnavailableError('down for the test');
    if (password !== 'right') throw new InvalidCredentialsError();
    return { username: username.toLowerCase(), displayName: username, groups: [] };
  }
  async lookup(username: string): Promise<DirectoryUser> {
    return { username: username.toLowerCase(), groups: [] };
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

function setUp(): { directory: OnePassword; authenticator: Authenticator } {
  const directory = new OnePassword();
  const throttle = new LoginThrottle(new Keyv(), { clock: { now: () => new Date() }, audit: noAudit });
  return { directory, authenticator: new Authenticator({ directory, throttle }) };
}

describe('Authenticator (the portal and the admin console both log in through it)', () => {
  it('counts wrong passwords, and once locked does not ask the directory at all', async () => {
    const { directory, authenticator } = setUp();
    let locked: unknown;
    for (let i = 0; i < 20 && !locked; i++) {
      locked = await authenticator.authenticate('alice', 'wrong', '10.0.0.1').then(
        () => undefined,
        (err: unknown) => (err instanceof TooManyAttemptsError ? err : undefined),
      );
    }
    expect(locked).toBeInstanceOf(TooManyAttemptsError);
    const askedWhenLocked = directory.asked;
    await expect(authenticator.authenticate('alice', 'right', '10.0.0.1')).rejects.toBeInstanceOf(TooManyAttemptsError);
    expect(directory.asked).toBe(askedWhenLocked);
  });

  it('does not count a directory outage as a wrong password', async () => {
    const { directory, authenticator } = setUp();
    directory.down = true;
    for (let i = 0; i < 20; i++) await expect(authenticator.authenticate('bob', 'wrong', '10.0.0.2')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    directory.down = false;
    await expect(authenticator.authenticate('bob', 'right', '10.0.0.2')).resolves.toMatchObject({ username: 'bob' });
  });
});

/** OnePassword that also checks MSCHAPv2: a response of all 0x01 octets is the right one. */
class OneResponse extends OnePassword {
  async verifyMsChapV2(attempt: MsChapV2Attempt): Promise<MsChapV2Proof> {
    this.asked++;
    if (!attempt.ntResponse.equals(Buffer.alloc(24, 1))) throw new InvalidCredentialsError();
    return { user: { username: attempt.userName, groups: [] }, authenticatorResponse: 'S=00', ntHashHash: Buffer.alloc(16) };
  }
}

describe('Authenticator.verifyMsChapV2 (PEAP)', () => {
  const attempt = (userName: string, right: boolean): MsChapV2Attempt => ({ userName, authenticatorChallenge: Buffer.alloc(16), peerChallenge: Buffer.alloc(16), ntResponse: Buffer.alloc(24, right ? 1 : 2) });

  it('counts a wrong response as a wrong password, on the same budget as the portal', async () => {
    const directory = new OneResponse();
    const throttle = new LoginThrottle(new Keyv(), { clock: { now: () => new Date() }, audit: noAudit });
    const authenticator = new Authenticator({ directory, throttle });
    // Three wrong portal passwords, then MSCHAPv2 guesses (with a domain in front) until locked: one count.
    for (let i = 0; i < 3; i++) await expect(authenticator.authenticate('carol', 'wrong', '10.0.0.3')).rejects.toBeInstanceOf(InvalidCredentialsError);
    let guesses = 0;
    for (;;) {
      const err = await authenticator.verifyMsChapV2(attempt('EXAMPLE\\carol', false), '10.0.0.3').catch((e: unknown) => e);
      if (err instanceof TooManyAttemptsError) break;
      expect(err).toBeInstanceOf(InvalidCredentialsError);
      guesses++;
    }
    expect(guesses).toBe(3);
    const asked = directory.asked;
    await expect(authenticator.verifyMsChapV2(attempt('carol', true), '10.0.0.3')).rejects.toBeInstanceOf(TooManyAttemptsError);
    expect(directory.asked).toBe(asked);
    await expect(authenticator.verifyMsChapV2(attempt('carol', true), '10.0.0.4')).resolves.toMatchObject({ authenticatorResponse: 'S=00' });
  });

  it('a directory that cannot check MSCHAPv2 (LDAP) says so, and it is not a guess', async () => {
    const { authenticator } = setUp();
    for (let i = 0; i < 10; i++) await expect(authenticator.verifyMsChapV2(attempt('dave', true), '10.0.0.5')).rejects.toBeInstanceOf(NoNtHashError);
    await expect(authenticator.authenticate('dave', 'right', '10.0.0.5')).resolves.toMatchObject({ username: 'dave' });
  });
});
