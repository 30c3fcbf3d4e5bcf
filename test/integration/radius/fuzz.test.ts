import { createHash, createHmac, randomInt } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Code,
  decodeAttributes,
  encodeResponse,
  scanPacket,
  verifyMessageAuthenticator,
  verifyRequestAuthenticator,
  type ScannedPacket,
} from '../../../src/radius/packet.js';
import type { AttributeTuple } from '../../../src/radius/radius-lib.js';
import { parseMac } from '../../../src/mac.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { answers, Backdoor, RawNas } from '../../helpers/raw-nas.js';
import {
  A,
  assemble,
  attr,
  expectedResponseAuthenticator,
  ipAttr,
  macAuthRequest,
  maPlaceholder,
  signAccessRequest,
  signAccountingRequest,
  walk,
} from '../../unit/radius/radius-bytes.js';

/**
 * Fuzzing the RADIUS edge. Requirement: malformed packets (bad length fields, truncated
 * or zero-length attributes, oversized packets, unknown codes on a port) are dropped and
 * counted by reason, never crash the server and are never answered.
 *
 * Everything random comes from one seeded generator, so a failure reproduces with
 * ENROLLGATE_FUZZ_SEED=<the seed printed below>. (UDP may lose a datagram under load;
 * that changes counts, never what is sent.) The long loops are budgeted by time with a
 * floor on their count, so that a loaded machine sends a shorter prefix of the same
 * sequence rather than failing the run at the timeout; each prints how far it got.
 */

const SECRET = TEST_NAS_SECRET;
const MAX_PACKET = 4096;

function fuzzSeed(): number {
  const given = process.env.ENROLLGATE_FUZZ_SEED;
  if (given === undefined || given.trim() === '') return randomInt(2 ** 32);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`ENROLLGATE_FUZZ_SEED must be an integer from 0 to 4294967295, got ${JSON.stringify(given)}`);
  }
  return seed;
}

const SEED = fuzzSeed();
console.log(`RADIUS fuzz seed ${SEED} (reproduce with ENROLLGATE_FUZZ_SEED=${SEED})`);

/** sfc32 (PractRand-tested, tiny): fast, and the same sequence on every platform. */
class Rng {
  private a: number;
  private b = 0x9e3779b9;
  private c = 0x243f6a88;
  private d = 0xb7e15162;

  constructor(seed: number) {
    this.a = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** 0 ≤ n < max. */
  int(max: number): number {
    return Math.floor((this.u32() / 2 ** 32) * max);
  }

  /** min ≤ n ≤ max. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// Valid packets, signed with radius-bytes (independent of src/radius), and what to do to them.

type Port = 'auth' | 'acct';

/** One datagram to send, and whether the server may answer it. */
interface Datagram {
  readonly bytes: Buffer;
  readonly port: Port;
  readonly kind: 'random' | 'mutated' | 'resigned';
  /** The request is valid (authenticated and well-formed), so an answer is allowed (not required: policy or decoding may still drop it). */
  readonly answerable: boolean;
}

const VSA = 26;
const NAS_IDENTIFIER = 32;
const REPLY_MESSAGE = 18;
const CONNECT_INFO = 77;
const NAS_PORT_ID = 87;
const STATE = 24;
const CLASS = 25;
const EAP_MESSAGE = 79;
const VENDORS = [9, 311, 14122, 14823, 14988, 25053, 41112] as const;
const STRING_TYPES = [A.UserName, A.CalledStationId, A.CallingStationId, NAS_IDENTIFIER, CONNECT_INFO, NAS_PORT_ID, A.AcctSessionId, REPLY_MESSAGE] as const;
const INTEGER_TYPES = [5, A.ServiceType, A.SessionTimeout, 61, A.AcctStatusType, A.AcctInputOctets, A.AcctOutputOctets, A.AcctSessionTime, A.AcctTerminateCause, A.AcctInputGigawords] as const;
/** Codes the server never serves: unknown ones, responses, and RFC 5176 requests (sent to the NAS, never to us). */
const UNSERVED_CODES = [0, 2, 3, 5, 6, 11, 13, 40, 41, 42, 43, 44, 45, 255] as const;

/** A random unicast MAC in one of the notations routers use. */
function macText(rng: Rng): string {
  const b = rng.bytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02; // locally administered, unicast: a device MAC
  const hex = b.toString('hex');
  const pairs = hex.match(/../g)!;
  switch (rng.int(4)) {
    case 0:
      return pairs.join(':');
    case 1:
      return pairs.join('-').toUpperCase();
    case 2:
      return `${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}`;
    default:
      return hex;
  }
}

/** Strings a router (or an attacker) might put where a MAC is expected. */
function garbageText(rng: Rng, max = 253): Buffer {
  switch (rng.int(7)) {
    case 0:
      return rng.bytes(rng.range(1, max)); // anything, invalid UTF-8 included
    case 1:
      return Buffer.from('01:00:5e:00:00:01'); // multicast
    case 2:
      return Buffer.from('00-00-00-00-00-00'); // all zero
    case 3:
      return Buffer.from(`${macText(rng).slice(0, -1)}g`); // almost a MAC
    case 4:
      return Buffer.from(` ${macText(rng)}\u0000\t`); // a MAC in padding and NUL
    case 5:
      return Buffer.from('__proto__');
    default:
      return Buffer.from('💥'.repeat(rng.range(1, Math.floor(max / 4))));
  }
}

function vsa(vendor: number, subs: ReadonlyArray<readonly [number, Buffer]>): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(vendor >>> 0);
  return attr(VSA, Buffer.concat([head, ...subs.map(([type, value]) => Buffer.concat([Buffer.from([type, value.length + 2]), value]))]));
}

function u32Attr(type: number, value: number): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(value >>> 0);
  return attr(type, v);
}

