import { StoreUnavailableError } from './errors.js';
import type { Maybe } from './maybe.js';

/**
 * `work`, or a rejection once `ms` have passed (with `failure`, an Error message or
 * a function making the error). The timer is cleared either way; the work itself is
 * not cancelled, only no longer waited for.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, failure: string | (() => Error)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof failure === 'string' ? new Error(failure) : failure()), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A read or write of the state store that RADIUS waits for at most `ms`: past it, the
 * store counts as unavailable (StoreUnavailableError), as when it is down. The call
 * itself goes on; only its answer is no longer waited for. A value read from a cache
 * (not a promise) is passed on as it is, and so is everything without a deadline
 * (`ms` undefined: a caller built without one, as unit tests build them).
 */
export function withStoreDeadline<T>(work: Promise<T>, ms: number | undefined): Promise<T>;
export function withStoreDeadline<T>(work: Maybe<T>, ms: number | undefined): Maybe<T>;
export function withStoreDeadline<T>(work: Maybe<T>, ms: number | undefined): Maybe<T> {
  if (ms === undefined || !(work instanceof Promise)) return work;
  return withDeadline(work, ms, () => new StoreUnavailableError(`the state store did not answer within ${ms} ms`));
}

/** `call`, its promise bounded by withStoreDeadline. */
export function storeCallWithin<A extends unknown[], T>(ms: number, call: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
  return (...args) => withStoreDeadline(call(...args), ms);
}
