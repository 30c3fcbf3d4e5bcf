/**
 * RFC 5080 §2.2.2: a retransmission (same source address and port, Identifier and
 * Request Authenticator) within a short time is answered with the same response,
 * without running policy or recording accounting again. A request still being
 * worked on when its retransmission arrives makes the copy wait for nothing: it is
 * dropped, and the NAS's next retry finds the answer.
 */
import { GenerationalMap } from '../generational-map.js';

export type DuplicateLookup = { kind: 'new' } | { kind: 'answered'; response: Buffer } | { kind: 'in_progress' };

/** Remembers recent requests and their answers, under duplicateKey's keys (latin1 text: one octet a character, as the table compares them). */
export interface DuplicateCache {
  /** Looks a request up; a new one is marked as in progress. (Shared caches answer asynchronously.) */
  begin(key: string, now: number): DuplicateLookup | Promise<DuplicateLookup>;
  /** Records the answer of a request begun here, or forgets it when none was sent (so a retry is worked on afresh). */
  finish(key: string, response: Buffer | undefined): void;
}

/** The RFC 5080 window. */
export const DUPLICATE_WINDOW_MS = 30_000;

/**
 * One request in the table: 256 octets.
 *   0        state: EMPTY, IN_PROGRESS or ANSWERED
 *   1        key length
 *   2..3     answer length
 *   8..15    when the request arrived (ms, float64)
 *   16..79   the key (duplicateKey, latin1)
 *   80..255  the answer
 */
const SLOT = 256;
const KEY_AT = 16;
const KEY_MAX = 64;
const RESPONSE_AT = KEY_AT + KEY_MAX;
const RESPONSE_MAX = SLOT - RESPONSE_AT;
const EMPTY = 0;
const IN_PROGRESS = 1;
const ANSWERED = 2;
/** Slots a key may use (a set): the oldest of them is replaced when all are taken. */
const WAYS = 4;

const NEW: DuplicateLookup = Object.freeze({ kind: 'new' });
const BUSY: DuplicateLookup = Object.freeze({ kind: 'in_progress' });

/**
 * In one process's memory, bounded in entries and in time: a table of fixed slots in
 * one Buffer, outside V8's heap. Every request is remembered for the window, so a
 * JS object per request (its key, its entry, its answer) lived long enough to be
 * copied twice by the young-generation GC, and that copying was most of each of its
 * pauses, which set the p99 (bench:radius --gc). Keys go to a set of WAYS slots by
 * their FNV-1a hash; a full set gives up its oldest entry (a retransmission of it is
 * then decided again, as when it has left the window). Answers longer than a slot
 * holds (a Cisco redirect URL, say) are kept in a small map beside it.
 */
export class MemoryDuplicateCache implements DuplicateCache {
  private readonly slots: Buffer;
  /**
   * The slots' arrival times (octets 8..15 of each), read as numbers: Buffer's
   * readDoubleLE boxed each one it returned, a dozen allocations per request.
   */
  private readonly times: Float64Array;
  private readonly sets: number;
  /** A key written as latin1 bytes, for comparing with the table's. */
  private readonly probe = Buffer.alloc(KEY_MAX);
  /** The key begin() last marked in progress, and its slot: finish() of that key needs no search. */
  private begun: string | undefined;
  private begunSlot = -1;
  /** Answers too long for a slot (and keys too long for one), as latin1 text. */
  private readonly large: GenerationalMap<string, { at: number; response: string | undefined }>;

  /** @param maxEntries the most requests remembered: the table has the largest power of two of sets of WAYS slots within it. */
  constructor(
    private readonly windowMs = DUPLICATE_WINDOW_MS,
    maxEntries = 65_536,
  ) {
    let sets = 1;
    while (sets * 2 * WAYS <= maxEntries) sets *= 2;
    this.sets = sets;
    // Buffer.alloc gives it an ArrayBuffer of its own (never Node's pool): the times line up at multiples of 8.
    this.slots = Buffer.alloc(sets * WAYS * SLOT);
    this.times = new Float64Array(this.slots.buffer, this.slots.byteOffset, this.slots.length / 8);
    // As many as the table: a router whose every answer is long (a Cisco redirect) keeps the same reach.
    this.large = new GenerationalMap(Math.max(2, maxEntries), windowMs);
  }