/** Adds attributes from `make` while the packet stays within `budget` octets (header included). */
function fill(rng: Rng, attributes: Buffer[], budget: number, make: (room: number) => Buffer | undefined): Buffer[] {
  let size = 20 + attributes.reduce((n, a) => n + a.length, 0);
  for (;;) {
    const room = Math.min(255, budget - size);
    if (room < 2) return attributes;
    const next = make(room);
    if (!next || next.length > room) return attributes;
    attributes.push(next);
    size += next.length;
  }
}

/** Proxy-State attributes of random opaque values, filling up to `budget` octets. */
function proxyStates(rng: Rng, attributes: Buffer[], budget: number): Buffer[] {
  return fill(rng, attributes, budget, (room) => (room < 3 ? undefined : attr(A.ProxyState, rng.bytes(rng.range(1, room - 2)))));
}

function accessRequest(rng: Rng, attributes: readonly Buffer[]): Buffer {
  // Message-Authenticator first or last: both are valid (RFC 3579 §3.2).
  const all = rng.chance(0.5) ? [maPlaceholder(), ...attributes] : [...attributes, maPlaceholder()];
  return signAccessRequest(assemble(Code.AccessRequest, rng.int(256), rng.bytes(16), all), SECRET);
}

function statusServer(rng: Rng, attributes: readonly Buffer[] = []): Buffer {
  return signAccessRequest(assemble(Code.StatusServer, rng.int(256), rng.bytes(16), [maPlaceholder(), ...attributes]), SECRET);
}

function accountingRequest(rng: Rng, attributes: readonly Buffer[], withMa = rng.chance(0.3)): Buffer {
  const all = withMa ? [...attributes, maPlaceholder()] : attributes;
  return signAccountingRequest(assemble(Code.AccountingRequest, rng.int(256), Buffer.alloc(16), all), SECRET);
}

/** A valid request of each kind, as a router sends it; some carry Proxy-State and a vendor attribute. */
function validRequest(rng: Rng): { bytes: Buffer; port: Port } {
  const mac = macText(rng);
  const extra = [
    ...(rng.chance(0.3) ? [vsa(rng.pick(VENDORS), [[rng.range(1, 40), rng.bytes(rng.range(1, 20))]])] : []),
    ...(rng.chance(0.2) ? [attr(A.ProxyState, rng.bytes(rng.range(1, 16)))] : []),
  ];
  switch (rng.int(3)) {
    case 0:
      return { bytes: accessRequest(rng, [attr(A.UserName, mac), attr(A.CallingStationId, mac), ipAttr(A.NasIpAddress, '192.0.2.1'), ...extra]), port: 'auth' };
    case 1:
      return {
        bytes: accountingRequest(rng, [
          u32Attr(A.AcctStatusType, rng.pick([1, 2, 3])),
          attr(A.AcctSessionId, rng.bytes(8).toString('hex')),
          attr(A.CallingStationId, mac),
          u32Attr(A.AcctInputOctets, rng.u32()),
          ...extra,
        ]),
        port: 'acct',
      };
    default:
      return { bytes: statusServer(rng, extra), port: rng.chance(0.5) ? 'auth' : 'acct' };
  }
}

function withLength(bytes: Buffer, length: number): Buffer {
  const out = Buffer.from(bytes);
  out.writeUInt16BE(length & 0xffff, 2);
  return out;
}

/**
 * (b) A valid request, then changed. Only padding past the Length field keeps it valid
 * (RFC 2865 §3: octets beyond the Length are ignored); every other change touches bytes the
 * Request Authenticator or Message-Authenticator covers, or breaks the structure.
 */
function mutated(rng: Rng): Datagram {
  const base = validRequest(rng);
  const b = base.bytes;
  const attrs = walk(b);
  const dropped = (bytes: Buffer, port: Port = base.port): Datagram => ({ bytes, port, kind: 'mutated', answerable: false });
  switch (rng.int(12)) {
    case 0: {
      // bit flips at distinct positions
      const out = Buffer.from(b);
      const bits = new Set<number>();
      const want = rng.range(1, 8);
      while (bits.size < want) bits.add(rng.int(b.length * 8));
      for (const bit of bits) out[bit >> 3]! ^= 1 << (bit & 7);
      return dropped(out);
    }
    case 1: {
      // bytes changed to other values
      const out = Buffer.from(b);
      for (let n = rng.range(1, 4); n > 0; n--) out[rng.int(b.length)]! ^= rng.range(1, 255);
      return dropped(out.equals(b) ? withLength(out, b.length + 1) : out);
    }
    case 2:
      return dropped(b.subarray(0, rng.int(b.length))); // truncated
    case 3: {
      // extended: padding past the Length field, valid unless it makes the datagram too long
      const bytes = Buffer.concat([b, rng.bytes(rng.chance(0.8) ? rng.range(1, 300) : rng.range(1, 5000 - b.length))]);
      return { bytes, port: base.port, kind: 'mutated', answerable: bytes.length <= MAX_PACKET };
    }
    case 4: {
      // extended, with the Length field covering the new bytes
      const bytes = Buffer.concat([b, rng.bytes(rng.range(1, 600))]);
      return dropped(withLength(bytes, bytes.length));
    }
    case 5: {
      // the Length field edited
      const length = rng.pick([0, 1, 2, 19, 20, 21, b.length - 1, b.length + 1, MAX_PACKET, MAX_PACKET + 1, 0xffff, rng.int(0x10000)]);
      return dropped(withLength(b, length === b.length ? b.length + 1 : length));
    }
    case 6: {
      // an attribute's length octet made 0, 1, too long for the packet, or just different
      const target = rng.pick(attrs);
      const out = Buffer.from(b);
      const current = out[target.at + 1]!;
      const overflow = Math.min(255, b.length - target.at + rng.range(1, 40));
      const len = rng.pick([0, 1, overflow, rng.int(256)]);
      out[target.at + 1] = len === current ? (current + 1) & 0xff : len;
      return dropped(out);
    }
    case 7: {
      // a zero-length attribute inserted (type and length octets only), Length fixed, signature not
      const at = rng.pick([...attrs.map((a) => a.at), b.length]);
      const bytes = Buffer.concat([b.subarray(0, at), Buffer.from([rng.pick([A.UserName, A.CallingStationId, A.SessionTimeout, 80]), rng.pick([0, 2])]), b.subarray(at)]);
      return dropped(withLength(bytes, bytes.length));
    }
    case 8: {
      // Message-Authenticator twice (RFC 3579 §3.2 allows one), re-signed so that only the duplicate is wrong
      const ma = maPlaceholder();
      const at = rng.pick([...attrs.map((a) => a.at), b.length]);
      const joined = Buffer.concat([b.subarray(0, at), ma, b.subarray(at), ...(attrs.some((a) => a.type === 80) ? [] : [ma])]);
      const bytes = withLength(joined, joined.length);
      return dropped(bytes[0] === Code.AccountingRequest ? signAccountingRequest(bytes, SECRET) : signAccessRequest(bytes, SECRET));
    }
    case 9: {
      // a code the port does not serve (RFC 2865 §3: unknown codes are silently discarded), signed or not
      const out = Buffer.from(b);
      out[0] = rng.pick(UNSERVED_CODES);
      return dropped(rng.chance(0.5) ? out : signAccountingRequest(out, SECRET));
    }
    case 10: {
      // a valid request on the wrong port (Access-Request on acct, Accounting-Request on auth)
      if (b[0] === Code.StatusServer) return dropped(withLength(b, b.length - 1));
      return dropped(b, base.port === 'auth' ? 'acct' : 'auth');
    }
    default: {
      // a Vendor-Specific attribute corrupted (vendor id, sub-attribute length, or cut), signature not
      const target = attrs.find((a) => a.type === VSA);
      const out = Buffer.from(b);
      if (!target) {
        out[rng.range(20, b.length - 1)]! ^= 0x80;
        return dropped(out);
      }
      const v = target.at + 2;
      if (target.value.length >= 6 && rng.chance(0.5)) out[v + 5] = rng.pick([0, 1, 255, target.value.length - 3]);
      else out[v + rng.int(4)]! ^= rng.range(1, 255);
      return dropped(out.equals(b) ? withLength(out, 0) : out);
    }
  }
}

