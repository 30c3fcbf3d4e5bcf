import { describe, expect, it } from 'vitest';
import { ATTR_EAP_MESSAGE, ATTR_STATE, carriesEap, EapCode, EapType, eapMessageAttributes, encodeEap, parseEap, rawAttribute, readEapRequest } from '../../../../src/radius/eap/eap-packet.js';
import { A, assemble, attr, fixedAuthenticator, maPlaceholder } from '../radius-bytes.js';

/** Octets 0, 1, 2, … (mod 256): a payload whose every position is recognisable after a split and a join. */
function counting(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));
}

/** readEapRequest's attributes, failing the test with its problem when it refuses. */
function read(raw: Buffer, length = raw.length) {
  const r = readEapRequest(raw, length);
  if (!r.ok) throw new Error(`refused: ${r.problem}`);
  return r.attributes;
}

describe('parseEap and encodeEap (RFC 3748 §4)', () => {
  it('round-trips a Response/Identity byte for byte', () => {
    // Written out by hand from RFC 3748 §4: code 2, identifier 7, length 12, type 1, "employee".
    const wire = Buffer.from('0207000d01656d706c6f796565', 'hex');
    expect(encodeEap(EapCode.Response, 7, EapType.Identity, Buffer.from('employee'))).toEqual(wire);
    const parsed = parseEap(wire);
    expect(parsed).toEqual({ ok: true, packet: { code: 2, identifier: 7, type: 1, data: Buffer.from('employee') } });
  });

  it.each([
    ['Success', EapCode.Success],
    ['Failure', EapCode.Failure],
  ])('round-trips a bare %s (4 octets, no type)', (_name, code) => {
    const wire = encodeEap(code, 0xfe);
    expect(wire).toEqual(Buffer.from([code, 0xfe, 0, 4]));
    expect(parseEap(wire)).toEqual({ ok: true, packet: { code, identifier: 0xfe, data: Buffer.alloc(0) } });
  });

  it('round-trips a Request with a type and no data, and a long one', () => {
    const start = encodeEap(EapCode.Request, 1, EapType.Tls, Buffer.from([0x20]));
    expect(start).toEqual(Buffer.from('010100060d20', 'hex'));
    const long = encodeEap(EapCode.Request, 0x1ff, EapType.Tls, counting(3000));
    expect(long[1]).toBe(0xff); // the identifier is one octet
    const parsed = parseEap(long);
    expect(parsed.ok && parsed.packet.data).toEqual(counting(3000));
    expect(parsed.ok && parsed.packet.type).toBe(EapType.Tls);
  });

  describe('refuses, saying why', () => {
    it.each([
      ['nothing at all', '', /shorter than its 4-octet header/],
      ['a truncated header', '0201', /shorter than its 4-octet header/],
      ['three octets', '020100', /shorter than its 4-octet header/],
      ['a Length above the octets that came', '0201000a01616263', /Length says 10 octets but 8 arrived/],
      ['a Length below the octets that came (trailing octets are not padding)', '0201000601616263', /Length says 6 octets but 8 arrived/],
      ['a Length of zero', '02010000', /Length says 0 octets but 4 arrived/],
      ['a Success with data', '0301000500', /Success or Failure longer than 4/],
      ['a Failure with data', '040100060000', /Success or Failure longer than 4/],
      ['code 0', '00010004', /unknown EAP code 0/],
      ['code 5 (RFC 6696 Initiate: not ours)', '05010005ff', /unknown EAP code 5/],
      ['code 255', 'ff010004', /unknown EAP code 255/],
      ['a Request without a type', '01010004', /without a Type/],
      ['a Response without a type', '02090004', /without a Type/],
    ])('%s', (_name, hex, problem) => {
      const parsed = parseEap(Buffer.from(hex, 'hex'));
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && parsed.problem).toMatch(problem);
    });
  });
});

