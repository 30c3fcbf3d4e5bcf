import { createHash, createHmac } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DICTIONARY_DIR, loadDictionaries } from '../../../src/radius/dictionary.js';
import {
  authenticatorMd5,
  Code,
  codeName,
  decodeAttributes,
  encodeResponse,
  equal,
  messageAuthenticator,
  scanPacket,
  verifyMessageAuthenticator,
  verifyRequestAuthenticator,
  type ScannedPacket,
} from '../../../src/radius/packet.js';
import { radiusLib, type AttributeTuple } from '../../../src/radius/radius-lib.js';
import {
  A,
  Status,
  assemble,
  attr,
  expectedResponseAuthenticator,
  fixedAuthenticator,
  hmacOver,
  ipAttr,
  macAuthRequest,
  maPlaceholder,
  signAccessRequest,
  signAccountingRequest,
  walk,
} from './radius-bytes.js';

const SECRET = 'unit-test-secret-0123456789';

function scanned(raw: Buffer): ScannedPacket {
  const result = scanPacket(raw);
  if (!result.ok) throw new Error(`expected a well-formed packet, got ${result.reason}`);
  return result.packet;
}

function reason(raw: Buffer): string | undefined {
  const result = scanPacket(raw);
  return result.ok ? undefined : result.reason;
}

/** A header claiming `length`, followed by `body`. */
function rawWith(length: number, body: Buffer, code = 1): Buffer {
  const header = Buffer.alloc(20);
  header[0] = code;
  header[1] = 7;
  header.writeUInt16BE(length, 2);
  return Buffer.concat([header, body]);
}

function accountingStart(extra: readonly Buffer[] = []): Buffer {
  return signAccountingRequest(
    assemble(4, 9, Buffer.alloc(16), [
      attr(A.AcctStatusType, Status.Start),
      attr(A.AcctSessionId, 'sess-1'),
      attr(A.CallingStationId, 'AA-BB-CC-DD-EE-FF'),
      ipAttr(A.FramedIpAddress, '10.0.0.5'),
      ...extra,
    ]),
    SECRET,
  );
}

/** Positions every flip of which must reach the check: code, identifier, authenticator, attribute types and values. */
function mustReachCheck(raw: Buffer): number[] {
  const positions = [0, 1, ...Array.from({ length: 16 }, (_, i) => 4 + i)];
  for (const a of walk(raw)) {
    positions.push(a.at);
    for (let i = 0; i < a.value.length; i++) positions.push(a.at + 2 + i);
  }
  return positions;
}

/** Every single-byte change of the packet: each must fail verification (or be refused by the scan). */
function* flips(raw: Buffer): Generator<{ at: number; mask: number; mutated: Buffer }> {
  for (let at = 0; at < raw.length; at++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const mutated = Buffer.from(raw);
      mutated[at] = mutated[at]! ^ mask;
      yield { at, mask, mutated };
    }
  }
}

describe('scanPacket', () => {
  it('accepts a well-formed Access-Request and reports its header, Message-Authenticator and Proxy-States', () => {
    const auth = fixedAuthenticator(0x33);
    const raw = signAccessRequest(
      assemble(1, 200, auth, [
        attr(A.UserName, 'aa-bb-cc-dd-ee-ff'),
        attr(A.ProxyState, Buffer.from('first')),
        maPlaceholder(),
        attr(A.ProxyState, Buffer.from('second')),
      ]),
      SECRET,
    );
    const p = scanned(raw);
    expect(p.code).toBe(1);
    expect(p.identifier).toBe(200);
    expect(p.length).toBe(raw.length);
    expect(p.authenticator.equals(auth)).toBe(true);
    // 20 header + User-Name (2+17) + Proxy-State (2+5) → MA type at 46, value at 48.
    expect(p.messageAuthenticatorAt).toBe(48);
    expect(p.proxyStates.map((b) => b.toString())).toEqual(['first', 'second']);
  });

  it('accepts a packet with no attributes and without a Message-Authenticator', () => {
    const p = scanned(assemble(12, 1, fixedAuthenticator(), []));
    expect(p.length).toBe(20);
    expect(p.messageAuthenticatorAt).toBe(-1);
    expect(p.proxyStates).toEqual([]);
  });

  it('copies what it reports, so later changes to the datagram do not alter it', () => {
    const raw = assemble(1, 1, fixedAuthenticator(), [attr(A.ProxyState, Buffer.from('ps'))]);
    const p = scanned(raw);
    raw.fill(0xee);
    expect(p.authenticator.equals(fixedAuthenticator())).toBe(true);
    expect(p.proxyStates[0]!.toString()).toBe('ps');
  });

  it.each([0, 1, 4, 19])('rejects a %i-byte datagram as too_short', (n) => {
    expect(reason(Buffer.alloc(n, 1))).toBe('too_short');
  });

  it('rejects a datagram over 4096 bytes as too_long, and takes exactly 4096', () => {
    // 16 attributes of 253 octets + one of 28: exactly 4096 octets with the header.
    const attrs = [...Array.from({ length: 16 }, () => attr(A.ProxyState, Buffer.alloc(251, 0x41))), attr(A.ProxyState, Buffer.alloc(26, 0x42))];
    const max = assemble(1, 1, fixedAuthenticator(), attrs);
    expect(max.length).toBe(4096);
    expect(scanPacket(max).ok).toBe(true);
    expect(reason(Buffer.concat([max, Buffer.from([0])]))).toBe('too_long');
  });

  it.each([
    ['below the header size', 19, 0],
    ['zero', 0, 0],
    ['beyond the datagram', 40, 10],
    ['one past the datagram', 31, 10],
  ])('rejects a Length field %s as bad_length', (_what, length, bodyLength) => {
    expect(reason(rawWith(length, Buffer.alloc(bodyLength, 0)))).toBe('bad_length');
  });

  it('rejects a Length field over 4096 even when the datagram is that long', () => {
    // Length 0xffff with a 4096-byte datagram: the Length is larger than the datagram.
    expect(reason(rawWith(0xffff, Buffer.alloc(4076)))).toBe('bad_length');
  });

  it('ignores octets beyond the Length field (RFC 2865 §3 padding), even if they look like broken attributes', () => {
    const good = signAccessRequest(assemble(1, 5, fixedAuthenticator(), [maPlaceholder(), attr(A.UserName, 'aa-bb-cc-dd-ee-ff')]), SECRET);
    const padded = Buffer.concat([good, Buffer.from([0x50, 0x00, 0x01, 0xff, 0x50, 0x12])]);
    const p = scanned(padded);
    expect(p.length).toBe(good.length);
    expect(verifyMessageAuthenticator(padded, p, SECRET)).toBe(true);
  });

  it.each([
    ['length 0', Buffer.from([A.UserName, 0, 0x41, 0x41])],
    ['length 1', Buffer.from([A.UserName, 1, 0x41, 0x41])],
    ['a length running past the packet', Buffer.from([A.UserName, 10, 0x41, 0x41])],
    ['a single trailing octet (no room for a length)', Buffer.concat([attr(A.UserName, 'x'), Buffer.from([A.UserName])])],
    ['a Message-Authenticator of length 17', Buffer.concat([Buffer.from([A.MessageAuthenticator, 17]), Buffer.alloc(15)])],
    ['a Message-Authenticator of length 19', Buffer.concat([Buffer.from([A.MessageAuthenticator, 19]), Buffer.alloc(17)])],
    ['a Message-Authenticator of length 2', Buffer.from([A.MessageAuthenticator, 2])],
    ['two Message-Authenticators', Buffer.concat([maPlaceholder(), attr(A.UserName, 'x'), maPlaceholder()])],
  ])('rejects %s as bad_attribute', (_what, body) => {
    expect(reason(rawWith(20 + body.length, body))).toBe('bad_attribute');
  });

  it('rejects an attribute that runs past the Length field though it fits the datagram', () => {
    const body = attr(A.UserName, 'abcdef');
    // Length cuts the attribute in half; the rest of it is "padding" in the datagram.
    expect(reason(rawWith(20 + 4, body))).toBe('bad_attribute');
  });
});

