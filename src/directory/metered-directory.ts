import { GatewayError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Directory, DirectoryUser, MsChapV2Attempt, MsChapV2Proof } from './directory.js';

/** Outcome labels by error code; anything else is "unavailable" (the directory did not answer properly). */
const OUTCOMES: Readonly<Record<string, string>> = {
  EG_INVALID_CREDENTIALS: 'invalid_credentials',
  EG_NOT_ALLOWED: 'not_allowed',
  EG_NO_NT_HASH: 'no_nt_hash',
};

/**
 * A Directory that times every call into enrollgate_directory_request_duration_seconds
 * by operation and outcome: LDAP latency, wrong passwords and outages, per scrape.
 */
export class MeteredDirectory implements Directory {
  /** Present when the inner directory has it (the users file), timed as operation mschapv2. */
  readonly verifyMsChapV2?: (attempt: MsChapV2Attempt) => Promise<MsChapV2Proof>;

  constructor(
    private readonly inner: Directory,
    private readonly metrics: Pick<Metrics, 'directoryLatency'>,
  ) {
    const verify = inner.verifyMsChapV2?.bind(inner);
    if (verify) this.verifyMsChapV2 = (attempt) => this.timed('mschapv2', () => verify(attempt));
  }

  authenticate(username: string, password: string): Promise<DirectoryUser> {
    return this.timed('authenticate', () => this.inner.authenticate(username, password));
  }

  lookup(username: string): Promise<DirectoryUser> {
    return this.timed('lookup', () => this.inner.lookup(username));
  }

  ping(): Promise<void> {
    return this.timed('ping', () => this.inner.ping());
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const end = this.metrics.directoryLatency.startTimer({ operation });
    try {
      const result = await call();
      end({ outcome: 'ok' });
      return result;
    } catch (err) {
      end({ outcome: (err instanceof GatewayError && OUTCOMES[err.code]) || 'unavailable' });
      throw err;
    }
  }
}
