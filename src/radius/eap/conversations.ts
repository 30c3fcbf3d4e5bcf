import { randomBytes } from 'node:crypto';

/**
 * The EAP conversations in progress, by the State each Access-Challenge carried
 * (RFC 2865 §5.24: the NAS echoes it in its next request). Bounded three ways, so
 * that memory stays flat whatever the NASes or a forger send: a conversation silent
 * for `timeoutMs` is forgotten, and at most `max` are kept, `maxPerNas` per NAS;
 * past a bound a new conversation is refused, never an existing one evicted (a flood
 * must not end conversations already under way).
 *
 * A Map keeps insertion order, and a conversation is re-inserted at each packet, so
 * the oldest-touched ones are at the front: expiry looks at the front only.
 */
export interface Conversation {
  /** The NAS it belongs to (its name): a State is only honoured from the NAS it was given to. */
  readonly nas: string;
  /** Called once when it is forgotten without finishing (expired, or the table closed). */
  abandon?(): void;
}

/** The State octets: a marker, the owning worker, then 16 random octets. */
const MARKER = 0x45; // "E"
const RANDOM_OCTETS = 16;
export const STATE_LENGTH = 2 + RANDOM_OCTETS;

/** The worker a State was issued by (its index), or undefined for a State that is not ours. */
export function stateOwner(state: Buffer): number | undefined {
  return state.length === STATE_LENGTH && state[0] === MARKER ? state[1]! : undefined;
}

export type OpenResult = { ok: true; state: Buffer } | { ok: false; reason: 'too_many_conversations' | 'too_many_conversations_for_nas' };

export class Conversations<C extends Conversation> {
  private readonly byState = new Map<string, { conversation: C; touched: number }>();
  private readonly perNas = new Map<string, number>();

  constructor(
    private readonly o: {
      timeoutMs: number;
      max: number;
      maxPerNas: number;
      /** This process's index among RADIUS workers (0 without workers), written into each State. */
      owner: number;
      now?: () => number;
    },
  ) {}

  get size(): number {
    return this.byState.size;
  }

  /** Keeps a new conversation; the State to send with its first challenge, or why not. */
  open(conversation: C): OpenResult {
    const now = this.now();
    this.expire(now);
    if (this.byState.size >= this.o.max) return { ok: false, reason: 'too_many_conversations' };
    const nasCount = this.perNas.get(conversation.nas) ?? 0;
    if (nasCount >= this.o.maxPerNas) return { ok: false, reason: 'too_many_conversations_for_nas' };
    const state = Buffer.allocUnsafe(STATE_LENGTH);
    state[0] = MARKER;
    state[1] = this.o.owner & 0xff;
    randomBytes(RANDOM_OCTETS).copy(state, 2);
    this.byState.set(state.toString('latin1'), { conversation, touched: now });
    this.perNas.set(conversation.nas, nasCount + 1);
    return { ok: true, state };
  }

  /** The conversation a State names, if it is live and from the same NAS; touching it restarts its timeout. */
  find(state: Buffer, nas: string): C | undefined {
    const now = this.now();
    this.expire(now);
    const key = state.toString('latin1');
    const entry = this.byState.get(key);
    if (!entry || entry.conversation.nas !== nas) return undefined;
    this.byState.delete(key);
    entry.touched = now;
    this.byState.set(key, entry);
    return entry.conversation;
  }

  /** Forgets a finished conversation (no abandon call); false when it was already gone (expired while its last response was worked on). */
  close(state: Buffer): boolean {
    const key = state.toString('latin1');
    const entry = this.byState.get(key);
    if (!entry) return false;
    this.byState.delete(key);
    this.release(entry.conversation.nas);
    return true;
  }

  /** Forgets every conversation (the server stops). */
  clear(): void {
    for (const { conversation } of this.byState.values()) conversation.abandon?.();
    this.byState.clear();
    this.perNas.clear();
  }

  /** Forgets the conversations silent for longer than the timeout (the oldest are first). */
  expire(now: number = this.now()): number {
    let expired = 0;
    for (const [key, entry] of this.byState) {
      if (now - entry.touched < this.o.timeoutMs) break;
      this.byState.delete(key);
      this.release(entry.conversation.nas);
      entry.conversation.abandon?.();
      expired++;
    }
    return expired;
  }

  private release(nas: string): void {
    const left = (this.perNas.get(nas) ?? 1) - 1;
    if (left <= 0) this.perNas.delete(nas);
    else this.perNas.set(nas, left);
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }
}
