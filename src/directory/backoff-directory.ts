import type { Clock } from '../clock.js';
import { DirectoryUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Directory, DirectoryUser, MsChapV2Attempt, MsChapV2Proof } from './directory.js';

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * A Directory that backs off while the real one is unreachable. From the second
 * call in a row that fails with DirectoryUnavailableError (one failure is a blip),
 * logins are refused at once ("directory unavailable, the next try is in N s") for
 * a wait that doubles with every further failure (1 s up to 30 s), instead of each
 * login waiting for the directory's timeout; when the wait is over the next login
 * or readiness check tries again, and one success ends the backoff. Wrong
 * passwords are answers, not failures.
 */
export class BackoffDirectory implements Directory {
  private failures = 0;
  private retryAt = 0;

  /** Present when the inner directory has it (the users file), under the same backoff. */
  readonly verifyMsChapV2?: (attempt: MsChapV2Attempt) => Promise<MsChapV2Proof>;

  constructor(
    private readonly inner: Directory,
    private readonly deps: { clock: Clock; log: Logger },
  ) {
    const verify = inner.verifyMsChapV2?.bind(inner);
    if (verify) this.verifyMsChapV2 = (attempt) => this.attempt(() => verify(attempt));
  }

  authenticate(username: string, password: string): Promise<DirectoryUser> {
    return this.attempt(() => this.inner.authenticate(username, password));
  }

  lookup(username: string): Promise<DirectoryUser> {
    return this.attempt(() => this.inner.lookup(username));
  }

  /** Readiness always asks the directory itself: /readyz shows recovery as soon as it happens. */
  ping(): Promise<void> {
    return this.attempt(() => this.inner.ping(), { force: true });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async attempt<T>(call: () => Promise<T>, o: { force?: boolean } = {}): Promise<T> {
    const now = this.deps.clock.now().getTime();
    if (!o.force && now < this.retryAt) {
      const seconds = Math.ceil((this.retryAt - now) / 1000);
      throw new DirectoryUnavailableError(`The directory is unavailable; the next try is in ${seconds} second${seconds === 1 ? '' : 's'}.`, { retryAfterSeconds: seconds });
    }
    try {
      const result = await call();
      if (this.failures > 0) this.deps.log.info({ event: 'directory.recovered', afterFailures: this.failures }, 'directory reachable again');
      this.failures = 0;
      this.retryAt = 0;
      return result;
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) {
        this.failures++;
        if (this.failures >= 2) {
          const wait = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(this.failures - 2, 10));
          this.retryAt = this.deps.clock.now().getTime() + wait;
          this.deps.log.warn({ event: 'directory.backoff', failures: this.failures, waitMs: wait }, 'directory unavailable; backing off');
        }
      }
      throw err;
    }
  }
}