  begin(key: string, now: number): DuplicateLookup {
    if (key.length > KEY_MAX || this.large.size > 0) {
      const entry = this.large.get(key);
      if (entry && now - entry.at < this.windowMs) {
        return entry.response !== undefined ? { kind: 'answered', response: Buffer.from(entry.response, 'latin1') } : BUSY;
      }
      if (key.length > KEY_MAX) {
        this.large.set(key, { at: now, response: undefined }, now);
        return NEW;
      }
    }
    const found = this.find(key, now);
    if (found >= 0) {
      const state = this.slots[found]!;
      if (state === IN_PROGRESS) return BUSY;
      const at = found + RESPONSE_AT;
      return { kind: 'answered', response: Buffer.from(this.slots.subarray(at, at + this.slots.readUInt16LE(found + 2))) };
    }
    const slot = this.freeSlot(key, now);
    this.begun = key;
    this.begunSlot = slot;
    this.slots[slot] = IN_PROGRESS;
    this.slots[slot + 1] = key.length;
    this.slots.writeUInt16LE(0, slot + 2);
    this.times[(slot + 8) / 8] = now;
    this.probe.copy(this.slots, slot + KEY_AT, 0, key.length);
    return NEW;
  }

  finish(key: string, response: Buffer | undefined): void {
    if (key.length <= KEY_MAX) {
      // Mostly the request begun last (SQLite answers in the same turn): its slot is known,
      // as every begin() that writes a slot names its own key in `begun`.
      const slot = key === this.begun ? this.begunSlot : this.find(key, Number.NEGATIVE_INFINITY);
      if (slot >= 0 && this.slots[slot] === IN_PROGRESS) {
        if (response && response.length <= RESPONSE_MAX) {
          response.copy(this.slots, slot + RESPONSE_AT);
          this.slots.writeUInt16LE(response.length, slot + 2);
          this.slots[slot] = ANSWERED;
          return;
        }
        this.slots[slot] = EMPTY;
        // The window runs from the original request, as the NAS's retry timer does.
        if (response) {
          const at = this.times[(slot + 8) / 8]!;
          this.large.set(key, { at, response: response.toString('latin1') }, at);
        }
        return;
      }
    }
    const entry = this.large.get(key);
    if (!entry) return;
    if (response) entry.response = response.toString('latin1');
    else this.large.delete(key);
  }

  /** How many requests are remembered (for tests and metrics), whatever their age. */
  get size(): number {
    let n = this.large.size;
    for (let slot = 0; slot < this.slots.length; slot += SLOT) if (this.slots[slot] !== EMPTY) n++;
    return n;
  }

  /** The slot holding `key` (in progress or answered) and arrived within the window of `now`, or -1. Leaves the key's bytes in `probe`. */
  private find(key: string, now: number): number {
    const length = this.probe.write(key, 0, 'latin1');
    const first = this.setOf(key) * WAYS * SLOT;
    for (let way = 0; way < WAYS; way++) {
      const slot = first + way * SLOT;
      if (this.slots[slot] === EMPTY || this.slots[slot + 1] !== length) continue;
      if (now - this.times[(slot + 8) / 8]! >= this.windowMs) continue;
      if (this.sameKey(slot, length)) return slot;
    }
    return -1;
  }

  /** Whether the slot's key is the `length` octets in `probe` (compared here: Buffer's compare with ranges allocated at each call). */
  private sameKey(slot: number, length: number): boolean {
    const at = slot + KEY_AT;
    for (let i = 0; i < length; i++) if (this.slots[at + i] !== this.probe[i]) return false;
    return true;
  }

  /** Where a new key goes in its set: an empty or expired slot, else the oldest. */
  private freeSlot(key: string, now: number): number {
    const first = this.setOf(key) * WAYS * SLOT;
    let oldest = first;
    for (let way = 0; way < WAYS; way++) {
      const slot = first + way * SLOT;
      if (this.slots[slot] === EMPTY || now - this.times[(slot + 8) / 8]! >= this.windowMs) return slot;
      if (this.times[(slot + 8) / 8]! < this.times[(oldest + 8) / 8]!) oldest = slot;
    }
    return oldest;
  }

  /** FNV-1a over the key's characters, masked to a set. */
  private setOf(key: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return (h >>> 0) & (this.sets - 1);
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
