import { InvalidCredentialsError, NoNtHashError } from '../errors.js';
import type { Directory, DirectoryUser, MsChapV2Attempt, MsChapV2Proof } from './directory.js';
import { withoutDomain } from './mschapv2.js';
import type { LoginThrottle } from './login-throttle.js';

/**
 * The one way a person's username and password are checked, for the portal's forms and the
 * admin console's login: the login throttle first (a locked guesser costs the directory
 * nothing), then the directory; a success clears the person's count, a wrong password adds to
 * it. Every other failure (the directory down, a locked account) is thrown as it came.
 */
export class Authenticator {
  constructor(
    private readonly o: {
      directory: Directory;
      /** Slows password guessing down (absent: no throttling). */
      throttle?: LoginThrottle;
    },
  ) {}

  /** The directory's user for these credentials; throws TooManyAttemptsError, InvalidCredentialsError or the directory's error. */
  authenticate(username: string, password: string, from: string | undefined): Promise<DirectoryUser> {
    return this.throttled(username, from, () => this.o.directory.authenticate(username, password));
  }

  /**
   * PEAP's MSCHAPv2 response, on the same budget as the portal's passwords (a wrong
   * response is a wrong password); throws NoNtHashError where the directory cannot
   * check MSCHAPv2 at all (LDAP) or keeps no NT hash for the person.
   */
  verifyMsChapV2(attempt: MsChapV2Attempt, from: string | undefined): Promise<MsChapV2Proof> {
    const verify = this.o.directory.verifyMsChapV2?.bind(this.o.directory);
    if (!verify) return Promise.reject(new NoNtHashError('The directory cannot check MSCHAPv2 (an LDAP bind needs the password itself).'));
    return this.throttled(withoutDomain(attempt.userName), from, () => verify(attempt));
  }

  private async throttled<T>(username: string, from: string | undefined, check: () => Promise<T>): Promise<T> {
    await this.o.throttle?.check(username, from);
    try {
      const result = await check();
      await this.o.throttle?.succeeded(username, from);
      return result;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) await this.o.throttle?.failed(username, from);
      throw err;
    }
  }
}