describe('verifyMessageAuthenticator', () => {
  const request = macAuthRequest({ secret: SECRET, userName: 'aa-bb-cc-dd-ee-ff', callingStationId: 'AA-BB-CC-DD-EE-FF', identifier: 17 });

  it('accepts the HMAC-MD5 computed with the shared secret', () => {
    expect(verifyMessageAuthenticator(request, scanned(request), SECRET)).toBe(true);
  });

  it('refuses the same packet signed with another secret', () => {
    const other = macAuthRequest({ secret: `${SECRET}x`, userName: 'aa-bb-cc-dd-ee-ff', callingStationId: 'AA-BB-CC-DD-EE-FF', identifier: 17 });
    expect(verifyMessageAuthenticator(other, scanned(other), SECRET)).toBe(false);
    expect(verifyMessageAuthenticator(request, scanned(request), `${SECRET}x`)).toBe(false);
    expect(verifyMessageAuthenticator(request, scanned(request), SECRET.slice(0, -1))).toBe(false);
  });

  it('refuses a packet without a Message-Authenticator', () => {
    const bare = macAuthRequest({ secret: SECRET, userName: 'aa-bb-cc-dd-ee-ff', withMa: false });
    expect(verifyMessageAuthenticator(bare, scanned(bare), SECRET)).toBe(false);
  });

  it('refuses every single flipped byte: header, authenticator, attributes and the MA itself', () => {
    const checked = new Set<number>();
    for (const { at, mask, mutated } of flips(request)) {
      const result = scanPacket(mutated);
      if (!result.ok) continue; // a broken structure is refused earlier
      expect(verifyMessageAuthenticator(mutated, result.packet, SECRET), `byte ${at} ^ 0x${mask.toString(16)}`).toBe(false);
      checked.add(at);
    }
    // Only flips of length octets can break the structure; everything else really reached the HMAC.
    for (const at of mustReachCheck(request)) expect(checked.has(at), `byte ${at}`).toBe(true);
  });

  it('verifies an Accounting-Request MA over the zeroed authenticator (RFC 5176 §3.5 order)', () => {
    const acct = accountingStart([maPlaceholder()]);
    const p = scanned(acct);
    expect(verifyMessageAuthenticator(acct, p, SECRET)).toBe(true);
    // The HMAC over the packet as sent (authenticator not zeroed) is the wrong one.
    const wrong = Buffer.from(acct);
    hmacOver(acct, SECRET, acct.subarray(4, 20)).copy(wrong, p.messageAuthenticatorAt);
    expect(verifyMessageAuthenticator(wrong, scanned(wrong), SECRET)).toBe(false);
  });
});

