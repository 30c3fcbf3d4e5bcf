import { describe, expect, it } from 'vitest';
import { Flag, flagsOnly, fragmentAt, MAX_TLS_MESSAGE, parseTlsData, Reassembly, type TlsData } from '../../../../src/radius/eap/tls-fragments.js';

/** Octets 0, 1, 2, … (mod 251, a prime, so that a misplaced slice of any size shows). */
function counting(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => i % 251));
}

/** A fragment as the peer sends it (the type-data of its EAP-TLS response). */
function fragment(flags: number, payload: Buffer, totalLength?: number): TlsData {
  return { flags, version: 0, payload, ...(totalLength !== undefined ? { totalLength } : {}) };
}

describe('parseTlsData (RFC 5216 §3.1)', () => {
  it('reads a bare flags octet: Start, an acknowledgement', () => {
    expect(parseTlsData(Buffer.from([0x20]))).toEqual({ ok: true, value: { flags: Flag.Start, version: 0, payload: Buffer.alloc(0) } });
    expect(parseTlsData(Buffer.from([0x00]))).toEqual({ ok: true, value: { flags: 0, version: 0, payload: Buffer.alloc(0) } });
  });

  it('reads L with its 4-octet length, M, and the version bits', () => {
    const parsed = parseTlsData(Buffer.from('c1000003e8' + 'aabbcc', 'hex'));
    expect(parsed).toEqual({ ok: true, value: { flags: 0xc1, version: 1, totalLength: 1000, payload: Buffer.from('aabbcc', 'hex') } });
    const more = parseTlsData(Buffer.from('40aabb', 'hex'));
    expect(more).toEqual({ ok: true, value: { flags: Flag.More, version: 0, payload: Buffer.from('aabb', 'hex') } });
    expect(more.ok && more.value.totalLength).toBeUndefined();
  });

  it('takes L up to MAX_TLS_MESSAGE and refuses one octet more', () => {
    const at = (n: number) => Buffer.concat([Buffer.from([Flag.Length]), Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])]);
    expect(parseTlsData(at(MAX_TLS_MESSAGE)).ok).toBe(true);
    const over = parseTlsData(at(MAX_TLS_MESSAGE + 1));
    expect(over.ok).toBe(false);
    expect(!over.ok && over.problem).toMatch(/over the limit/);
    expect(parseTlsData(at(70_000)).ok).toBe(false);
    expect(parseTlsData(at(0xffffffff)).ok).toBe(false);
  });

  it.each([
    ['nothing', '', /without its flags octet/],
    ['L without its length', '80', /4-octet length is missing/],
    ['L with 3 of the 4 length octets', '80000010', /4-octet length is missing/],
  ])('refuses %s', (_name, hex, problem) => {
    const parsed = parseTlsData(Buffer.from(hex, 'hex'));
    expect(!parsed.ok && parsed.problem).toMatch(problem);
  });
});

