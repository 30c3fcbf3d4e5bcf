/** Runs `fn` while holding locks on `keys` (every key, taken in sorted order so two callers cannot deadlock). */
export type LockRunner = <T>(keys: readonly string[], fn: () => Promise<T>) => Promise<T>;

/**
 * An async mutex per key, in this process. `run` takes its keys in sorted order, so
 * two callers wanting overlapping sets of keys cannot wait for each other in a cycle.
 * Several processes need the store's own lock (redis-state-store.ts).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: Array<() => void> = [];
    try {
      for (const key of sorted) releases.push(await this.acquire(key));
      return await fn();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      // The last holder leaves no entry behind.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