describe('verifyRequestAuthenticator (accounting)', () => {
  const acct = accountingStart([attr(A.AcctInputOctets, 1234)]);

  it('accepts MD5(Code+ID+Length+zeros+Attributes+Secret)', () => {
    expect(verifyRequestAuthenticator(acct, scanned(acct), SECRET)).toBe(true);
  });

  it('refuses another secret', () => {
    expect(verifyRequestAuthenticator(acct, scanned(acct), `${SECRET}!`)).toBe(false);
    expect(verifyRequestAuthenticator(acct, scanned(acct), '')).toBe(false);
  });

  it('accepts a packet signed with a multi-byte UTF-8 secret, and refuses it with the secret bytes read as latin1', () => {
    const secret = 'ключ-sécret-of-sixteen';
    const signed = Buffer.from(acct);
    signed.fill(0, 4, 20);
    createHash('md5').update(Buffer.concat([signed, Buffer.from(secret, 'utf8')])).digest().copy(signed, 4);
    expect(verifyRequestAuthenticator(signed, scanned(signed), secret)).toBe(true);
    expect(verifyRequestAuthenticator(signed, scanned(signed), Buffer.from(secret, 'utf8').toString('latin1'))).toBe(false);
  });

  it('refuses a zero authenticator (an unsigned packet)', () => {
    const unsigned = Buffer.from(acct);
    unsigned.fill(0, 4, 20);
    expect(verifyRequestAuthenticator(unsigned, scanned(unsigned), SECRET)).toBe(false);
  });

  it('refuses every single flipped byte', () => {
    const checked = new Set<number>();
    for (const { at, mask, mutated } of flips(acct)) {
      const result = scanPacket(mutated);
      if (!result.ok) continue;
      expect(verifyRequestAuthenticator(mutated, result.packet, SECRET), `byte ${at} ^ 0x${mask.toString(16)}`).toBe(false);
      checked.add(at);
    }
    for (const at of mustReachCheck(acct)) expect(checked.has(at), `byte ${at}`).toBe(true);
  });

  it('ignores padding beyond the Length field', () => {
    const padded = Buffer.concat([acct, Buffer.from('padding')]);
    expect(verifyRequestAuthenticator(padded, scanned(padded), SECRET)).toBe(true);
  });
});

