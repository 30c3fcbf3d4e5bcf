import type { Clock } from '../clock.js';
import type { Directory } from '../directory/directory.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StateStore } from '../store/state-store.js';

/**
 * How long one directory check answers /readyz. The probe is open to every device on the
 * captive network (it is on the portal's port), and an LDAP check is a connection, often
 * TLS, and a bind: unremembered, a device asking in a loop, or a few load balancers
 * probing every second, would have the gateway bind to the directory as often. 5 s is
 * shorter than the interval most balancers probe at (HAProxy's default is 2 s, but they
 * act after 2-3 failures in a row), so an outage or a recovery still shows within one
 * or two probes.
 */
export const DIRECTORY_CHECK_TTL_MS = 5_000;

/** One dependency's state: ok, or why not (the message may name hosts and ports: loopback only). */
export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: { readonly store: CheckResult; readonly directory: CheckResult };
}

/**
 * What /readyz reports: whether the state store and the directory answer. The store is
 * asked at every probe (a SQLite read or a Redis PING; RADIUS needs it for every answer).
 * The directory's answer is remembered for DIRECTORY_CHECK_TTL_MS after it came, and
 * probes arriving while it is being asked share that one check.
 */
export class Readiness {
  private directoryCheck: { readonly result: Promise<CheckResult>; doneAtMs?: number } | undefined;

  constructor(private readonly d: { store: Pick<StateStore, 'ping'>; directory: Pick<Directory, 'ping'>; clock: Clock; log: Logger }) {}

  async check(): Promise<ReadinessReport> {
    const [store, directory] = await Promise.all([this.run('store', () => this.d.store.ping()), this.directory()]);
    return { ready: store.ok && directory.ok, checks: { store, directory } };
  }

  private directory(): Promise<CheckResult> {
    const now = this.d.clock.now().getTime();
    const last = this.directoryCheck;
    if (last && (last.doneAtMs === undefined || now - last.doneAtMs < DIRECTORY_CHECK_TTL_MS)) return last.result;
    const check: { result: Promise<CheckResult>; doneAtMs?: number } = {
      result: this.run('directory', () => this.d.directory.ping()).then((r) => {
        check.doneAtMs = this.d.clock.now().getTime();
        return r;
      }),
    };
    this.directoryCheck = check;
    return check.result;
  }

  private async run(name: string, ping: () => Promise<void>): Promise<CheckResult> {
    try {
      await ping();
      return { ok: true };
    } catch (err) {
      this.d.log.warn({ err, event: 'readiness.failed', component: name }, `${name} not ready`);
      return { ok: false, message: err instanceof GatewayError ? err.message : 'unavailable' };
    }
  }
}
