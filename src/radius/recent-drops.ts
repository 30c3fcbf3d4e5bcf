import type { DropReason } from './packet.js';

/** One packet dropped without an answer. */
export interface DroppedPacket {
  readonly atMs: number;
  /** The NAS its source address names; undefined for a source that is not in radius.clients. */
  readonly nas?: string;
  /** The source address (and port) it came from. */
  readonly from: string;
  readonly reason: DropReason;
}

/** How many drops the console's "Recent decisions" can show: the last ones since the gateway started. */
export const RECENT_DROPS = 200;

/**
 * The last drops, in memory only. Drops are not audited on purpose (a flood of garbage
 * must not flood the trail), but the console shows the most recent ones: a fixed ring,
 * so a flood costs the same memory as a quiet day, and the oldest goes first. With RADIUS
 * workers each keeps its own and sends the main process's one what it adds (workers.ts).
 */
export class RecentDrops {
  private readonly ring: Array<DroppedPacket | undefined>;
  private next = 0;

  constructor(readonly size = RECENT_DROPS) {
    this.ring = new Array<DroppedPacket | undefined>(size);
  }

  /** Keeps the drop, forgetting the oldest once `size` are kept. */
  add(drop: DroppedPacket): void {
    this.ring[this.next] = drop;
    this.next = (this.next + 1) % this.size;
  }

  /** What is kept, newest first (workers' batches arrive out of order: sorted by time). */
  list(): DroppedPacket[] {
    return this.ring.filter((d): d is DroppedPacket => d !== undefined).sort((a, b) => b.atMs - a.atMs);
  }
}