describe('EAP-Message attributes (RFC 3579 §3.1)', () => {
  it.each([1, 252, 253, 254, 506, 507, 1500])('splits %i octets into attributes of at most 253, in order', (n) => {
    const eap = counting(n);
    const attributes = eapMessageAttributes(eap);
    expect(attributes).toHaveLength(Math.ceil(n / 253));
    for (const [i, a] of attributes.entries()) {
      expect(a[0]).toBe(ATTR_EAP_MESSAGE);
      expect(a[1]).toBe(a.length);
      expect(a.length).toBe(2 + (i < attributes.length - 1 ? 253 : n - 253 * (attributes.length - 1)));
    }
    expect(Buffer.concat(attributes.map((a) => a.subarray(2)))).toEqual(eap);
  });

  it('makes no attribute for nothing', () => {
    expect(eapMessageAttributes(Buffer.alloc(0))).toEqual([]);
  });

  it('joins the EAP-Message values of a request back in order, around other attributes, and finds the State', () => {
    const eap = encodeEap(EapCode.Response, 3, EapType.Tls, counting(900));
    const parts = eapMessageAttributes(eap);
    expect(parts).toHaveLength(4);
    const state = Buffer.from('45000102030405060708090a0b0c0d0e0f10', 'hex');
    // Other attributes between the pieces, as a NAS may order them: only the EAP-Message values count, in their order.
    const raw = assemble(1, 9, fixedAuthenticator(), [attr(A.UserName, 'employee'), parts[0]!, maPlaceholder(), parts[1]!, rawAttribute(ATTR_STATE, state), parts[2]!, attr(A.CallingStationId, '02-00-00-00-00-01'), parts[3]!]);
    expect(read(raw)).toEqual({ eap, state, userName: 'employee', station: '02-00-00-00-00-01' });
  });

  it('takes the first State, User-Name and Calling-Station-Id, and says when there is no EAP or no State', () => {
    const raw = assemble(1, 9, fixedAuthenticator(), [
      rawAttribute(ATTR_STATE, Buffer.from('first')),
      attr(A.UserName, 'jo'),
      attr(A.CallingStationId, 'aa-bb'),
      rawAttribute(ATTR_STATE, Buffer.from('second')),
      attr(A.UserName, 'other'),
      attr(A.CallingStationId, 'cc-dd'),
    ]);
    expect(read(raw)).toEqual({ eap: undefined, state: Buffer.from('first'), userName: 'jo', station: 'aa-bb' });
    const bare = assemble(1, 9, fixedAuthenticator(), [...eapMessageAttributes(encodeEap(EapCode.Response, 1, EapType.Identity))]);
    expect(read(bare)).toEqual({ eap: Buffer.from('0201000501', 'hex'), state: undefined, userName: undefined, station: undefined });
  });

  it('reads User-Name as UTF-8, as the radius package does', () => {
    const raw = assemble(1, 9, fixedAuthenticator(), [attr(A.UserName, 'DOMAIN\\jöe'), attr(ATTR_EAP_MESSAGE, Buffer.from('0201000501', 'hex'))]);
    expect(read(raw).userName).toBe('DOMAIN\\jöe');
  });

  it('joins an EAP packet split over many attributes of uneven sizes, the longest a RADIUS packet holds', () => {
    // 4096 octets: the header, a Message-Authenticator and EAP-Message attributes filling the rest.
    const room = 4096 - 20 - 18;
    const sizes: number[] = [];
    for (let left = room; left > 0; ) {
      const size = Math.min(left, 2 + ((sizes.length * 37) % 254));
      sizes.push(left - size < 3 && left - size > 0 ? left : size);
      left -= sizes.at(-1)!;
    }
    const values = sizes.map((size) => size - 2);
    const eap = encodeEap(EapCode.Response, 3, EapType.Tls, counting(values.reduce((a, b) => a + b, 0) - 5));
    let at = 0;
    const parts = values.map((n) => attr(ATTR_EAP_MESSAGE, eap.subarray(at, (at += n))));
    const raw = assemble(1, 9, fixedAuthenticator(), [maPlaceholder(), ...parts]);
    expect(raw).toHaveLength(4096);
    expect(read(raw).eap).toEqual(eap);
    expect(carriesEap(raw, raw.length)).toBe(true);
  });

  it('reads only up to the packet Length, not the padding after it', () => {
    const raw = assemble(1, 9, fixedAuthenticator(), [...eapMessageAttributes(Buffer.from('0201000501', 'hex'))]);
    const padded = Buffer.concat([raw, ...eapMessageAttributes(Buffer.from('ffff'))]);
    expect(read(padded, raw.length).eap).toEqual(Buffer.from('0201000501', 'hex'));
  });

  it('refuses an attribute value over 253 octets', () => {
    expect(() => rawAttribute(ATTR_STATE, Buffer.alloc(254))).toThrow(RangeError);
    expect(rawAttribute(ATTR_STATE, Buffer.alloc(253))).toHaveLength(255);
  });
});

