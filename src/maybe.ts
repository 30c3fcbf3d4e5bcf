/**
 * A value a store has at once or will have: the embedded SQLite store reads synchronously,
 * Redis answers later. Readers take what a read returns as it is and continue with
 * andThen, the one place that tells the two apart, so that no caller needs to know which
 * store it runs on, and a RADIUS answer on SQLite takes one turn and no promise
 * (bench:radius: a promise per request had cost a fifth of the CPU). `await` works on both.
 */
export type Maybe<T> = T | Promise<T>;

/**
 * Continues with what `read` gives: at once when it is a value, when it settles when it is
 * a promise. `failed`, when given, answers a read that throws or rejects (otherwise that
 * failure goes on as it came); what `next` throws is never caught here: it is the
 * caller's own failure, not the read's.
 */
export function andThen<T, U>(read: () => Maybe<T>, next: (value: T) => Maybe<U>, failed?: (err: unknown) => Maybe<U>): Maybe<U> {
  let value: Maybe<T>;
  try {
    value = read();
  } catch (err) {
    if (failed) return failed(err);
    throw err;
  }
  return value instanceof Promise ? value.then(next, failed) : next(value);
}
