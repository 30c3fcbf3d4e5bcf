import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../../src/directory/authenticator.js';
import type { Directory, DirectoryUser } from '../../../src/directory/directory.js';
import { noAudit } from '../../../src/audit/events.js';
import { LoginThrottle } from '../../../src/directory/login-throttle.js';
import { DirectoryUnavailableError, InvalidCredentialsError, TooManyAttemptsError } from '../../../src/errors.js';

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