describe('encodeResponse', () => {
  const requestAuth = fixedAuthenticator(0x91);
  const request = signAccessRequest(
    assemble(1, 0xab, requestAuth, [
      attr(A.ProxyState, Buffer.from([0x01, 0x02, 0x03])),
      maPlaceholder(),
      attr(A.UserName, 'aa-bb-cc-dd-ee-ff'),
      attr(A.ProxyState, Buffer.from('second-proxy')),
      attr(A.ProxyState, Buffer.from([0x00])),
    ]),
    SECRET,
  );
  const scannedRequest = scanned(request);

  function checkAuthenticators(response: Buffer): void {
    expect(response.readUInt16BE(2)).toBe(response.length);
    expect(response.subarray(4, 20).equals(expectedResponseAuthenticator(response, requestAuth, SECRET))).toBe(true);
  }

  function checkMessageAuthenticatorFirst(response: Buffer): void {
    const [first] = walk(response);
    expect(first?.type).toBe(A.MessageAuthenticator);
    expect(first?.at).toBe(20);
    expect(first?.value.length).toBe(16);
    // RFC 3579 §3.2: computed with the REQUEST authenticator in the header and the MA zeroed.
    const copy = Buffer.from(response);
    requestAuth.copy(copy, 4);
    copy.fill(0, 22, 38);
    const expected = createHmac('md5', SECRET).update(copy).digest();
    expect(first!.value.equals(expected)).toBe(true);
  }

  it('builds an Access-Accept: MA first, then the attributes, then Proxy-States in order; both authenticators correct', () => {
    const response = encodeResponse({ code: Code.AccessAccept, request: scannedRequest, secret: SECRET, attributes: [['Session-Timeout', 3600]] });
    expect(response[0]).toBe(2);
    expect(response[1]).toBe(0xab);
    checkMessageAuthenticatorFirst(response);
    checkAuthenticators(response);
    const attrs = walk(response);
    expect(attrs.map((a) => a.type)).toEqual([A.MessageAuthenticator, A.SessionTimeout, A.ProxyState, A.ProxyState, A.ProxyState]);
    expect(attrs[1]!.value.readUInt32BE(0)).toBe(3600);
    expect(attrs.slice(2).map((a) => a.value.toString('hex'))).toEqual(['010203', Buffer.from('second-proxy').toString('hex'), '00']);
  });

  it('computes the Response Authenticator over the finished packet (MD5(code|id|len|reqauth|attrs|secret))', () => {
    const response = encodeResponse({ code: Code.AccessReject, request: scannedRequest, secret: SECRET, attributes: [] });
    const copy = Buffer.from(response);
    requestAuth.copy(copy, 4);
    const expected = createHash('md5').update(Buffer.concat([copy, Buffer.from(SECRET)])).digest();
    expect(response.subarray(4, 20).equals(expected)).toBe(true);
  });

  it('signs with a secret of multi-byte UTF-8 characters, and leaves no copy of the secret beside the packet', () => {
    const secret = 'sécret-ünïcode-längër-ключ';
    // Outside Node's shared pool (Buffer.from of a string would put a copy there).
    const secretBytes = Buffer.alloc(Buffer.byteLength(secret, 'utf8'));
    secretBytes.write(secret, 0, 'utf8');
    const response = encodeResponse({ code: Code.AccessAccept, request: scannedRequest, secret, attributes: [['Session-Timeout', 60]] });
    // The answer comes from the shared pool: no part of it holds the secret (it was hashed elsewhere, and wiped there).
    expect(Buffer.from(response.buffer).includes(secretBytes)).toBe(false);
    const copy = Buffer.from(response);
    requestAuth.copy(copy, 4);
    const expected = createHash('md5').update(Buffer.concat([copy, secretBytes])).digest();
    expect(response.subarray(4, 20).equals(expected)).toBe(true);
    copy.fill(0, 22, 38);
    expect(response.subarray(22, 38).equals(createHmac('md5', secret).update(copy).digest())).toBe(true);
  });

  it('builds an Access-Reject with the MA first', () => {
    const response = encodeResponse({ code: Code.AccessReject, request: scannedRequest, secret: SECRET, attributes: [] });
    expect(response[0]).toBe(3);
    checkMessageAuthenticatorFirst(response);
    checkAuthenticators(response);
    expect(walk(response).map((a) => a.type)).toEqual([A.MessageAuthenticator, A.ProxyState, A.ProxyState, A.ProxyState]);
  });

  it('puts the MA first in an Access-Challenge too', () => {
    const response = encodeResponse({ code: Code.AccessChallenge, request: scannedRequest, secret: SECRET, attributes: [] });
    expect(response[0]).toBe(11);
    checkMessageAuthenticatorFirst(response);
    checkAuthenticators(response);
  });

  it('a response signed with another secret does not verify', () => {
    const response = encodeResponse({ code: Code.AccessAccept, request: scannedRequest, secret: `${SECRET}2`, attributes: [] });
    expect(response.subarray(4, 20).equals(expectedResponseAuthenticator(response, requestAuth, SECRET))).toBe(false);
  });

  it('encodes the RFC 3580 VLAN attributes as tagged attributes', () => {
    const response = encodeResponse({
      code: Code.AccessAccept,
      request: scanned(macAuthRequest({ secret: SECRET, userName: 'aa-bb-cc-dd-ee-ff' })),
      secret: SECRET,
      attributes: [
        ['Tunnel-Type', 0, 'VLAN'],
        ['Tunnel-Medium-Type', 0, 'IEEE-802'],
        ['Tunnel-Private-Group-Id', 0, '99'],
      ],
    });
    const attrs = walk(response);
    expect(attrs.map((a) => [a.type, a.value.toString('hex')])).toEqual([
      [A.MessageAuthenticator, expect.any(String)],
      [A.TunnelType, '0000000d'], // tag 0 + 24-bit VLAN (13)
      [A.TunnelMediumType, '00000006'], // tag 0 + 24-bit IEEE-802 (6)
      [A.TunnelPrivateGroupId, `00${Buffer.from('99').toString('hex')}`],
    ]);
  });

  it('copies Proxy-States verbatim after tagged attributes (the radius package would add a stray tag octet)', () => {
    const response = encodeResponse({
      code: Code.AccessAccept,
      request: scannedRequest,
      secret: SECRET,
      attributes: [
        ['Tunnel-Type', 0, 'VLAN'],
        ['Tunnel-Medium-Type', 0, 'IEEE-802'],
        ['Tunnel-Private-Group-Id', 0, '99'],
      ],
    });
    checkMessageAuthenticatorFirst(response);
    checkAuthenticators(response);
    const attrs = walk(response);
    expect(attrs.map((a) => a.type)).toEqual([A.MessageAuthenticator, A.TunnelType, A.TunnelMediumType, A.TunnelPrivateGroupId, A.ProxyState, A.ProxyState, A.ProxyState]);
    expect(attrs.slice(4).map((a) => a.value.toString('hex'))).toEqual(['010203', Buffer.from('second-proxy').toString('hex'), '00']);
  });

  it('encodes a Buffer-valued attribute after a tagged one unchanged', () => {
    const response = encodeResponse({
      code: Code.AccessAccept,
      request: scannedRequest,
      secret: SECRET,
      attributes: [
        ['Tunnel-Private-Group-Id', 1, '42'],
        ['Class', Buffer.from('klass')],
      ],
    });
    const attrs = walk(response);
    expect(attrs[1]).toMatchObject({ type: A.TunnelPrivateGroupId, value: Buffer.from([1, 0x34, 0x32]) });
    expect(attrs[2]).toMatchObject({ type: 25, value: Buffer.from('klass') });
  });

  it('builds an Accounting-Response without a Message-Authenticator, Proxy-States copied, authenticator correct', () => {
    const acct = accountingStart([attr(A.ProxyState, Buffer.from('p1')), attr(A.ProxyState, Buffer.from('p2'))]);
    const p = scanned(acct);
    const response = encodeResponse({ code: Code.AccountingResponse, request: p, secret: SECRET, attributes: [] });
    expect(response[0]).toBe(5);
    expect(response[1]).toBe(9);
    expect(walk(response).map((a) => [a.type, a.value.toString()])).toEqual([
      [A.ProxyState, 'p1'],
      [A.ProxyState, 'p2'],
    ]);
    expect(response.subarray(4, 20).equals(expectedResponseAuthenticator(response, p.authenticator, SECRET))).toBe(true);
  });

  it('does not change the attributes it is given (the radius package mutates its input)', () => {
    const attributes: AttributeTuple[] = [
      ['Session-Timeout', 60],
      ['Tunnel-Private-Group-Id', 0, '42'],
      ['Reply-Message', 'hello'],
    ];
    const snapshot = structuredClone(attributes);
    const tuples = [...attributes];
    const first = encodeResponse({ code: Code.AccessAccept, request: scannedRequest, secret: SECRET, attributes });
    const second = encodeResponse({ code: Code.AccessAccept, request: scannedRequest, secret: SECRET, attributes });
    expect(attributes).toEqual(snapshot);
    expect(attributes.length).toBe(3);
    attributes.forEach((a, i) => expect(a).toBe(tuples[i]));
    expect(first.equals(second)).toBe(true);
    // Nor the request: its authenticator and Proxy-States are untouched.
    expect(scannedRequest.authenticator.equals(requestAuth)).toBe(true);
    expect(scannedRequest.proxyStates.length).toBe(3);
  });

  describe('near the 4096-octet limit', () => {
    /** A signed Access-Request of `size` octets: MA, a 14-octet User-Name, and Proxy-States filling the rest. */
    function bigRequest(size: number): Buffer {
      const attrs = [maPlaceholder(), attr(A.UserName, 'aabbccddeef0')];
      let left = size - 20 - 18 - 14;
      while (left > 0) {
        const len = Math.min(253, left);
        if (left - len === 1 || len < 2) throw new Error('bad size');
        attrs.push(attr(A.ProxyState, Buffer.alloc(len - 2, attrs.length)));
        left -= len;
      }
      const raw = signAccessRequest(assemble(1, 3, requestAuth, attrs), SECRET);
      expect(raw.length).toBe(size);
      return raw;
    }
    const vlan: AttributeTuple[] = [
      ['Tunnel-Type', 0, 'VLAN'],
      ['Tunnel-Medium-Type', 0, 'IEEE-802'],
      ['Tunnel-Private-Group-Id', 0, '99'],
    ];

    it('builds a response of exactly 4096 octets', () => {
      // Response = request - User-Name (14) + VLAN attributes (17) = request + 3.
      const response = encodeResponse({ code: Code.AccessAccept, request: scanned(bigRequest(4093)), secret: SECRET, attributes: vlan });
      expect(response.length).toBe(4096);
      expect(scanned(response).length).toBe(4096);
      checkMessageAuthenticatorFirst(response);
      checkAuthenticators(response);
      expect(walk(response).filter((a) => a.type === A.ProxyState)).toHaveLength(16);
    });

    it('refuses to build a response over 4096 octets instead of sending a truncated one', () => {
      // The Proxy-States of a 4096-octet request plus the VLAN attributes make 4099 octets.
      expect(() => encodeResponse({ code: Code.AccessAccept, request: scanned(bigRequest(4096)), secret: SECRET, attributes: vlan })).toThrow(/4096/);
    });
  });

  it('refuses a code it has no name for', () => {
    expect(() => encodeResponse({ code: 99, request: scannedRequest, secret: SECRET, attributes: [] })).toThrow(/unknown response code/);
  });
});

