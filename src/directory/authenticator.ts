import { InvalidCredentialsError } from '../errors.js';
import type { Directory, DirectoryUser } from './directory.js';
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
  async authenticate(username: string, password: string, from: string | undefined): Promise<DirectoryUser> {
    await this.o.throttle?.check(username, from);
    try {
      const user = await this.o.directory.authenticate(username, password);
      await this.o.throttle?.succeeded(username, from);
      return user;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) await this.o.throttle?.failed(username, from);
      throw err;
    }
  }
}
