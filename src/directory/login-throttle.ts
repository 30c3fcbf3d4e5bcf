/**
 * Slows password guessing down, across gateways (the counters are in the state
 * store). Two counters of wrong passwords, each with a few free failures and then
 * an exponential lock (1 s, 2 s, 4 s … up to MAX_LOCK_MS):
 * - per person and client address: one phone guessing at one account;
 * - per client address: one address spraying many accounts.
 * There is no lock per person alone, so a guessing run cannot lock the owner out:
 * from another device (another address) the owner logs in as usual. A success
 * clears the person-and-address counter. Counters are forgotten an hour after their
 * last failure.
 *
 * Counting is read-then-write, so gateways racing on one counter can each miss a
 * failure of the other; a run of 1,000 guesses is throttled all the same.
 */
import type Keyv from 'keyv';
import type { AuditTrail } from '../audit/events.js';
import type { Clock } from '../clock.js';
import { withStoreDeadline } from '../deadline.js';
import { TooManyAttemptsError } from '../errors.js';
import { storeCall } from '../store/state-store.js';

interface Counter {
  failures: number;
  /** Epoch ms; no lock when absent or past. */
  lockedUntil?: number;
}

const FREE_PER_USER_AND_ADDRESS = 5;
const FREE_PER_ADDRESS = 20;
const FIRST_LOCK_MS = 1000;
const MAX_LOCK_MS = 15 * 60_000;
const FORGET_AFTER_MS = 3600_000;

export class LoginThrottle {
  constructor(
    private readonly kv: Keyv,
    private readonly deps: {
      clock: Clock;
      audit: AuditTrail;
      /** RADIUS (802.1X passwords): the longest each store call is waited for (radius.store_deadline_ms); past it, StoreUnavailableError. */
      storeDeadlineMs?: number;
    },
  ) {}

  /** Throws TooManyAttemptsError while either counter of this person at this address is locked. */
  async check(user: string, from: string | undefined): Promise<void> {
    const now = this.deps.clock.now().getTime();
    const locks = await Promise.all(this.keys(user, from).map(async (k) => (await this.read(k.key))?.lockedUntil ?? 0));
    const until = Math.max(0, ...locks);
    if (until > now) throw new TooManyAttemptsError(Math.ceil((until - now) / 1000));
  }

  /** Counts a wrong password; a counter that passes its free failures locks (audited as login.throttled). */
  async failed(user: string, from: string | undefined): Promise<void> {
    const now = this.deps.clock.now().getTime();
    for (const { key, scope, free } of this.keys(user, from)) {
      const c = (await this.read(key)) ?? { failures: 0 };
      c.failures += 1;
      if (c.failures > free) {
        const lockMs = Math.min(MAX_LOCK_MS, FIRST_LOCK_MS * 2 ** Math.min(20, c.failures - free - 1));
        c.lockedUntil = now + lockMs;
        this.deps.audit.record({
          type: 'login.throttled',
          user: user.slice(0, 64),
          ...(from ? { ip: from } : {}),
          scope,
          failures: c.failures,
          until: new Date(c.lockedUntil).toISOString(),
        });
      }
      await this.call('count a failed login', () => this.kv.set(key, c, FORGET_AFTER_MS + (c.lockedUntil ? c.lockedUntil - now : 0)));
    }
  }

  /** A success forgets this person's failures at this address (not the address's own counter). */
  async succeeded(user: string, from: string | undefined): Promise<void> {
    await this.call('clear a login counter', () => this.kv.delete(userKey(user, from)));
  }

  private keys(user: string, from: string | undefined): Array<{ key: string; scope: 'user_and_address' | 'address'; free: number }> {
    return [
      { key: userKey(user, from), scope: 'user_and_address', free: FREE_PER_USER_AND_ADDRESS },
      ...(from ? [{ key: `ip:${from}`, scope: 'address' as const, free: FREE_PER_ADDRESS }] : []),
    ];
  }

  private read(key: string): Promise<Counter | undefined> {
    return this.call('read a login counter', () => this.kv.get<Counter>(key));
  }

  private call<T>(what: string, op: () => Promise<T>): Promise<T> {
    return storeCall(what, () => withStoreDeadline(op(), this.deps.storeDeadlineMs));
  }
}

function userKey(user: string, from: string | undefined): string {
  return `user:${sameBudgetName(user)}|${from ?? '-'}`;
}

/**
 * One spelling for every way of typing a name that a directory may take for the same
 * account, so that they share one budget. LDAP compares uid as RFC 4518 prepares it:
 * compatibility forms folded (NFKC: `ＡＬＩＣＥ` is `alice`), case folded (`ß` is `ss`),
 * soft hyphens, zero-width and other ignorable characters dropped, runs of spaces
 * compared as one, leading and trailing ones ignored. Here: NFKC; default-ignorable and control
 * characters removed; white space collapsed and trimmed; then lower, upper and lower
 * case again, which folds what lower case alone leaves apart (`ß`, `ẞ` and `SS`; `ς` and
 * `σ`); NFKC again, since case mapping can leave a string unnormalised. This folds a little more
 * than a directory does (`ı` and `i` meet): two real accounts then share a budget only
 * at one address, while folding less would let every variant guess on a budget of its own.
 */
function sameBudgetName(user: string): string {
  return user
    .normalize('NFKC')
    .replace(/[\p{Default_Ignorable_Code_Point}\p{Cc}]/gu, '')
    .replace(/[\s\p{Zs}]+/gu, ' ')
    .trim()
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC');
}
