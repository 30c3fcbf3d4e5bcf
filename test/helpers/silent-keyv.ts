import Keyv from 'keyv';

/** A promise that never settles: a call to a store that takes it and never answers. */
export const never = <T = never>(): Promise<T> => new Promise<T>(() => {});

/**
 * A Keyv whose store takes every call and never answers, as a frozen Redis does (unit
 * tests; the integration suite freezes a real redis-server, helpers/redis.ts).
 */
export function silentKeyv(): Keyv {
  return new Keyv({ store: { get: never, set: never, delete: never, clear: never } as unknown as Map<string, unknown> });
}