/** (a) Random bytes, or random attributes behind a plausible header (which then fails authentication). */
function random(rng: Rng): Datagram {
  const port: Port = rng.chance(0.5) ? 'auth' : 'acct';
  const r = rng.int(10);
  if (r < 2) return { bytes: rng.bytes(rng.int(41)), port, kind: 'random', answerable: false };
  if (r < 7) return { bytes: rng.bytes(rng.int(5001)), port, kind: 'random', answerable: false };
  if (r < 8) {
    const bytes = rng.bytes(rng.range(20, MAX_PACKET));
    bytes[0] = rng.pick([Code.AccessRequest, Code.AccountingRequest, Code.StatusServer]);
    return { bytes: withLength(bytes, bytes.length), port, kind: 'random', answerable: false };
  }
  // Well-formed attributes with random contents, maybe a random Message-Authenticator: unsigned.
  const attributes = fill(rng, rng.chance(0.5) ? [attr(80, rng.bytes(16))] : [], rng.range(20, MAX_PACKET), (room) =>
    rng.chance(0.02) ? undefined : attr(rng.pick([1, 4, 26, 31, 33, 40, 44, 79, rng.range(1, 79)]), rng.bytes(rng.int(Math.min(room - 1, 60)))),
  );
  const bytes = assemble(rng.pick([Code.AccessRequest, Code.AccountingRequest, Code.StatusServer]), rng.int(256), rng.bytes(16), attributes);
  return { bytes, port, kind: 'random', answerable: false };
}

/**
 * (c) Valid, correctly signed requests whose attribute contents are garbage: they pass
 * authentication and reach the decoder, the policy and the accounting store. Each may be
 * answered (or dropped as undecodable/unusable); an answer must be right.
 */
