import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { StateStore } from '../store/state-store.js';

/** What RADIUS did for one router: answers and drops counted, and when it was last answered. */
export interface NasCounts {
  readonly accepts: number;
  readonly rejects: number;
  readonly drops: number;
  /** Unix milliseconds; 0: never answered. */
  readonly lastAnswerMs: number;
}

const ZERO: NasCounts = { accepts: 0, rejects: 0, drops: 0, lastAnswerMs: 0 };

/**
 * How often the counts are written to the store. RADIUS counts in memory (metrics, in
 * each worker); writing per packet would put a store write on every answer. A minute
 * at most is lost to a crash (a stop writes them), and the Routers page writes before
 * it reads, so it is always current.
 */
export const NAS_FLUSH_INTERVAL_MS = 60_000;

/** A gateway gone for this long has its routers' entries expire (those written by the running ones are renewed at each flush). */
const ENTRY_TTL_MS = 90 * 86_400_000;

/**
 * The Routers page's counts across restarts. RADIUS counts since start in its metrics
 * (summed over the workers, which keep them); this keeps, per gateway and router, the
 * counts of earlier runs (`base`, read at start) and writes base + counted since start
 * every NAS_FLUSH_INTERVAL_MS, at stop, and before the page reads. A write is thus the
 * same total whenever it happens, never added twice. Keys are `host/nas`: gateways
 * sharing a Redis store each keep theirs, and the page sums them.
 */
export class NasActivity {
  /** This gateway's counts of earlier runs; undefined until read (nothing is written before: it would replace them with less). */
  private base: Map<string, NasCounts> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** What was last written under each key: an unchanged router is not written again. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly d: {
      /** The state store (its `nas` namespace). */
      store: Pick<StateStore, 'kv' | 'entries'>;
      /** This gateway's name in the keys (the host name). */
      host: string;
      /** The configured routers' names, as the config that runs now has them (a reload changes them). */
      nas: () => readonly string[];
      /** What RADIUS counted since this gateway started, per router (from its metrics and its workers'). */
      sinceStart: () => Promise<ReadonlyMap<string, NasCounts>>;
      clock: Clock;
      log: Logger;
    },
  ) {}

  /** Reads this gateway's earlier counts (again at the next flush if the store fails now) and starts writing every NAS_FLUSH_INTERVAL_MS. */
  async start(): Promise<void> {
    await this.load().catch((err: unknown) => this.notSaved(err));
    this.timer = setInterval(() => void this.flush().catch((err: unknown) => this.notSaved(err)), NAS_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Writes every router's total (earlier runs + this one) that changed since the last write. */
  async flush(): Promise<void> {
    const base = this.base ?? (await this.load());
    const now = await this.d.sinceStart();
    for (const nas of this.d.nas()) {
      const total = add(base.get(nas) ?? ZERO, now.get(nas) ?? ZERO);
      if (total.lastAnswerMs === 0 && total.drops === 0) continue;
      const text = JSON.stringify(total);
      const key = this.key(nas);
      if (this.written.get(key) === text) continue;
      await this.d.store.kv.nas.set(key, total, ENTRY_TTL_MS);
      this.written.set(key, text);
    }
  }

  /** Writes once more and stops the timer (before the RADIUS workers stop: their counts are read from them). */
  async stop(): Promise<void> {
    if (this.timer === undefined) return; // never started (a start-up that failed): earlier counts were not read
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Every router's counts over all runs of every gateway on this store (written first, so this gateway's are current). */
  async totals(): Promise<Map<string, NasCounts>> {
    await this.flush().catch((err: unknown) => this.notSaved(err));
    const out = new Map<string, NasCounts>();
    const wanted = new Set(this.d.nas());
    const now = this.d.clock.now().getTime();
    for await (const entry of this.d.store.entries('nas')) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) continue;
      const nas = entry.key.slice(entry.key.indexOf('/') + 1);
      if (wanted.has(nas)) out.set(nas, add(out.get(nas) ?? ZERO, entry.value as NasCounts));
    }
    return out;
  }

  private async load(): Promise<Map<string, NasCounts>> {
    const base = new Map<string, NasCounts>();
    for (const nas of this.d.nas()) {
      const stored = (await this.d.store.kv.nas.get(this.key(nas))) as NasCounts | undefined;
      if (stored) base.set(nas, stored);
    }
    this.base = base;
    return base;
  }

  private notSaved(err: unknown): void {
    this.d.log.warn({ err, event: 'nas.activity_not_saved' }, 'router counts not saved; trying again at the next flush');
  }

  private key(nas: string): string {
    return `${this.d.host}/${nas}`;
  }
}

function add(a: NasCounts, b: NasCounts): NasCounts {
  return { accepts: a.accepts + b.accepts, rejects: a.rejects + b.rejects, drops: a.drops + b.drops, lastAnswerMs: Math.max(a.lastAnswerMs, b.lastAnswerMs) };
}
