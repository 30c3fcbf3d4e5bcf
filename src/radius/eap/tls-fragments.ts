/**
 * The EAP-TLS record layer's framing (RFC 5216 §2.1.5 and §3.1; also EAP-TTLS and
 * PEAP): a flags octet, L (a 4-octet total length follows), M (more fragments), S
 * (start), and for TTLS/PEAP a version in the low bits. Pure.
 */

export const Flag = { Length: 0x80, More: 0x40, Start: 0x20 } as const;
const VERSION_MASK = 0x07;

/**
 * The largest TLS message a peer may send in fragments. A client's certificate flight
 * with a long chain is a few KiB; past this the stream is refused, so that a peer
 * sending More fragments without end cannot grow our memory.
 */
export const MAX_TLS_MESSAGE = 64 * 1024;

export interface TlsData {
  readonly flags: number;
  /** The version bits (TTLS, PEAP). */
  readonly version: number;
  /** The L field, when present. */
  readonly totalLength?: number;
  readonly payload: Buffer;
}

/** Reads the type-data of an EAP-TLS/TTLS/PEAP response. */
export function parseTlsData(data: Buffer): { ok: true; value: TlsData } | { ok: false; problem: string } {
  if (data.length < 1) return { ok: false, problem: 'an EAP-TLS packet without its flags octet' };
  const flags = data[0]!;
  const version = flags & VERSION_MASK;
  if (flags & Flag.Length) {
    if (data.length < 5) return { ok: false, problem: 'the L flag is set but the 4-octet length is missing' };
    const totalLength = data.readUInt32BE(1);
    if (totalLength > MAX_TLS_MESSAGE) return { ok: false, problem: `a TLS message of ${totalLength} octets announced, over the limit of ${MAX_TLS_MESSAGE}` };
    return { ok: true, value: { flags, version, totalLength, payload: data.subarray(5) } };
  }
  return { ok: true, value: { flags, version, payload: data.subarray(1) } };
}

/** Fragments of one TLS message from the peer, put back together. */
export class Reassembly {
  private parts: Buffer[] = [];
  private received = 0;
  private announced: number | undefined;

  /** Adds a fragment: the whole message once the last one came, 'more' before, or why the stream is refused. */
  add(fragment: TlsData): Buffer | 'more' | { problem: string } {
    if (fragment.totalLength !== undefined) {
      if (this.announced !== undefined && this.announced !== fragment.totalLength) return { problem: `the fragments announce different lengths (${this.announced}, then ${fragment.totalLength})` };
      this.announced = fragment.totalLength;
    }
    this.received += fragment.payload.length;
    if (this.received > (this.announced ?? MAX_TLS_MESSAGE)) {
      return { problem: this.announced === undefined ? `more than ${MAX_TLS_MESSAGE} octets in fragments` : `fragments of ${this.received} octets for a message announced as ${this.announced}` };
    }
    this.parts.push(Buffer.from(fragment.payload));
    if (fragment.flags & Flag.More) return 'more';
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const announced = this.announced;
    this.reset();
    if (announced !== undefined && whole.length !== announced) return { problem: `a message of ${whole.length} octets announced as ${announced}` };
    return whole;
  }

  /** Fragments received but not yet complete. */
  get pending(): boolean {
    return this.received > 0 || this.announced !== undefined;
  }

  reset(): void {
    this.parts = [];
    this.received = 0;
    this.announced = undefined;
  }
}

/**
 * The type-data of the fragment of `message` that starts at `offset`: at most `size`
 * octets of it, with M when more follows and L (the total) on the first fragment.
 */
export function fragmentAt(message: Buffer, offset: number, size: number, version = 0): { data: Buffer; next: number } {
  const end = Math.min(message.length, offset + size);
  const more = end < message.length;
  const first = offset === 0;
  const header = first ? 5 : 1;
  const data = Buffer.allocUnsafe(header + end - offset);
  data[0] = (first ? Flag.Length : 0) | (more ? Flag.More : 0) | (version & VERSION_MASK);
  if (first) data.writeUInt32BE(message.length, 1);
  message.copy(data, header, offset, end);
  return { data, next: end };
}

/** The type-data of an acknowledgement or an empty request: just the flags. */
export function flagsOnly(flags: number, version = 0): Buffer {
  return Buffer.from([flags | (version & VERSION_MASK)]);
}