function resigned(rng: Rng, macsWithSession: readonly string[]): Datagram {
  const ok = (bytes: Buffer, port: Port): Datagram => ({ bytes, port, kind: 'resigned', answerable: true });
  const mac = macsWithSession.length > 0 && rng.chance(0.5) ? rng.pick(macsWithSession) : macText(rng);
  switch (rng.int(11)) {
    case 0: {
      // garbage where the MAC should be
      const attributes = [
        ...(rng.chance(0.8) ? [attr(A.UserName, garbageText(rng))] : []),
        ...(rng.chance(0.8) ? [attr(A.CallingStationId, rng.chance(0.3) ? Buffer.from(mac) : garbageText(rng))] : []),
      ];
      return ok(accessRequest(rng, attributes), 'auth');
    }
    case 1:
      // a device (often with a session) and Proxy-State up to the packet limit: the answer must copy them all
      return ok(accessRequest(rng, proxyStates(rng, [attr(A.UserName, mac.replace(/[-:.]/g, ''))], rng.chance(0.5) ? MAX_PACKET - 18 : rng.range(60, MAX_PACKET - 18))), 'auth');
    case 2: {
      // a huge number of attributes: empty, tiny strings and integers
      const attributes = fill(rng, [attr(A.CallingStationId, mac)], MAX_PACKET - 18, () =>
        rng.chance(0.5) ? Buffer.from([rng.pick(STRING_TYPES), 2]) : rng.chance(0.5) ? attr(rng.pick(STRING_TYPES), rng.bytes(rng.range(1, 3))) : u32Attr(rng.pick(INTEGER_TYPES), rng.u32()),
      );
      return ok(accessRequest(rng, attributes), 'auth');
    }
    case 3: {
      // random attribute types and values (many undecodable by the dictionary)
      const attributes = fill(rng, [attr(A.UserName, mac)], rng.range(40, MAX_PACKET - 18), (room) =>
        rng.chance(0.05) ? undefined : attr(rng.pick([rng.range(1, 79), rng.range(81, 255), A.UserPassword, STATE, CLASS, EAP_MESSAGE, VSA]), rng.bytes(rng.int(Math.min(room - 1, 80)))),
      );
      return ok(accessRequest(rng, attributes), 'auth');
    }
    case 4: {
      // Vendor-Specific attributes broken inside (vendor id cut, sub-attribute lengths 0/1/overflow), properly signed
      const vendor = Buffer.alloc(4);
      vendor.writeUInt32BE(rng.pick([...VENDORS, rng.u32()]));
      const sub = rng.bytes(rng.range(0, 40));
      if (sub.length >= 2) sub[1] = rng.pick([0, 1, sub.length + 1, 255, sub.length]);
      const value = rng.chance(0.2) ? vendor.subarray(0, rng.int(4)) : Buffer.concat([vendor, sub]);
      return ok(accessRequest(rng, [attr(A.UserName, mac), attr(VSA, value), ...(rng.chance(0.3) ? [attr(VSA, Buffer.alloc(0))] : [])]), 'auth');
    }
    case 5: {
      // Acct-Status-Type out of range
      const status = rng.pick([0, 4, 5, 6, 9, 15, 16, 255, 0xffffffff, rng.u32()]);
      return ok(accountingRequest(rng, [u32Attr(A.AcctStatusType, status), attr(A.AcctSessionId, rng.bytes(8).toString('hex')), attr(A.CallingStationId, mac)]), 'acct');
    }
    case 6: {
      // integers of the wrong width (RFC 2865 §5: exactly 4 octets)
      const width = rng.pick([0, 1, 2, 3, 5, 8, 16]);
      const type = rng.pick(INTEGER_TYPES);
      return ok(accountingRequest(rng, [u32Attr(A.AcctStatusType, rng.pick([1, 2, 3])), attr(A.AcctSessionId, 's'), attr(A.CallingStationId, mac), attr(type, rng.bytes(width))]), 'acct');
    }
    case 7: {
      // recordable accounting with garbage everywhere else: odd session ids, users, addresses, huge counters
      const attributes = [
        u32Attr(A.AcctStatusType, rng.pick([1, 2, 3])),
        attr(A.AcctSessionId, rng.chance(0.5) ? garbageText(rng) : rng.bytes(4).toString('hex')),
        attr(A.CallingStationId, mac),
        ...(rng.chance(0.5) ? [attr(A.UserName, garbageText(rng))] : []),
        ...(rng.chance(0.5) ? [attr(A.FramedIpAddress, rng.bytes(4))] : []),
        ...[A.AcctInputOctets, A.AcctOutputOctets, A.AcctInputGigawords, A.AcctOutputGigawords, A.AcctSessionTime, A.AcctTerminateCause]
          .filter(() => rng.chance(0.5))
          .map((type) => u32Attr(type, rng.pick([0, 0xffffffff, rng.u32()]))),
      ];
      return ok(accountingRequest(rng, attributes), 'acct');
    }
    case 8: {
      // accounting that cannot be recorded (no session id, no MAC): dropped, so the NAS retries
      const attributes = [
        u32Attr(A.AcctStatusType, rng.pick([1, 2, 3])),
        ...(rng.chance(0.5) ? [attr(A.AcctSessionId, rng.bytes(4).toString('hex'))] : []),
        attr(A.CallingStationId, garbageText(rng)),
      ];
      return ok(accountingRequest(rng, attributes), 'acct');
    }
    case 9: {
      // a huge accounting request: hundreds of repeated attributes
      const attributes = fill(rng, [u32Attr(A.AcctStatusType, rng.pick([1, 2, 3, 7, 8])), attr(A.AcctSessionId, 'x'), attr(A.CallingStationId, mac)], MAX_PACKET, () =>
        rng.chance(0.5) ? u32Attr(rng.pick([A.AcctInputOctets, A.AcctSessionTime]), rng.u32()) : attr(rng.pick([NAS_IDENTIFIER, CLASS, A.ProxyState]), rng.bytes(rng.range(1, 4))),
      );
      return ok(accountingRequest(rng, attributes, false), 'acct');
    }
    default: {
      // Status-Server with garbage and Proxy-State, on either port
      const attributes = proxyStates(rng, [attr(NAS_IDENTIFIER, garbageText(rng, 64))], rng.range(40, MAX_PACKET - 18));
      return ok(statusServer(rng, attributes), rng.chance(0.5) ? 'auth' : 'acct');
    }
  }
}

function datagram(rng: Rng, macsWithSession: readonly string[]): Datagram {
  const r = rng.int(100);
  if (r < 30) return random(rng);
  if (r < 85) return mutated(rng);
  return resigned(rng, macsWithSession);
}

/** RFC 2865 §3 and §5, RFC 3579 §3.2, written out as the test's own oracle: is this datagram a well-formed packet? */
function layout(raw: Buffer): { messageAuthenticatorAt: number; proxyStates: Array<[number, number]> } | undefined {
  if (raw.length < 20 || raw.length > MAX_PACKET) return undefined;
  const length = raw.readUInt16BE(2);
  if (length < 20 || length > raw.length) return undefined;
  let messageAuthenticatorAt = -1;
  const proxyStates: Array<[number, number]> = [];
  for (let at = 20; at < length; ) {
    if (length - at < 2) return undefined;
    const len = raw[at + 1]!;
    if (len < 2 || at + len > length) return undefined;
    if (raw[at] === 80) {
      if (len !== 18 || messageAuthenticatorAt !== -1) return undefined;
      messageAuthenticatorAt = at + 2;
    }
    if (raw[at] === A.ProxyState) proxyStates.push([at + 2, at + len]);
    at += len;
  }
  return { messageAuthenticatorAt, proxyStates };
}

function wellFormed(raw: Buffer): boolean {
  return layout(raw) !== undefined;
}

// ---------------------------------------------------------------------------------------

async function dropCounts(t: TestGateway): Promise<Map<string, number>> {
  const metric = await t.gateway.metrics.registry.getSingleMetric('enrollgate_radius_drops_total')?.get();
  const counts = new Map<string, number>();
  for (const v of metric?.values ?? []) if (v.labels.nas === 'test-nas') counts.set(String(v.labels.reason), v.value);
  return counts;
}