describe('Reassembly', () => {
  it('gives back an unfragmented message at once, with or without L', () => {
    expect(new Reassembly().add(fragment(0, counting(10)))).toEqual(counting(10));
    expect(new Reassembly().add(fragment(Flag.Length, counting(10), 10))).toEqual(counting(10));
  });

  it('puts in-order fragments back together, answering "more" until the last, and is ready for the next message after', () => {
    const message = counting(2500);
    const r = new Reassembly();
    expect(r.pending).toBe(false);
    expect(r.add(fragment(Flag.Length | Flag.More, message.subarray(0, 1000), 2500))).toBe('more');
    expect(r.pending).toBe(true);
    expect(r.add(fragment(Flag.More, message.subarray(1000, 2000)))).toBe('more');
    expect(r.add(fragment(0, message.subarray(2000)))).toEqual(message);
    expect(r.pending).toBe(false);
    // The next flight starts afresh (its own L, its own count).
    expect(r.add(fragment(Flag.Length | Flag.More, counting(3), 5))).toBe('more');
    expect(r.add(fragment(0, counting(2)))).toEqual(Buffer.concat([counting(3), counting(2)]));
  });

  it('copies each fragment, so a caller reusing its buffer cannot change what was kept', () => {
    const r = new Reassembly();
    const first = Buffer.from('aaaa', 'hex');
    expect(r.add(fragment(Flag.More, first))).toBe('more');
    first.fill(0);
    expect(r.add(fragment(0, Buffer.from('bb', 'hex')))).toEqual(Buffer.from('aaaabb', 'hex'));
  });

  it('refuses an endless stream of More fragments without L once it passes MAX_TLS_MESSAGE, not before', () => {
    const r = new Reassembly();
    const piece = Buffer.alloc(1000);
    let fragments = 0;
    let last: ReturnType<Reassembly['add']> = 'more';
    while (last === 'more' && fragments < 1000) {
      last = r.add(fragment(Flag.More, piece));
      fragments++;
    }
    expect(last).toEqual({ problem: `more than ${MAX_TLS_MESSAGE} octets in fragments` });
    // Refused at the first fragment that crossed the bound: 65 × 1000 > 65 536 ≥ 65 × 1000 − 1000.
    expect(fragments).toBe(Math.floor(MAX_TLS_MESSAGE / 1000) + 1);
  });

  it('takes exactly MAX_TLS_MESSAGE octets without L', () => {
    const r = new Reassembly();
    const half = MAX_TLS_MESSAGE / 2;
    expect(r.add(fragment(Flag.More, counting(half)))).toBe('more');
    expect(r.add(fragment(0, counting(half)))).toHaveLength(MAX_TLS_MESSAGE);
  });

  it('refuses fragments that add up to more than their L announced', () => {
    const r = new Reassembly();
    expect(r.add(fragment(Flag.Length | Flag.More, counting(600), 1000))).toBe('more');
    expect(r.add(fragment(Flag.More, counting(600)))).toEqual({ problem: 'fragments of 1200 octets for a message announced as 1000' });
  });

  it('refuses a first fragment already longer than its L', () => {
    expect(new Reassembly().add(fragment(Flag.Length | Flag.More, counting(20), 10))).toEqual({ problem: 'fragments of 20 octets for a message announced as 10' });
  });

  it('refuses fragments that announce different lengths', () => {
    const r = new Reassembly();
    expect(r.add(fragment(Flag.Length | Flag.More, counting(100), 1000))).toBe('more');
    expect(r.add(fragment(Flag.Length | Flag.More, counting(100), 2000))).toEqual({ problem: 'the fragments announce different lengths (1000, then 2000)' });
  });

  it('takes the same L repeated on every fragment', () => {
    const r = new Reassembly();
    expect(r.add(fragment(Flag.Length | Flag.More, counting(100), 150))).toBe('more');
    expect(r.add(fragment(Flag.Length, counting(50), 150))).toHaveLength(150);
  });

  it('refuses a message that ends shorter than its L announced', () => {
    const r = new Reassembly();
    expect(r.add(fragment(Flag.Length | Flag.More, counting(100), 1000))).toBe('more');
    expect(r.add(fragment(0, counting(100)))).toEqual({ problem: 'a message of 200 octets announced as 1000' });
    expect(r.pending).toBe(false);
  });
});

describe('fragmentAt (RFC 5216 §2.1.5)', () => {
  /** Every fragment of `message` at `size`, as fragmentAt gives them one after the other. */
  function allFragments(message: Buffer, size: number, version = 0): Buffer[] {
    const out: Buffer[] = [];
    for (let offset = 0; out.length === 0 || offset < message.length; ) {
      const { data, next } = fragmentAt(message, offset, size, version);
      expect(next).toBeGreaterThan(offset);
      out.push(data);
      offset = next;
    }
    return out;
  }

  it.each([
    [1, 1024],
    [1024, 1024],
    [1025, 1024],
    [3000, 1024],
    [3072, 1024],
    [5000, 256],
  ])('covers a message of %i octets exactly in fragments of %i, L on the first only, M on all but the last', (length, size) => {
    const message = counting(length);
    const fragments = allFragments(message, size);
    expect(fragments).toHaveLength(Math.ceil(length / size));
    const payloads: Buffer[] = [];
    for (const [i, data] of fragments.entries()) {
      const first = i === 0;
      const last = i === fragments.length - 1;
      expect(Boolean(data[0]! & Flag.Length), `L on fragment ${i}`).toBe(first);
      expect(Boolean(data[0]! & Flag.More), `M on fragment ${i}`).toBe(!last);
      expect(data[0]! & Flag.Start).toBe(0);
      if (first) expect(data.readUInt32BE(1)).toBe(length);
      const payload = data.subarray(first ? 5 : 1);
      expect(payload.length).toBeLessThanOrEqual(size);
      if (!last) expect(payload.length).toBe(size);
      payloads.push(payload);
    }
    expect(Buffer.concat(payloads)).toEqual(message);
  });

  it('parses back into what Reassembly puts together', () => {
    const message = counting(4000);
    const r = new Reassembly();
    let result: ReturnType<Reassembly['add']> = 'more';
    for (const data of allFragments(message, 300)) {
      const parsed = parseTlsData(data);
      if (!parsed.ok) throw new Error(parsed.problem);
      result = r.add(parsed.value);
    }
    expect(result).toEqual(message);
  });

  it('keeps the version bits on every fragment (TTLS, PEAP)', () => {
    for (const data of allFragments(counting(700), 256, 1)) expect(data[0]! & 0x07).toBe(1);
    expect(flagsOnly(Flag.Start, 1)).toEqual(Buffer.from([0x21]));
    expect(flagsOnly(0)).toEqual(Buffer.from([0]));
  });
});