describe('EAP bounds', () => {
  it('reads a Response of exactly 5 octets: a Type and no data (an empty Identity)', () => {
    expect(parseEap(Buffer.from('0201000501', 'hex'))).toEqual({ ok: true, packet: { code: 2, identifier: 1, type: 1, data: Buffer.alloc(0) } });
  });

  it('reads past an empty attribute, and takes an empty State at the very end', () => {
    const raw = assemble(1, 1, fixedAuthenticator(), [attr(A.ProxyState, Buffer.alloc(0)), attr(ATTR_EAP_MESSAGE, Buffer.from('0201000501', 'hex')), attr(ATTR_STATE, Buffer.alloc(0))]);
    expect(read(raw)).toEqual({ eap: Buffer.from('0201000501', 'hex'), state: Buffer.alloc(0), userName: undefined, station: undefined });
  });
});

describe('readEapRequest refuses a layout that does not add up, saying why', () => {
  const eapAttribute = attr(ATTR_EAP_MESSAGE, Buffer.from('0201000501', 'hex'));
  /** A request whose Length covers `body` exactly, whatever the attributes in it say. */
  const withBody = (body: Buffer) => assemble(1, 9, fixedAuthenticator(), [body]);

  it.each([
    ['an attribute cut after its type octet', Buffer.concat([eapAttribute, Buffer.from([ATTR_STATE])]), /an attribute cut short at octet 27/],
    ['an attribute whose length runs past the packet', Buffer.concat([eapAttribute, Buffer.from([ATTR_STATE, 10, 1, 2])]), /attribute 24 at octet 27 runs 6 octets past the packet/],
    ['an EAP-Message whose length runs past the packet', Buffer.from([ATTR_EAP_MESSAGE, 9, 2, 1, 0, 5, 1]), /attribute 79 at octet 20 runs 2 octets past the packet/],
    ['an attribute of length 0 (which would never end)', Buffer.concat([eapAttribute, Buffer.from([ATTR_STATE, 0, 0, 0])]), /attribute 24 at octet 27 has a length of 0/],
    ['an attribute of length 1', Buffer.concat([Buffer.from([A.UserName, 1]), eapAttribute]), /attribute 1 at octet 20 has a length of 1/],
  ])('%s', (_name, body, problem) => {
    const r = readEapRequest(withBody(body), 20 + body.length);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem).toMatch(problem);
  });

  it('a Length beyond the octets that came, or below the header', () => {
    const raw = withBody(eapAttribute);
    expect(readEapRequest(raw, raw.length + 1)).toEqual({ ok: false, problem: `a RADIUS Length of ${raw.length + 1} for ${raw.length} octets` });
    expect(readEapRequest(raw, 19)).toEqual({ ok: false, problem: `a RADIUS Length of 19 for ${raw.length} octets` });
  });

  it('a packet over 4096 octets', () => {
    const body = Buffer.concat(Array.from({ length: 17 }, () => attr(ATTR_EAP_MESSAGE, Buffer.alloc(253, 1))));
    const raw = withBody(body);
    expect(readEapRequest(raw, raw.length)).toEqual({ ok: false, problem: `a RADIUS packet of ${raw.length} octets, over the maximum of 4096` });
  });

  it('says whether a request carries EAP at all, and stops at a length below 2', () => {
    expect(carriesEap(withBody(Buffer.concat([attr(A.UserName, 'x'), eapAttribute])), 20 + 3 + eapAttribute.length)).toBe(true);
    const mab = withBody(Buffer.concat([attr(A.UserName, 'x'), attr(A.CallingStationId, 'y')]));
    expect(carriesEap(mab, mab.length)).toBe(false);
    expect(carriesEap(withBody(Buffer.concat([Buffer.from([A.UserName, 0]), eapAttribute])), 20 + 2 + eapAttribute.length)).toBe(false);
    // Length 1: read on from the length octet as a type, it would find an EAP-Message two octets on.
    const one = withBody(Buffer.from([A.UserName, 1, 2, ATTR_EAP_MESSAGE, 3, 0]));
    expect(carriesEap(one, one.length)).toBe(false);
  });
});