/** One digest of a packet's Proxy-State values in order (RFC 2865 §5.33: the answer copies them). */
function proxyStateDigest(values: readonly Buffer[]): string {
  const hash = createHash('md5');
  for (const v of values) hash.update(Buffer.from([v.length])).update(v);
  return hash.digest('base64');
}

/**
 * A request allowed an answer, kept small: strings rather than Buffers, because a small
 * Buffer is a slice of a shared 8 KiB pool and thousands kept alive would hold their pools
 * too, which the RSS check would count against the server.
 */
interface Allowed {
  readonly code: number;
  /** The Request Authenticator, latin1. */
  readonly authenticator: string;
  readonly proxyStates: string;
}

/** Why `reply` is not a right answer to one of the requests allowed an answer, or undefined when it is. */
function wrongReply(reply: Buffer, candidates: readonly Allowed[], port: Port, answered: Map<string, number>): string | undefined {
  if (reply.length < 20) return `a ${reply.length}-octet reply`;
  const found = candidates.find((c) => reply.subarray(4, 20).equals(expectedResponseAuthenticator(reply, Buffer.from(c.authenticator, 'latin1'), SECRET)));
  if (!found) return `code ${reply[0]} id ${reply[1]} answers no request allowed an answer (${candidates.length} with that id)`;
  const request = { ...found, authenticator: Buffer.from(found.authenticator, 'latin1') };
  const expectedCodes: readonly number[] = request.code === Code.AccessRequest ? [Code.AccessAccept, Code.AccessReject] : port === 'auth' ? [Code.AccessAccept] : [Code.AccountingResponse];
  if (!expectedCodes.includes(reply[0]!)) return `code ${reply[0]} in answer to code ${request.code} on ${port}`;
  if (reply.readUInt16BE(2) !== reply.length || !wellFormed(reply)) return `malformed code ${reply[0]} reply`;
  const attrs = walk(reply);
  if (reply[0] === Code.AccessAccept || reply[0] === Code.AccessReject) {
    // BlastRADIUS: Message-Authenticator first, HMAC-MD5 with the request authenticator in the header.
    if (attrs[0]?.type !== 80 || attrs[0].at !== 20) return 'Message-Authenticator is not the first attribute';
    const copy = Buffer.from(reply);
    request.authenticator.copy(copy, 4);
    copy.fill(0, 22, 38);
    if (!attrs[0].value.equals(createHmac('md5', SECRET).update(copy).digest())) return 'wrong Message-Authenticator';
  }
  if (proxyStateDigest(attrs.filter((a) => a.type === A.ProxyState).map((a) => a.value)) !== request.proxyStates) return 'Proxy-State not copied';
  const pair = `${request.code}→${reply[0]}`;
  answered.set(pair, (answered.get(pair) ?? 0) + 1);
  return undefined;
}

