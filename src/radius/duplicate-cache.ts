/**
 * RFC 5080 §2.2.2: a retransmission (same source address and port, Identifier and
 * Request Authenticator) within a short time is answered with the same response,
 * without running policy or recording accounting again. A request still being
 * worked on when its retransmission arrives makes the copy wait for nothing: it is
 * dropped, and the NAS's next retry finds the answer.
 */
import { GenerationalMap } from '../generational-map.js';

export type DuplicateLookup = { kind: 'new' } | { kind: 'answered'; response: Buffer } | { kind: 'in_progress' };

/** Remembers recent requests and their answers. */
export interface DuplicateCache {
  /** Looks a request up; a new one is marked as in progress. (Shared caches answer asynchronously.) */
  begin(key: string, now: number): DuplicateLookup | Promise<DuplicateLookup>;
  /** Records the answer of a request begun here, or forgets it when none was sent (so a retry is worked on afresh). */
  finish(key: string, response: Buffer | undefined): void;
}

/** The RFC 5080 window. */
export const DUPLICATE_WINDOW_MS = 30_000;

interface Entry {
  at: number;
  /**
   * The answer's bytes as a latin1 string: a flat string is about a third of a small
   * Buffer's footprint, and holds no slice of Node's shared 8 KiB buffer pool alive
   * (fuzz.test.ts once saw 6,566 cached slices hold 51 MB).
   */
  response: string | undefined;
}

/**
 * In one process's memory, bounded in entries and in time (GenerationalMap: two
 * generations of at most a window each, O(1) whatever the load).
 */
export class MemoryDuplicateCache implements DuplicateCache {
  private readonly entries: GenerationalMap<string, Entry>;

  constructor(
    private readonly windowMs = DUPLICATE_WINDOW_MS,
    maxEntries = 100_000,
  ) {
    this.entries = new GenerationalMap(maxEntries, windowMs);
  }

  begin(key: string, now: number): DuplicateLookup {
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.windowMs) {
      return entry.response !== undefined ? { kind: 'answered', response: Buffer.from(entry.response, 'latin1') } : { kind: 'in_progress' };
    }
    this.entries.set(key, { at: now, response: undefined }, now);
    return { kind: 'new' };
  }

  finish(key: string, response: Buffer | undefined): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    // The window runs from the original request, as the NAS's retry timer does.
    if (response) entry.response = response.toString('latin1');
    else this.entries.delete(key);
  }

  /** How many requests are remembered (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

/** The key of a request: where it came from, on which port, its Identifier and Request Authenticator. */
export function duplicateKey(port: string, address: string, sourcePort: number, identifier: number, authenticator: Buffer): string {
  // One flat latin1 string from one buffer: a template string would be kept as a rope
  // of pieces for every cached request (bench:scale: 36 MB of pieces at 200,000).
  const head = `${port}|${address}|`;
  const key = Buffer.allocUnsafe(head.length + 19);
  key.write(head, 0, 'latin1');
  key.writeUInt16BE(sourcePort, head.length);
  key[head.length + 2] = identifier;
  authenticator.copy(key, head.length + 3, 0, 16);
  return key.toString('latin1');
}
