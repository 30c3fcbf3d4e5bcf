import { describe, expect, it } from 'vitest';
import { ATTR_EAP_MESSAGE, ATTR_STATE, EapCode, EapType, eapMessageAttributes, eapOfRequest, encodeEap, parseEap, rawAttribute } from '../../../../src/radius/eap/eap-packet.js';
import { A, assemble, attr, fixedAuthenticator, maPlaceholder } from '../radius-bytes.js';

/** Octets 0, 1, 2, … (mod 256): a payload whose every position is recognisable after a split and a join. */
function counting(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));
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
    const found = eapOfRequest(raw, raw.length);
    expect(found.eap).toEqual(eap);
    expect(found.state).toEqual(state);
  });

  it('takes the first State, and says when there is no EAP or no State', () => {
    const raw = assemble(1, 9, fixedAuthenticator(), [rawAttribute(ATTR_STATE, Buffer.from('first')), rawAttribute(ATTR_STATE, Buffer.from('second'))]);
    expect(eapOfRequest(raw, raw.length)).toEqual({ eap: undefined, state: Buffer.from('first') });
    const bare = assemble(1, 9, fixedAuthenticator(), [...eapMessageAttributes(encodeEap(EapCode.Response, 1, EapType.Identity))]);
    expect(eapOfRequest(bare, bare.length)).toEqual({ eap: Buffer.from('0201000501', 'hex'), state: undefined });
  });

  it('reads only up to the packet Length, not the padding after it', () => {
    const raw = assemble(1, 9, fixedAuthenticator(), [...eapMessageAttributes(Buffer.from('0201000501', 'hex'))]);
    const padded = Buffer.concat([raw, ...eapMessageAttributes(Buffer.from('ffff'))]);
    expect(eapOfRequest(padded, raw.length).eap).toEqual(Buffer.from('0201000501', 'hex'));
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
    expect(eapOfRequest(raw, raw.length)).toEqual({ eap: Buffer.from('0201000501', 'hex'), state: Buffer.alloc(0) });
  });
});