describe('RADIUS server under fuzzing (real gateway, UDP on 127.0.0.1)', () => {
  /** Datagrams sent when time allows: 11-17 s alone on a 2-core machine. */
  const TOTAL = 100_000;
  /**
   * On a loaded or slower machine, sending stops when this much time is spent, once FLOOR
   * are sent: the test stays within its timeout instead of failing the run.
   */
  const SEND_BUDGET_MS = 30_000;
  /**
   * Sent whatever the time: the rarest drop reasons asserted below (missing_message_authenticator,
   * undecodable) and reply pairs (Status-Server → Access-Accept) are 1.5-3 % of datagrams, so
   * hundreds of each; and 15,000 after the RSS sample (WARMUP) to show a leak.
   */
  const FLOOR = 25_000;
  /** The heap has grown to its working size: RSS growth after this many would be a leak. */
  const WARMUP = 10_000;
  /** Well above the budget: the floor alone takes 3-4 s here, so this holds on a machine many times slower. */
  const TIMEOUT_MS = 120_000;
  /** Datagrams sent before yielding to the event loop (the gateway runs in this process). */
  const BATCH = 25;
  /** A Status-Server probe every so often: answered only once what was sent before it was read. */
  const PROBE_EVERY = 1000;

  let t: TestGateway;
  let db: Backdoor;

  beforeAll(async () => {
    t = await startTestGateway();
    db = await Backdoor.open(t);
  });

  afterAll(async () => {
    await db?.close();
    await t?.close();
  });

  it(`drops ${TOTAL.toLocaleString('en')} random and mutated datagrams (at least ${FLOOR.toLocaleString('en')} within ${SEND_BUDGET_MS / 1000} s) without answering them, and still answers correctly afterwards`, async () => {
    const rng = new Rng(SEED ^ 0x51ed);
    const nas = await RawNas.open();
    const ports: Record<Port, number> = { auth: t.gateway.ports.auth, acct: t.gateway.ports.acct };
    const portOf = (n: number): Port | undefined => (n === ports.auth ? 'auth' : n === ports.acct ? 'acct' : undefined);
    /** The requests allowed an answer, by port and identifier. */
    const allowed = new Map<string, Allowed[]>();
    // (1) Every reply must answer a request that was allowed one, correctly signed: checked as it
    // arrives (its request is registered before it is sent), so no reply is kept.
    let replies = 0;
    const wrong: string[] = [];
    /** Right replies by request code → reply code. */
    const answered = new Map<string, number>();
    nas.socket.on('message', (bytes, peer) => {
      replies++;
      const port = portOf(peer.port);
      const problem = port ? wrongReply(bytes, allowed.get(`${port}|${bytes[1]}`) ?? [], port, answered) : `a reply from port ${peer.port}`;
      if (problem) wrong.push(problem);
    });
    const allow = (port: Port, bytes: Buffer) => {
      const scan = scanPacket(bytes);
      if (!scan.ok) throw new Error(`seed ${SEED}: the fuzzer built an answerable request that does not scan (${scan.reason})`);
      const key = `${port}|${bytes[1]}`;
      const list = allowed.get(key) ?? [];
      list.push({ code: bytes[0]!, authenticator: bytes.toString('latin1', 4, 20), proxyStates: proxyStateDigest(scan.packet.proxyStates) });
      allowed.set(key, list);
    };
    const probe = async (port: Port) => {
      const request = statusServer(rng);
      allow(port, request);
      await nas.ask(ports[port], request, answers(request), 20, 250);
      nas.replies.length = 0; // all checked on arrival; nothing else waits on them
    };

    try {
      // Devices with a session, so garbage around them reaches the Access-Accept path too.
      const macsWithSession = Array.from({ length: 8 }, () => macText(rng));
      for (const mac of macsWithSession) await db.giveSession(parseMac(mac)!, 3600_000);
      await probe('auth');
      await probe('acct');

      const dropsBefore = await dropCounts(t);
      const linesBefore = t.logs.lines.length;
      const droppedLinesBefore = t.logs.events().filter((e) => e.event === 'radius.dropped').length;
      const rssAtStart = process.memoryUsage().rss;
      /** RSS once the heap has grown to its working size (after WARMUP datagrams): growth after that would be a leak. */
      let rssBefore = rssAtStart;
      const sent = { random: 0, mutated: 0, resigned: 0 };
      let shouldDrop = 0;
      let answerable = 0;
      const started = Date.now();
      const deadline = started + SEND_BUDGET_MS;

      let pending: Array<Promise<void>> = [];
      let count = 0;
      for (let i = 0; i < TOTAL && (i < FLOOR || Date.now() < deadline); i++) {
        count++;
        const d = datagram(rng, macsWithSession);
        if (d.answerable) {
          allow(d.port, d.bytes);
          answerable++;
        } else {
          shouldDrop++;
        }
        sent[d.kind]++;
        pending.push(nas.send(ports[d.port], d.bytes));
        if (pending.length === BATCH) {
          await Promise.all(pending);
          pending = [];
          await nextTurn();
        }
        if (i % PROBE_EVERY === PROBE_EVERY - 1) await probe(i % (2 * PROBE_EVERY) < PROBE_EVERY ? 'auth' : 'acct');
        if (i === WARMUP) rssBefore = process.memoryUsage().rss;
      }
      await Promise.all(pending);
      await probe('auth');
      await probe('acct');
      // Answers that wait for the store (access decisions, accounting records) come after the Status-Server
      // probes. A last valid Accounting-Request goes through the same store path (and its group commit) after
      // every earlier packet on this socket, so once it is answered, every earlier answer has been sent.
      const marker = accountingRequest(rng, [attr(A.AcctStatusType, 3), attr(A.AcctSessionId, 'fuzz-marker'), attr(A.CallingStationId, '02-00-00-00-0F-0F')], false);
      allow('acct', marker);
      await nas.ask(ports.acct, marker, answers(marker), 20, 250);
      const elapsedMs = Date.now() - started;
      const rssAfter = process.memoryUsage().rss;
      const rssGrowthMb = (rssAfter - rssBefore) / 2 ** 20;

      // (1) No reply answered a dropped packet, and every reply was right.
      expect(wrong.slice(0, 10), `seed ${SEED}: ${wrong.length} wrong replies`).toEqual([]);
      // ... and the valid ones did reach the policy and the accounting store: accepted, rejected, recorded, ignored.
      expect(replies, `seed ${SEED}: replies`).toBeGreaterThan(0.5 * answerable);
      for (const pair of ['1→2', '1→3', '4→5', '12→2', '12→5']) expect(answered.get(pair) ?? 0, `seed ${SEED}: ${pair} replies`).toBeGreaterThan(0);

      // (2) The drops are counted by reason, and account for what was sent to be dropped.
      const dropsAfter = await dropCounts(t);
      const delta = Object.fromEntries([...dropsAfter].map(([reason, n]) => [reason, n - (dropsBefore.get(reason) ?? 0)]).filter(([, n]) => (n as number) > 0)) as Record<string, number>;
      const totalDrops = Object.values(delta).reduce((a, b) => a + b, 0);
      const droppedLines = t.logs.events().filter((e) => e.event === 'radius.dropped').length - droppedLinesBefore;
      console.log(
        `RADIUS fuzz seed ${SEED}: sent ${count} of ${TOTAL} datagrams (random ${sent.random}, mutated ${sent.mutated}, re-signed ${sent.resigned}; ${shouldDrop} to be dropped) ` +
          `in ${(elapsedMs / 1000).toFixed(1)} s; ${totalDrops} dropped; ${replies} replies (probes included) to ${answerable} answerable requests; RSS +${rssGrowthMb.toFixed(0)} MB after the first ${WARMUP} (+${((rssAfter - rssAtStart) / 2 ** 20).toFixed(0)} MB in all); ${droppedLines} radius.dropped log lines\n` +
          `drops by reason: ${JSON.stringify(delta)}\nreplies by request code→reply code: ${JSON.stringify(Object.fromEntries(answered))}`,
      );
      for (const reason of ['too_short', 'too_long', 'bad_length', 'bad_attribute', 'bad_message_authenticator', 'missing_message_authenticator', 'bad_authenticator', 'unexpected_code', 'undecodable']) {
        expect(delta[reason] ?? 0, `seed ${SEED}: drops for ${reason}`).toBeGreaterThan(0);
      }
      expect(totalDrops, `seed ${SEED}: drops counted`).toBeGreaterThan(0.8 * shouldDrop);
      // Nothing valid was dropped as malformed or unauthenticated: those drops come only from the datagrams meant to be dropped.
      const beforePolicy = totalDrops - (delta.undecodable ?? 0) - (delta.unusable_accounting ?? 0) - (delta.store_error ?? 0);
      expect(beforePolicy, `seed ${SEED}: drops before policy`).toBeLessThanOrEqual(shouldDrop);

      // (3) Nothing crashed a handler.
      expect(t.logs.events().filter((e) => e.event === 'radius.handler_failed')).toEqual([]);

      // (5) Memory did not grow without bound (the process holds the test's own bookkeeping too).
      expect(rssGrowthMb, `seed ${SEED}: RSS growth in MB`).toBeLessThan(150);

      // (6) Drops are logged at most once a second per NAS and reason, not once per packet.
      expect(droppedLines, `seed ${SEED}: radius.dropped lines`).toBeLessThanOrEqual(Object.keys(delta).length * (Math.ceil(elapsedMs / 1000) + 2));
      expect(t.logs.lines.length - linesBefore, `seed ${SEED}: log lines`).toBeLessThan(sent.resigned + 1000);

      // (4) Afterwards, a valid MAC authentication is answered correctly.
      const device = '02:fa:22:00:00:01';
      const endsAt = await db.giveSession(device, 3600_000 + 500);
      const request = macAuthRequest({ secret: SECRET, identifier: 200, userName: device, callingStationId: device, authenticator: rng.bytes(16) });
      allow('auth', request);
      const accept = await nas.ask(ports.auth, request, answers(request));
      const expected = Math.floor((endsAt.getTime() - Date.now()) / 1000);
      expect(accept[0]).toBe(Code.AccessAccept);
      expect(walk(accept)[0]?.type).toBe(80);
      const timeout = walk(accept).find((a) => a.type === A.SessionTimeout);
      expect(Math.abs(timeout!.value.readUInt32BE() - expected)).toBeLessThanOrEqual(1);
      const unknown = macAuthRequest({ secret: SECRET, identifier: 201, userName: '02:fa:22:00:00:02', callingStationId: '02:fa:22:00:00:02', authenticator: rng.bytes(16) });
      allow('auth', unknown);
      expect((await nas.ask(ports.auth, unknown, answers(unknown)))[0]).toBe(Code.AccessReject);
      expect(wrong, `seed ${SEED}`).toEqual([]);
      expect(t.logs.text()).not.toContain(SECRET);
    } finally {
      await nas.close();
    }
  }, TIMEOUT_MS);
});

