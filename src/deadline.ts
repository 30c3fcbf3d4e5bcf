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
