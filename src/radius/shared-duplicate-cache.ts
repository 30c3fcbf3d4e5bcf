import { withDeadline } from '../deadline.js';
import type { SharedCacheBackend } from '../store/state-store.js';
import { DUPLICATE_WINDOW_MS, MemoryDuplicateCache, type DuplicateCache, type DuplicateLookup } from './duplicate-cache.js';

/**
 * The RFC 5080 cache shared by gateways on one Redis (radius.shared_retransmission_cache):
 * a retransmission that reaches another gateway (a router failing over to its
 * secondary server) gets the first gateway's answer, and accounting is not recorded
 * twice. This process's own cache answers first; the shared one costs a round trip
 * per new request. If the store does not answer within the deadline, the request
 * is decided here as a new one: a slow store must not hold RADIUS.
 */
export class SharedDuplicateCache implements DuplicateCache {
  private readonly local: MemoryDuplicateCache;

  constructor(
    private readonly backend: SharedCacheBackend,
    private readonly deadlineMs: number,
    private readonly windowMs = DUPLICATE_WINDOW_MS,
  ) {
    this.local = new MemoryDuplicateCache(windowMs);
  }

  async begin(key: string, now: number): Promise<DuplicateLookup> {
    const local = this.local.begin(key, now);
    if (local.kind !== 'new') return local;
    let shared: string | null;
    try {
      shared = await withDeadline(this.backend.claim(key, IN_PROGRESS, this.windowMs), this.deadlineMs, 'the shared RFC 5080 cache did not answer');
    } catch {
      return local;
    }
    if (shared === null) return local;
    if (shared === IN_PROGRESS) {
      // Another gateway is deciding it: drop this copy (the router retries), and remember nothing here.
      this.local.finish(key, undefined);
      return { kind: 'in_progress' };
    }
    const response = Buffer.from(shared, 'base64');
    this.local.finish(key, response);
    return { kind: 'answered', response };
  }

  finish(key: string, response: Buffer | undefined): void {
    this.local.finish(key, response);
    const done = response ? this.backend.put(key, response.toString('base64'), this.windowMs) : this.backend.remove(key);
    done.catch(() => undefined);
  }
}

/** What a key holds while its request is being decided (never valid base64 of an answer). */
const IN_PROGRESS = '-';