// ---------------------------------------------------------------------------------------

/** Response attributes of every shape the server may send, at odd sizes, with the octets each encodes to. */
function oddAttribute(rng: Rng): { tuple: AttributeTuple; octets: number } {
  const text = (max: number): string => {
    // Random code points (NUL, controls, astral, lone surrogates become U+FFFD), trimmed to at most `max` UTF-8 octets.
    let s = '';
    for (let n = rng.range(1, max); n > 0; n--) {
      const c = rng.pick([rng.range(0, 0x7f), rng.range(0x80, 0x7ff), rng.range(0x800, 0xffff), rng.range(0x10000, 0x10ffff)]);
      const next = s + String.fromCodePoint(c);
      if (Buffer.byteLength(next) > max) break;
      s = next;
    }
    return s.length > 0 ? s : 'x';
  };
  switch (rng.int(9)) {
    case 0:
      return { tuple: ['Session-Timeout', rng.pick([0, 1, 0xffffffff, rng.u32()])], octets: 6 };
    case 1:
      return { tuple: [rng.pick(['Idle-Timeout', 'Acct-Interim-Interval', 'Termination-Action']), rng.pick([0, 1, rng.u32()])], octets: 6 };
    case 2: {
      const s = text(rng.chance(0.3) ? 253 : 20);
      return { tuple: [rng.pick(['Reply-Message', 'Filter-Id']), s], octets: Buffer.byteLength(s) + 2 };
    }
    case 3: {
      const v = rng.bytes(rng.int(254));
      return { tuple: [rng.pick(['Class', 'State']), v], octets: v.length + 2 };
    }
    case 4:
      return { tuple: ['Tunnel-Type', rng.int(32), 'VLAN'], octets: 6 };
    case 5:
      return { tuple: ['Tunnel-Medium-Type', rng.int(32), 'IEEE-802'], octets: 6 };
    case 6: {
      // RFC 2868 §3.6: the tag takes one octet of the value
      const s = text(rng.chance(0.3) ? 252 : 32);
      return { tuple: ['Tunnel-Private-Group-Id', rng.int(32), s], octets: Buffer.byteLength(s) + 3 };
    }
    case 7:
      return { tuple: ['Framed-IP-Address', [...rng.bytes(4)].join('.')], octets: 6 };
    default: {
      const v = rng.bytes(rng.int(248));
      return { tuple: ['Vendor-Specific', rng.u32(), [[rng.range(1, 255), v]]], octets: v.length + 8 };
    }
  }
}

/** A value one octet or more over what an attribute holds (253, or 252 after a tag). */
function oversizeAttribute(rng: Rng): AttributeTuple {
  switch (rng.int(3)) {
    case 0:
      return ['Reply-Message', 'x'.repeat(rng.range(254, 1000))];
    case 1:
      return ['Class', rng.bytes(rng.range(254, 1000))];
    default:
      return ['Tunnel-Private-Group-Id', rng.int(32), 'v'.repeat(rng.range(253, 400))];
  }
}

const RESPONSE_CODES = [Code.AccessAccept, Code.AccessReject, Code.AccessChallenge, Code.AccountingResponse, Code.DisconnectAck, Code.DisconnectNak, Code.CoaAck, Code.CoaNak] as const;

/** Why `out` is not the response encodeResponse promised, or undefined. */
function wrongResponse(out: Buffer, code: number, request: ScannedPacket, octets: number): string | undefined {
  if (out.length !== octets) return `${out.length} octets, expected ${octets}`;
  if (!wellFormed(out) || out.readUInt16BE(2) !== out.length) return 'malformed';
  if (out[0] !== code || out[1] !== request.identifier) return 'wrong code or identifier';
  if (!out.subarray(4, 20).equals(expectedResponseAuthenticator(out, request.authenticator, SECRET))) return 'wrong Response Authenticator';
  const attrs = walk(out);
  if (code === Code.AccessAccept || code === Code.AccessReject || code === Code.AccessChallenge) {
    if (attrs[0]?.type !== 80 || attrs[0].at !== 20) return 'Message-Authenticator not first';
    const copy = Buffer.from(out);
    request.authenticator.copy(copy, 4);
    copy.fill(0, 22, 38);
    if (!attrs[0].value.equals(createHmac('md5', SECRET).update(copy).digest())) return 'wrong Message-Authenticator';
  }
  const states = attrs.slice(attrs.length - request.proxyStates.length);
  if (request.proxyStates.some((p, i) => states[i]?.type !== A.ProxyState || !states[i].value.equals(p))) return 'Proxy-State not copied last, in order';
  return undefined;
}