describe('Message-Authenticator HMAC-MD5 (RFC 2104, from two one-shot MD5s)', () => {
  it('agrees with createHmac for secrets of every length around the block size (and empty), and long messages', () => {
    let seed = 7;
    const random = (n: number) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff));
    for (const secretLength of [0, 1, 16, 63, 64, 65, 100, 200]) {
      const secret = random(secretLength).toString('hex').slice(0, secretLength);
      for (const length of [38, 100, 1000, 4096]) {
        const raw = random(length);
        raw.writeUInt16BE(length, 2);
        const at = 22;
        const expected = Buffer.from(raw);
        expected.fill(0, at, at + 16);
        expect(messageAuthenticator(raw, length, at, secret).equals(createHmac('md5', secret).update(expected).digest()), `secret ${secretLength}, packet ${length}`).toBe(true);
      }
    }
  });
});

describe('scanPacket: attribute bounds', () => {
  it('takes a last attribute of 2 octets (an empty value) that ends exactly at the Length', () => {
    const raw = assemble(1, 2, fixedAuthenticator(), [attr(A.UserName, 'x'), attr(A.ProxyState, Buffer.alloc(0))]);
    expect(scanned(raw).proxyStates).toEqual([Buffer.alloc(0)]);
  });

  it('refuses an attribute whose length octet is 1, or a lone type octet at the end', () => {
    expect(reason(rawWith(23, Buffer.from([A.UserName, 1, 0x61])))).toBe('bad_attribute');
    expect(reason(rawWith(21, Buffer.from([A.UserName])))).toBe('bad_attribute');
  });
});

