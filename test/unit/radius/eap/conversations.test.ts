import { describe, expect, it } from 'vitest';
import { Conversations, STATE_LENGTH, stateOwner, type Conversation } from '../../../../src/radius/eap/conversations.js';

/** A conversation that counts how often it was abandoned. */
class Probe implements Conversation {
  abandoned = 0;
  constructor(readonly nas: string) {}
  abandon(): void {
    this.abandoned++;
  }
}

/** A table on a clock the test moves by hand. */
function table(o: { timeoutMs?: number; max?: number; maxPerNas?: number; owner?: number } = {}) {
  const clock = { ms: 1_000_000 };
  const conversations = new Conversations<Probe>({ timeoutMs: o.timeoutMs ?? 30_000, max: o.max ?? 100, maxPerNas: o.maxPerNas ?? 100, owner: o.owner ?? 0, now: () => clock.ms });
  return { conversations, clock };
}

function open(conversations: Conversations<Probe>, conversation: Probe): Buffer {
  const opened = conversations.open(conversation);
  if (!opened.ok) throw new Error(`not opened: ${opened.reason}`);
  return opened.state;
}

describe('Conversations', () => {
  it('opens, finds by State, and closes without abandoning', () => {
    const { conversations } = table();
    const a = new Probe('nas-a');
    const b = new Probe('nas-a');
    const sa = open(conversations, a);
    const sb = open(conversations, b);
    expect(sa).toHaveLength(STATE_LENGTH);
    expect(sa.equals(sb)).toBe(false);
    expect(conversations.size).toBe(2);
    expect(conversations.find(sa, 'nas-a')).toBe(a);
    expect(conversations.find(Buffer.from(sb), 'nas-a')).toBe(b); // by value, not by buffer identity
    conversations.close(sa);
    expect(conversations.find(sa, 'nas-a')).toBeUndefined();
    expect(conversations.size).toBe(1);
    conversations.close(sa); // twice: nothing happens
    expect(conversations.size).toBe(1);
    expect(a.abandoned).toBe(0);
  });

  it('does not find a State shown by another NAS, and keeps it for its own', () => {
    const { conversations } = table();
    const a = new Probe('nas-a');
    const state = open(conversations, a);
    expect(conversations.find(state, 'nas-b')).toBeUndefined();
    expect(conversations.find(state, 'nas-a')).toBe(a);
  });

  it('does not find a State it never issued', () => {
    const { conversations } = table();
    open(conversations, new Probe('nas-a'));
    expect(conversations.find(Buffer.alloc(STATE_LENGTH), 'nas-a')).toBeUndefined();
    expect(conversations.find(Buffer.alloc(0), 'nas-a')).toBeUndefined();
  });

  it('forgets a conversation silent for the timeout, and abandons it once', () => {
    const { conversations, clock } = table({ timeoutMs: 5000 });
    const a = new Probe('nas-a');
    const state = open(conversations, a);
    clock.ms += 4999;
    expect(conversations.find(state, 'nas-a')).toBe(a);
    clock.ms += 5000;
    expect(conversations.find(state, 'nas-a')).toBeUndefined();
    expect(a.abandoned).toBe(1);
    expect(conversations.size).toBe(0);
    // Nothing later abandons it again: not another expiry, not clear().
    clock.ms += 60_000;
    expect(conversations.expire()).toBe(0);
    conversations.clear();
    expect(a.abandoned).toBe(1);
  });

  it('says whether close found the conversation: not when it expired while its last response was worked on (counted out once)', () => {
    const { conversations, clock } = table({ timeoutMs: 5000 });
    const a = new Probe('nas-a');
    const state = open(conversations, a);
    expect(conversations.find(state, 'nas-a')).toBe(a);
    // The response is being worked on (a slow directory) past the timeout: expiry abandons it.
    clock.ms += 6000;
    expect(conversations.expire()).toBe(1);
    expect(a.abandoned).toBe(1);
    // Its end then closes nothing: the handler must not count it out a second time.
    expect(conversations.close(state)).toBe(false);
    const b = new Probe('nas-a');
    expect(conversations.close(open(conversations, b))).toBe(true);
  });

  it('expires only the silent ones, oldest first, and gives their NAS its room back', () => {
    const { conversations, clock } = table({ timeoutMs: 5000, maxPerNas: 2 });
    const old = new Probe('nas-a');
    open(conversations, old);
    clock.ms += 3000;
    const young = new Probe('nas-a');
    const youngState = open(conversations, young);
    expect(conversations.open(new Probe('nas-a'))).toEqual({ ok: false, reason: 'too_many_conversations_for_nas' });
    clock.ms += 2000; // old: 5000 ms silent, young: 2000 ms
    expect(conversations.expire()).toBe(1);
    expect(old.abandoned).toBe(1);
    expect(young.abandoned).toBe(0);
    expect(conversations.find(youngState, 'nas-a')).toBe(young);
    expect(conversations.open(new Probe('nas-a')).ok).toBe(true);
  });

  it('restarts the timeout when a conversation is found', () => {
    const { conversations, clock } = table({ timeoutMs: 5000 });
    const a = new Probe('nas-a');
    const b = new Probe('nas-a');
    const sa = open(conversations, a);
    open(conversations, b);
    for (let i = 0; i < 5; i++) {
      clock.ms += 4000;
      expect(conversations.find(sa, 'nas-a'), `after ${(i + 1) * 4} s`).toBe(a);
    }
    // a was touched each time; b, opened after it but never touched, went first.
    expect(b.abandoned).toBe(1);
    expect(a.abandoned).toBe(0);
    expect(conversations.size).toBe(1);
  });

  it('a failed find from the wrong NAS does not restart the timeout', () => {
    const { conversations, clock } = table({ timeoutMs: 5000 });
    const a = new Probe('nas-a');
    const state = open(conversations, a);
    clock.ms += 4000;
    expect(conversations.find(state, 'nas-b')).toBeUndefined();
    clock.ms += 1000;
    expect(conversations.find(state, 'nas-a')).toBeUndefined();
    expect(a.abandoned).toBe(1);
  });

  it('refuses new conversations past max, and keeps the old ones', () => {
    const { conversations } = table({ max: 3, maxPerNas: 100 });
    const kept = [new Probe('nas-a'), new Probe('nas-b'), new Probe('nas-c')];
    const states = kept.map((c) => open(conversations, c));
    expect(conversations.open(new Probe('nas-d'))).toEqual({ ok: false, reason: 'too_many_conversations' });
    expect(conversations.open(new Probe('nas-a'))).toEqual({ ok: false, reason: 'too_many_conversations' });
    expect(conversations.size).toBe(3);
    for (const [i, c] of kept.entries()) expect(conversations.find(states[i]!, c.nas)).toBe(c);
    expect(kept.map((c) => c.abandoned)).toEqual([0, 0, 0]);
    // A finished one makes room.
    conversations.close(states[0]!);
    expect(conversations.open(new Probe('nas-d')).ok).toBe(true);
  });

  it('refuses new conversations of a NAS past maxPerNas, keeps its old ones, and still opens for other NASes', () => {
    const { conversations } = table({ max: 100, maxPerNas: 2 });
    const a1 = new Probe('nas-a');
    const a2 = new Probe('nas-a');
    const s1 = open(conversations, a1);
    const s2 = open(conversations, a2);
    expect(conversations.open(new Probe('nas-a'))).toEqual({ ok: false, reason: 'too_many_conversations_for_nas' });
    expect(conversations.open(new Probe('nas-b')).ok).toBe(true);
    expect(conversations.find(s1, 'nas-a')).toBe(a1);
    expect(conversations.find(s2, 'nas-a')).toBe(a2);
    expect(a1.abandoned + a2.abandoned).toBe(0);
    conversations.close(s2);
    expect(conversations.open(new Probe('nas-a')).ok).toBe(true);
  });

  it('abandons every conversation once when cleared', () => {
    const { conversations } = table();
    const all = [new Probe('nas-a'), new Probe('nas-b')];
    for (const c of all) open(conversations, c);
    conversations.clear();
    expect(all.map((c) => c.abandoned)).toEqual([1, 1]);
    expect(conversations.size).toBe(0);
    expect(conversations.open(new Probe('nas-a')).ok).toBe(true);
  });
});

describe('stateOwner', () => {
  it('reads the worker written into each State', () => {
    for (const owner of [0, 1, 7, 255]) {
      const { conversations } = table({ owner });
      expect(stateOwner(open(conversations, new Probe('nas-a')))).toBe(owner);
    }
  });

  it('says undefined for a State that is not ours', () => {
    expect(stateOwner(Buffer.alloc(0))).toBeUndefined();
    expect(stateOwner(Buffer.alloc(STATE_LENGTH))).toBeUndefined(); // no marker
    const { conversations } = table({ owner: 3 });
    const state = open(conversations, new Probe('nas-a'));
    expect(stateOwner(state.subarray(0, STATE_LENGTH - 1))).toBeUndefined();
    expect(stateOwner(Buffer.concat([state, Buffer.from([0])]))).toBeUndefined();
  });
});