describe('RADIUS packet functions under fuzzing (in process)', () => {
  /** Inputs when time allows: about 8 s alone on a 2-core machine. */
  const INPUTS = 200_000;
  /** On a loaded or slower machine, no more inputs once this much time is spent and FLOOR are done. */
  const BUDGET_MS = 20_000;
  /**
   * Done whatever the time: the rarest branch asserted below (an oversize response, refused) is
   * about 0.4 % of inputs, so about 190 against the 10 required; valid Message-Authenticators
   * and encoded responses are 15-20 %, thousands against 1,000.
   */
  const FLOOR = 50_000;
  /** Well above the budget: the floor alone takes about 2 s here. */
  const TIMEOUT_MS = 80_000;

  it(`scanPacket, decodeAttributes, the verifiers and encodeResponse never throw on ${INPUTS.toLocaleString('en')} inputs (at least ${FLOOR.toLocaleString('en')} within ${BUDGET_MS / 1000} s; encodeResponse: only a clear error when oversize)`, () => {
    const rng = new Rng(SEED ^ 0xbeef);
    const failures: string[] = [];
    const fail = (i: number, what: string, raw: Buffer) => {
      if (failures.length < 10) failures.push(`input ${i}: ${what} (${raw.subarray(0, 64).toString('hex')}${raw.length > 64 ? '…' : ''}, ${raw.length} octets)`);
    };
    const tally = { wellFormed: 0, decoded: 0, validMa: 0, validRequestAuth: 0, encoded: 0, oversize: 0 };
    const started = Date.now();
    const deadline = started + BUDGET_MS;

    let count = 0;
    for (let i = 0; i < INPUTS && (i < FLOOR || Date.now() < deadline); i++) {
      count++;
      const r = rng.int(100);
      // Mostly small inputs, so the run stays fast; the integration test covers sizes up to 5000.
      const raw =
        r < 20 ? rng.bytes(rng.chance(0.9) ? rng.int(120) : rng.int(5001)) : r < 25 ? random(rng).bytes : r < 80 ? mutated(rng).bytes : r < 94 ? validRequest(rng).bytes : resigned(rng, []).bytes;
      const copy = Buffer.from(raw);
      try {
        const scan = scanPacket(raw);
        const expected = layout(raw);
        if (scan.ok !== (expected !== undefined)) fail(i, `scanPacket says ${scan.ok ? 'well-formed' : scan.reason}`, raw);
        if (scan.ok && expected) {
          tally.wellFormed++;
          const p = scan.packet;
          if (p.messageAuthenticatorAt !== expected.messageAuthenticatorAt) fail(i, 'Message-Authenticator offset', raw);
          const states = expected.proxyStates;
          if (states.length !== p.proxyStates.length || states.some(([from, to], k) => raw.compare(p.proxyStates[k]!, 0, undefined, from, to) !== 0)) fail(i, 'Proxy-State values', raw);
          if (decodeAttributes(raw, p.length)) tally.decoded++;
          if (verifyMessageAuthenticator(raw, p, SECRET)) tally.validMa++;
          if (verifyRequestAuthenticator(raw, p, SECRET)) tally.validRequestAuth++;

          if (i % 3 === 0) {
            const code = rng.pick(RESPONSE_CODES);
            const odd = Array.from({ length: rng.chance(0.1) ? rng.range(10, 40) : rng.int(6) }, () => oddAttribute(rng));
            const attributes = odd.map((a) => a.tuple);
            const tooBig = rng.chance(0.02);
            if (tooBig) attributes.splice(rng.int(attributes.length + 1), 0, oversizeAttribute(rng));
            const withMa = code === Code.AccessAccept || code === Code.AccessReject || code === Code.AccessChallenge;
            const octets = 20 + (withMa ? 18 : 0) + odd.reduce((n, a) => n + a.octets, 0) + p.proxyStates.reduce((n, s) => n + s.length + 2, 0);
            try {
              const out = encodeResponse({ code, request: p, secret: SECRET, attributes });
              tally.encoded++;
              if (tooBig) fail(i, 'encodeResponse accepted an attribute value over 253 octets', raw);
              else if (octets > MAX_PACKET) fail(i, `encodeResponse returned ${out.length} octets for ${octets}`, raw);
              else {
                const problem = wrongResponse(out, code, p, octets);
                if (problem) fail(i, `encodeResponse: ${problem}`, raw);
              }
            } catch (err) {
              const message = (err as Error).message;
              tally.oversize++;
              const clear = /over the RADIUS maximum of (4096|253|252)/.test(message);
              if (!clear || (!tooBig && octets <= MAX_PACKET)) fail(i, `encodeResponse threw ${JSON.stringify(message)} for ${octets} octets${tooBig ? ' with an oversize attribute' : ''}`, raw);
            }
          }
        }
      } catch (err) {
        fail(i, `threw ${(err as Error).stack ?? String(err)}`, raw);
      }
      if (!raw.equals(copy)) fail(i, 'the input was modified', raw);
    }

    console.log(`RADIUS pure-function fuzz seed ${SEED}: ${count} of ${INPUTS} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(tally)}`);
    expect(failures, `seed ${SEED}`).toEqual([]);
    // The mix reaches every branch: valid packets verify, some responses are refused as too big.
    expect(tally.validMa).toBeGreaterThan(1000);
    expect(tally.validRequestAuth).toBeGreaterThan(1000);
    expect(tally.encoded).toBeGreaterThan(1000);
    expect(tally.oversize).toBeGreaterThan(10);
  }, TIMEOUT_MS);
});