describe('equal', () => {
  it('is true for the same bytes and false for other bytes or another length, without throwing', () => {
    expect(equal(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(equal(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(equal(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });
});

describe('authenticatorMd5', () => {
  it('is MD5 of the first `length` octets and the secret, with the packet\'s own authenticator when none is given', () => {
    const raw = Buffer.concat([assemble(5, 9, fixedAuthenticator(0x20), [attr(A.UserName, 'alice')]), Buffer.from('padding')]);
    const length = raw.readUInt16BE(2);
    expect(authenticatorMd5(raw, length, SECRET)).toEqual(createHash('md5').update(raw.subarray(0, length)).update(SECRET).digest());
    const zeroed = Buffer.from(raw.subarray(0, length)).fill(0, 4, 20);
    expect(authenticatorMd5(raw, length, SECRET, Buffer.alloc(16))).toEqual(createHash('md5').update(zeroed).update(SECRET).digest());
  });
});

describe('verifyMessageAuthenticator: Status-Server', () => {
  it('checks the MA over the packet with its own authenticator, as for an Access-Request (RFC 5997 §3)', () => {
    const raw = signAccessRequest(assemble(Code.StatusServer, 5, fixedAuthenticator(0x33), [maPlaceholder()]), SECRET);
    expect(verifyMessageAuthenticator(raw, scanned(raw), SECRET)).toBe(true);
  });
});

describe('codeName', () => {
  it('names every code the way the radius package does, and an unknown one by its number', () => {
    expect([1, 2, 3, 4, 5, 11, 12, 40, 41, 42, 43, 44, 45].map(codeName)).toEqual([
      'Access-Request',
      'Access-Accept',
      'Access-Reject',
      'Accounting-Request',
      'Accounting-Response',
      'Access-Challenge',
      'Status-Server',
      'Disconnect-Request',
      'Disconnect-ACK',
      'Disconnect-NAK',
      'CoA-Request',
      'CoA-ACK',
      'CoA-NAK',
    ]);
    expect(codeName(99)).toBe('code-99');
  });
});

describe('encodeResponse: raw attributes, encoded values and limits', () => {
  const requestAuth = fixedAuthenticator(0x91);
  const otherAuth = fixedAuthenticator(0x55);
  const request = (auth: Buffer) => scanned(signAccessRequest(assemble(1, 0x11, auth, [maPlaceholder(), attr(A.ProxyState, Buffer.from('ps'))]), SECRET));
  const valueOf = (response: Buffer, type: number) => walk(response).find((a) => a.type === type)?.value;
  // The vendor dictionaries (WISPr, Microsoft) name the vendor attributes below.
  beforeAll(() => {
    loadDictionaries(DICTIONARY_DIR);
  });

  it('writes the already-encoded attributes after the others and before the Proxy-States', () => {
    const eap = Buffer.from([79, 6, 3, 7, 0, 4]);
    const response = encodeResponse({ code: Code.AccessAccept, request: request(requestAuth), secret: SECRET, attributes: [['Session-Timeout', 60]], raw: [eap] });
    expect(walk(response).map((a) => a.type)).toEqual([A.MessageAuthenticator, 27, 79, A.ProxyState]);
    expect(valueOf(response, 79)).toEqual(Buffer.from([3, 7, 0, 4]));
    expect(response.readUInt16BE(2)).toBe(response.length);
    expect(response.length).toBe(20 + 18 + 6 + 6 + 4);
    expect(response.subarray(4, 20)).toEqual(expectedResponseAuthenticator(response, requestAuth, SECRET));
  });

  it('encodes each value of a repeated attribute anew: 60, then 120', () => {
    const at = (seconds: number) => valueOf(encodeResponse({ code: Code.AccessAccept, request: request(requestAuth), secret: SECRET, attributes: [['Session-Timeout', seconds]] }), 27);
    expect(at(60)?.readUInt32BE(0)).toBe(60);
    expect(at(120)?.readUInt32BE(0)).toBe(120);
    const vsa = (name: string) =>
      encodeResponse({ code: Code.AccessAccept, request: request(requestAuth), secret: SECRET, attributes: [['Vendor-Specific', 14122, [['WISPr-Redirection-URL', name]]]] });
    expect(valueOf(vsa('http://a.example/'), 26)?.toString('latin1')).toContain('http://a.example/');
    expect(valueOf(vsa('http://b.example/'), 26)?.toString('latin1')).toContain('http://b.example/');
  });

  it('encodes a value that depends on the request authenticator for each request, also when the list is the same', () => {
    const attributes: AttributeTuple[] = [['User-Password', 'not cached']];
    const a = valueOf(encodeResponse({ code: Code.AccessAccept, request: request(requestAuth), secret: SECRET, attributes }), 2);
    const b = valueOf(encodeResponse({ code: Code.AccessAccept, request: request(otherAuth), secret: SECRET, attributes }), 2);
    // RFC 2865 §5.2: MD5(secret + authenticator) XOR the padded password.
    const expected = (auth: Buffer) => {
      const plain = Buffer.alloc(16);
      plain.write('not cached');
      const pad = createHash('md5').update(SECRET).update(auth).digest();
      return Buffer.from(plain.map((x, i) => x ^ pad[i]!));
    };
    expect(a).toEqual(expected(requestAuth));
    expect(b).toEqual(expected(otherAuth));
  });

  it('says which attribute cannot be encoded and why', () => {
    const encode = (attributes: AttributeTuple[]) => () => encodeResponse({ code: Code.AccessAccept, request: request(requestAuth), secret: SECRET, attributes });
    expect(encode([['Reply-Message', 'x'.repeat(253)]])).not.toThrow();
    expect(encode([['Reply-Message', 'x'.repeat(254)]])).toThrow(new Error('Access-Accept: cannot encode Reply-Message: its 254-octet value is over the RADIUS maximum of 253 octets'));
    expect(encode([['Class', Buffer.alloc(260)]])).toThrow(new Error('Access-Accept: cannot encode Class: its 260-octet value is over the RADIUS maximum of 253 octets'));
    expect(encode([['Tunnel-Private-Group-Id', 0, 'x'.repeat(253)]])).toThrow(
      new Error('Access-Accept: cannot encode Tunnel-Private-Group-Id: its 253-octet value is over the RADIUS maximum of 252 octets after the tag'),
    );
    expect(encode([['No-Such-Attribute', 1]])).toThrow(/^Access-Accept: cannot encode No-Such-Attribute: /);
    expect(encode([['No-Such-Attribute', 1]])).not.toThrow(/octet value/);
  });

  it('names the code and both sizes when a response would be over 4096 octets', () => {
    const big: AttributeTuple[] = Array.from({ length: 17 }, () => ['Reply-Message', 'y'.repeat(253)] as AttributeTuple);
    expect(() => encodeResponse({ code: Code.AccessReject, request: request(requestAuth), secret: SECRET, attributes: big })).toThrow(
      new Error('Access-Reject would be 4377 octets, over the RADIUS maximum of 4096'),
    );
  });
});

describe('encodeResponse: the memo of encoded attributes', () => {
  // Answers repeat the same few attributes, and the radius package's encode was an eighth
  // of an answer's CPU (bench/radius.ts): what may be remembered is encoded once. What
  // depends on the secret or the request authenticator never is.
  const request = (seed: number) => scanned(signAccessRequest(assemble(1, 0x21, fixedAuthenticator(seed), [maPlaceholder()]), SECRET));
  const answer = (attributes: AttributeTuple[], seed = 0x33) => encodeResponse({ code: Code.AccessAccept, request: request(seed), secret: SECRET, attributes });
  /** The attributes after the Message-Authenticator (20-octet header, then 18 octets). */
  const attributesOf = (response: Buffer) => response.subarray(38);
  beforeAll(() => {
    loadDictionaries(DICTIONARY_DIR);
  });

  /** How many attributes the radius package was asked to encode while `f` ran (each is its own call). */
  function libraryEncodes<T>(f: () => T): { calls: number; result: T } {
    const spy = vi.spyOn(radiusLib, 'encode');
    try {
      const result = f();
      return { calls: spy.mock.calls.length, result };
    } finally {
      spy.mockRestore();
    }
  }

  it('encodes a string, a number and vendor attributes of each once, and answers the next request from the memo', () => {
    // A new list each time, so that the per-attribute memo answers, not the memo of lists.
    const list = (): AttributeTuple[] => [
      ['Reply-Message', 'memo: a string'],
      ['Session-Timeout', 7207],
      ['Vendor-Specific', 14122, [['WISPr-Redirection-URL', 'http://memo.example/']]],
      ['Vendor-Specific', 14122, [['WISPr-Bandwidth-Max-Up', 1207]]],
    ];
    // RFC 2865 §5: type, length, value; §5.26: vendor 14122 (0x372a), then the vendor's type and length.
    const expected = Buffer.concat([
      Buffer.from('1210', 'hex'),
      Buffer.from('memo: a string'),
      Buffer.from('1b0600001c27', 'hex'),
      Buffer.from('1a1c0000372a0416', 'hex'),
      Buffer.from('http://memo.example/'),
      Buffer.from('1a0c0000372a0706000004b7', 'hex'),
    ]);
    const first = libraryEncodes(() => answer(list()));
    expect(first.calls).toBe(4);
    expect(attributesOf(first.result)).toEqual(expected);
    const second = libraryEncodes(() => answer(list(), 0x34));
    expect(second.calls).toBe(0);
    expect(attributesOf(second.result)).toEqual(expected);
  });

  it('encodes User-Password given by its number (2) anew for each request, also when the list is the same', () => {
    const attributes: AttributeTuple[] = [['Session-Timeout', 7208], [2, 'by number']];
    // RFC 2865 §5.2: MD5(secret + request authenticator) XOR the password padded to 16 octets.
    const expected = (seed: number) => {
      const plain = Buffer.alloc(16);
      plain.write('by number');
      const pad = createHash('md5').update(SECRET).update(fixedAuthenticator(seed)).digest();
      return Buffer.concat([Buffer.from('1b0600001c28', 'hex'), Buffer.from([2, 18]), Buffer.from(plain.map((x, i) => x ^ pad[i]!))]);
    };
    expect(attributesOf(answer(attributes, 0x41))).toEqual(expected(0x41));
    const second = libraryEncodes(() => answer(attributes, 0x42));
    expect(attributesOf(second.result)).toEqual(expected(0x42));
    // The password again; Session-Timeout from the memo.
    expect(second.calls).toBe(1);
  });

  it('encodes each octets value as given, also bytes that are not UTF-8', () => {
    expect(attributesOf(answer([['Class', Buffer.from([0xff])]]))).toEqual(Buffer.from('1903ff', 'hex'));
    expect(attributesOf(answer([['Class', Buffer.from([0xfe])]]))).toEqual(Buffer.from('1903fe', 'hex'));
  });

  it('keeps at most 20,000 attributes: the next one empties it first', async () => {
    // A module of its own, so that its memo starts empty.
    vi.resetModules();
    const fresh = await import('../../../src/radius/packet.js');
    const timeouts = (from: number, to: number): AttributeTuple[] => Array.from({ length: to - from }, (_, i) => ['Session-Timeout', from + i] as AttributeTuple);
    const encode = (attributes: AttributeTuple[]) => fresh.encodeResponse({ code: Code.AccessAccept, request: request(0x35), secret: SECRET, attributes });
    // 20,000 values, 500 to an answer (6 octets each: under 4096).
    for (let from = 0; from < 20_000; from += 500) encode(timeouts(from, from + 500));
    expect(libraryEncodes(() => encode(timeouts(0, 1))).calls).toBe(0);
    expect(libraryEncodes(() => encode(timeouts(20_000, 20_001))).calls).toBe(1);
    // The 20,001st emptied the memo before it went in.
    expect(libraryEncodes(() => encode(timeouts(20_000, 20_001))).calls).toBe(0);
    expect(libraryEncodes(() => encode(timeouts(0, 1))).calls).toBe(1);
  });
});

describe('encodeResponse: why an attribute cannot be encoded', () => {
  const request = scanned(signAccessRequest(assemble(1, 0x22, fixedAuthenticator(0x36), [maPlaceholder()]), SECRET));
  const failure = (attributes: AttributeTuple[]): Error => {
    try {
      encodeResponse({ code: Code.AccessAccept, request, secret: SECRET, attributes });
    } catch (err) {
      return err as Error;
    }
    throw new Error('encoded');
  };

  it('gives the length only when the value is too long; otherwise what the radius package said', () => {
    // Not a length problem: an unknown name (with a long value), a number out of an integer's range (a short one).
    for (const tuple of [['No-Such-Attribute', 'x'.repeat(300)], ['NAS-Port', '99999999999']] as AttributeTuple[]) {
      const err = failure([tuple]);
      expect(err.message).toMatch(new RegExp(`^Access-Accept: cannot encode ${String(tuple[0])}: `));
      expect(err.message).not.toMatch(/octet value|RADIUS maximum/);
    }
  });

  it("keeps the radius package's error as the cause", () => {
    const err = failure([['Reply-Message', 'x'.repeat(254)]]);
    expect(err.message).toBe('Access-Accept: cannot encode Reply-Message: its 254-octet value is over the RADIUS maximum of 253 octets');
    expect(err.cause).toBeInstanceOf(RangeError);
  });
});

describe('decodeAttributes', () => {
  it('decodes attributes by dictionary name', () => {
    const raw = assemble(1, 1, fixedAuthenticator(), [attr(A.UserName, 'alice')]);
    expect(decodeAttributes(raw, raw.length)).toMatchObject({ 'User-Name': 'alice' });
  });

  it('gives undefined, not an exception, for attributes the radius package cannot decode', () => {
    // A Vendor-Specific of 3 octets: well-formed for scanPacket, too short for its vendor id.
    const raw = assemble(1, 1, fixedAuthenticator(), [Buffer.from('1a0300', 'hex')]);
    expect(scanPacket(raw).ok).toBe(true);
    expect(decodeAttributes(raw, raw.length)).toBeUndefined();
  });
});

describe('decodeAttributes gives what the radius package gives, for any attributes', () => {
  beforeAll(() => {
    loadDictionaries(DICTIONARY_DIR);
  });

  /** A deterministic pseudo-random generator (mulberry32), so that a failure can be replayed. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const library = (raw: Buffer): unknown => {
    try {
      return radiusLib.decode_without_secret({ packet: raw }).attributes;
    } catch {
      return undefined;
    }
  };

  /** Random attributes of every type: values of 0 to 20 octets, some of a few fixed values (so values repeat), some repeated attributes, vendor attributes of our dictionaries' vendors. */
  function randomPacket(next: () => number): Buffer {
    const attributes: Buffer[] = [];
    const count = 1 + Math.floor(next() * 8);
    for (let i = 0; i < count; i++) {
      const type = next() < 0.5 ? [1, 2, 4, 5, 6, 8, 30, 31, 32, 61, 80, 87, 64, 65, 81, 55][Math.floor(next() * 16)]! : Math.floor(next() * 256);
      let value: Buffer;
      if (type === 26 && next() < 0.8) {
        const vendor = [9, 14122, 14179, 14823, 311][Math.floor(next() * 5)]!;
        const sub = Buffer.from(`v${Math.floor(next() * 3)}`);
        value = Buffer.concat([Buffer.from([0, (vendor >> 16) & 0xff, (vendor >> 8) & 0xff, vendor & 0xff, 1 + Math.floor(next() * 3), sub.length + 2]), sub]);
      } else if (next() < 0.4) {
        value = [Buffer.from('aa:bb:cc:dd:ee:ff'), Buffer.from([0, 0, 0, 15]), Buffer.from([127, 0, 0, 1]), Buffer.from([0, 0, 0, 10]), Buffer.alloc(16, 7)][Math.floor(next() * 5)]!;
      } else {
        value = Buffer.from(Array.from({ length: Math.floor(next() * 21) }, () => Math.floor(next() * 256)));
      }
      attributes.push(Buffer.concat([Buffer.from([type, value.length + 2]), value]));
    }
    return assemble(1, 1, fixedAuthenticator(), attributes);
  }

  it('on 20,000 random packets, twice each (learning, then from what was learnt)', () => {
    const next = random(20261207);
    const packets = Array.from({ length: 20_000 }, () => randomPacket(next));
    for (let round = 0; round < 2; round++) {
      for (const raw of packets) {
        const expected = library(raw);
        const got = decodeAttributes(raw, raw.length);
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          // toEqual says what differs; the packet in hex replays it.
          expect({ packet: raw.toString('hex'), got }).toEqual({ packet: raw.toString('hex'), got: expected });
        }
      }
    }
  });

  it('on a MAC authentication as routers send it: repeated attributes as arrays, the hidden password as null, octets as the bytes', () => {
    const raw = assemble(1, 1, fixedAuthenticator(), [
      maPlaceholder(),
      attr(A.UserName, 'aa-bb-cc-dd-ee-ff'),
      attr(2, Buffer.alloc(16, 1)),
      attr(A.CallingStationId, 'AA-BB-CC-DD-EE-FF'),
      attr(A.CallingStationId, 'second'),
      attr(A.CallingStationId, 'third'),
      ipAttr(4, '10.0.0.1'),
      attr(61, 15),
    ]);
    const first = decodeAttributes(raw, raw.length);
    expect(first).toEqual(library(raw));
    expect(first).toMatchObject({ 'User-Password': null, 'Calling-Station-Id': ['AA-BB-CC-DD-EE-FF', 'second', 'third'], 'NAS-IP-Address': '10.0.0.1', 'NAS-Port-Type': 'Ethernet' });
    // A second packet's values are its own, not the first's arrays or buffers.
    const again = decodeAttributes(raw, raw.length)!;
    expect(again['Calling-Station-Id']).not.toBe(first!['Calling-Station-Id']);
    expect(again['Message-Authenticator']).toEqual(Buffer.alloc(16));
  });

  it('gives undefined for an attribute the package cannot read, also once its type is known (an integer of 2 octets)', () => {
    const good = assemble(1, 1, fixedAuthenticator(), [attr(61, 15)]);
    const short = assemble(1, 1, fixedAuthenticator(), [Buffer.from([61, 4, 0, 15])]);
    expect(decodeAttributes(good, good.length)).toEqual({ 'NAS-Port-Type': 'Ethernet' });
    expect(library(short)).toBeUndefined();
    expect(decodeAttributes(short, short.length)).toBeUndefined();
  });

  it('reads only up to the length it is given, and refuses an attribute that runs past it', () => {
    const raw = assemble(1, 1, fixedAuthenticator(), [attr(A.UserName, 'alice'), attr(A.CallingStationId, 'bob')]);
    expect(decodeAttributes(raw, raw.length - 5)).toEqual({ 'User-Name': 'alice' });
    expect(decodeAttributes(raw, raw.length - 2)).toBeUndefined();
  });
});

describe('decodeAttributes with a dictionary of its own', () => {
  let dir: string;
  beforeAll(async () => {
    // Our dictionaries plus a tagged octets attribute (RFC 2868 tags), which no bundled dictionary has.
    dir = await mkdtemp(join(tmpdir(), 'enrollgate-decode-'));
    for (const f of await readdir(DICTIONARY_DIR)) if (f.startsWith('dictionary.')) await copyFile(join(DICTIONARY_DIR, f), join(dir, f));
    await writeFile(join(dir, 'dictionary.zz-test'), 'ATTRIBUTE\tTest-Tagged-Octets\t241\toctets\thas_tag\n');
    loadDictionaries(dir);
    return async () => {
      loadDictionaries(DICTIONARY_DIR);
      await rm(dir, { recursive: true, force: true });
    };
  });

  it('leaves a tagged type to the package, whose value may or may not start with a tag', () => {
    const untagged = assemble(1, 1, fixedAuthenticator(), [Buffer.from([241, 5, 0x41, 0x42, 0x43])]);
    const tagged = assemble(1, 1, fixedAuthenticator(), [Buffer.from([241, 5, 0x01, 0x42, 0x43])]);
    for (const raw of [untagged, tagged, untagged, tagged]) {
      expect(decodeAttributes(raw, raw.length)).toEqual(radiusLib.decode_without_secret({ packet: raw }).attributes);
    }
    expect(decodeAttributes(tagged, tagged.length)).toEqual({ 'Test-Tagged-Octets': [1, Buffer.from('BC')] });
  });
});
