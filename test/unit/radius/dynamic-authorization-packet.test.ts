import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkDynamicAuthorizationReply,
  ciscoAvPair,
  ciscoReauthenticate,
  encodeDynamicAuthorizationRequest,
  selectorAttributes,
  sessionTimeoutAttribute,
} from '../../../src/radius/dynamic-authorization-packet.js';
import { A, assemble, attr, expectedResponseAuthenticator, ipAttr, maPlaceholder, walk } from './radius-bytes.js';

const SECRET = 'unit-test-secret-0123456789';
const ERROR_CAUSE = 101;

/** Cisco-AVPair written out by hand: Vendor-Specific(26), len, vendor 9, vendor-type 1, vendor-len, string. */
function handCiscoAvPair(value: string): Buffer {
  const v = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from([26, v.length + 8, 0, 0, 0, 9, 1, v.length + 2]), v]);
}

/**
 * RFC 5176 §3.5 straight from the text, with node:crypto: authenticator field zeroed,
 * Message-Authenticator = HMAC-MD5 over that packet with its own value zeroed, then
 * Request Authenticator = MD5(packet with zeroed authenticator + secret).
 */
function signDynamicAuthorizationRequest(raw: Buffer, secret: string): Buffer {
  const out = Buffer.from(raw);
  out.fill(0, 4, 20);
  const ma = walk(out).find((a) => a.type === A.MessageAuthenticator);
  if (ma) {
    out.fill(0, ma.at + 2, ma.at + 18);
    createHmac('md5', secret).update(out).digest().copy(out, ma.at + 2);
  }
  createHash('md5').update(out).update(secret).digest().copy(out, 4);
  return out;
}

/** A router's answer to `request`, signed as RFC 5176 §3.5 says (optionally with a Message-Authenticator first). */
function answer(request: Buffer, code: number, attributes: readonly Buffer[] = [], o: { secret?: string; withMa?: boolean; identifier?: number } = {}): Buffer {
  const secret = o.secret ?? SECRET;
  const requestAuth = request.subarray(4, 20);
  const raw = assemble(code, o.identifier ?? request[1]!, requestAuth, [...(o.withMa ? [maPlaceholder()] : []), ...attributes]);
  if (o.withMa) createHmac('md5', secret).update(raw).digest().copy(raw, 22);
  expectedResponseAuthenticator(raw, requestAuth, secret).copy(raw, 4);
  return raw;
}

const selector = { callingStationId: 'AA-BB-CC-DD-EE-FF', acctSessionId: 'acct-0001', nasIp: '192.0.2.7' };

describe('encodeDynamicAuthorizationRequest', () => {
  it('builds a Cisco CoA-Request byte for byte as RFC 5176 §3.5 says (Message-Authenticator first, over the zeroed authenticator)', () => {
    const ours = encodeDynamicAuthorizationRequest({ kind: 'coa', identifier: 77, secret: SECRET, attributes: [...selectorAttributes(selector), ...ciscoReauthenticate()] });
    const expected = signDynamicAuthorizationRequest(
      assemble(43, 77, Buffer.alloc(16), [
        maPlaceholder(),
        ipAttr(A.NasIpAddress, '192.0.2.7'),
        attr(A.CallingStationId, 'AA-BB-CC-DD-EE-FF'),
        attr(A.AcctSessionId, 'acct-0001'),
        handCiscoAvPair('subscriber:command=reauthenticate'),
        handCiscoAvPair('subscriber:reauthenticate-type=last'),
      ]),
      SECRET,
    );
    expect(ours.toString('hex')).toBe(expected.toString('hex'));
  });

  it('has a Request Authenticator of MD5(Code+ID+Length+16 zeros+Attributes+Secret) and an HMAC that needs the zeroed authenticator', () => {
    const raw = encodeDynamicAuthorizationRequest({ kind: 'disconnect', identifier: 3, secret: SECRET, attributes: selectorAttributes({ callingStationId: 'AA-BB-CC-DD-EE-FF' }) });
    expect(raw[0]).toBe(40);
    const zeroed = Buffer.from(raw);
    zeroed.fill(0, 4, 20);
    expect(raw.subarray(4, 20).equals(createHash('md5').update(zeroed).update(SECRET).digest())).toBe(true);
    const maAt = walk(raw).find((a) => a.type === A.MessageAuthenticator)!.at + 2;
    const forHmac = Buffer.from(zeroed);
    forHmac.fill(0, maAt, maAt + 16);
    expect(raw.subarray(maAt, maAt + 16).equals(createHmac('md5', SECRET).update(forHmac).digest())).toBe(true);
    // The wrong order (HMAC with the final authenticator in the header, as the `radius` package does) gives another value.
    const wrongOrder = Buffer.from(raw);
    wrongOrder.fill(0, maAt, maAt + 16);
    expect(raw.subarray(maAt, maAt + 16).equals(createHmac('md5', SECRET).update(wrongOrder).digest())).toBe(false);
  });

  it('omits Message-Authenticator on request, and then matches the plain RFC 5176 formula', () => {
    const ours = encodeDynamicAuthorizationRequest({ kind: 'disconnect', identifier: 255, secret: SECRET, attributes: selectorAttributes(selector), messageAuthenticator: false });
    const expected = signDynamicAuthorizationRequest(
      assemble(40, 255, Buffer.alloc(16), [ipAttr(A.NasIpAddress, '192.0.2.7'), attr(A.CallingStationId, 'AA-BB-CC-DD-EE-FF'), attr(A.AcctSessionId, 'acct-0001')]),
      SECRET,
    );
    expect(ours.equals(expected)).toBe(true);
  });

  it('refuses an identifier that is not an octet', () => {
    for (const identifier of [-1, 256, 1.5]) {
      expect(() => encodeDynamicAuthorizationRequest({ kind: 'coa', identifier, secret: SECRET, attributes: [] })).toThrow(/identifier/);
    }
  });
});

describe('attributes', () => {
  it('encodes Cisco-AVPair as vendor 9, type 1, string', () => {
    expect(ciscoAvPair('subscriber:command=reauthenticate').toString('hex')).toBe(handCiscoAvPair('subscriber:command=reauthenticate').toString('hex'));
    expect([...ciscoAvPair('a=b').subarray(0, 8)]).toEqual([26, 11, 0, 0, 0, 9, 1, 5]);
  });

  it('sends NAS-IP-Address and Acct-Session-Id only when known, and never an IPv6 text as NAS-IP-Address', () => {
    expect(selectorAttributes({ callingStationId: 'AA-BB-CC-DD-EE-FF' })).toEqual([attr(A.CallingStationId, 'AA-BB-CC-DD-EE-FF')]);
    expect(selectorAttributes({ callingStationId: 'AA-BB-CC-DD-EE-FF', nasIp: '2001:db8::1' })).toEqual([attr(A.CallingStationId, 'AA-BB-CC-DD-EE-FF')]);
  });

  it('encodes Session-Timeout as a 32-bit integer of whole seconds', () => {
    expect(sessionTimeoutAttribute(3600.9)).toEqual(attr(A.SessionTimeout, 3600));
  });
});

describe('checkDynamicAuthorizationReply', () => {
  const coa = encodeDynamicAuthorizationRequest({ kind: 'coa', identifier: 9, secret: SECRET, attributes: selectorAttributes(selector) });
  const disconnect = encodeDynamicAuthorizationRequest({ kind: 'disconnect', identifier: 10, secret: SECRET, attributes: selectorAttributes(selector) });

  it('accepts a CoA-ACK and a Disconnect-ACK, with or without a Message-Authenticator', () => {
    expect(checkDynamicAuthorizationReply(answer(coa, 44), coa, SECRET)).toEqual({ ok: true, reply: { result: 'ack' } });
    expect(checkDynamicAuthorizationReply(answer(disconnect, 41, [], { withMa: true }), disconnect, SECRET)).toEqual({ ok: true, reply: { result: 'ack' } });
  });

  it('reads Error-Cause from a NAK', () => {
    expect(checkDynamicAuthorizationReply(answer(coa, 45, [attr(ERROR_CAUSE, 503)]), coa, SECRET)).toEqual({ ok: true, reply: { result: 'nak', errorCause: 503 } });
    expect(checkDynamicAuthorizationReply(answer(disconnect, 42, [attr(A.CallingStationId, 'x'), attr(ERROR_CAUSE, 404)], { withMa: true }), disconnect, SECRET)).toEqual({
      ok: true,
      reply: { result: 'nak', errorCause: 404 },
    });
    expect(checkDynamicAuthorizationReply(answer(coa, 45), coa, SECRET)).toEqual({ ok: true, reply: { result: 'nak' } });
  });

  it('ignores an answer with a wrong Response Authenticator (another secret, or computed over zeros)', () => {
    expect(checkDynamicAuthorizationReply(answer(coa, 44, [], { secret: `${SECRET}x` }), coa, SECRET)).toEqual({ ok: false, problem: 'bad_authenticator' });
    const overZeros = assemble(44, 9, Buffer.alloc(16), []);
    createHash('md5').update(overZeros).update(SECRET).digest().copy(overZeros, 4);
    expect(checkDynamicAuthorizationReply(overZeros, coa, SECRET)).toEqual({ ok: false, problem: 'bad_authenticator' });
  });

  it('ignores an answer to another identifier, a code that does not answer this request, and a bad Message-Authenticator', () => {
    expect(checkDynamicAuthorizationReply(answer(coa, 44, [], { identifier: 8 }), coa, SECRET)).toEqual({ ok: false, problem: 'other_identifier' });
    expect(checkDynamicAuthorizationReply(answer(coa, 41), coa, SECRET)).toEqual({ ok: false, problem: 'unexpected_code' });
    expect(checkDynamicAuthorizationReply(answer(coa, 2), coa, SECRET)).toEqual({ ok: false, problem: 'unexpected_code' });
    // Message-Authenticator computed with the wrong secret, Response Authenticator right.
    const badMa = assemble(44, 9, coa.subarray(4, 20), [maPlaceholder()]);
    createHmac('md5', 'another-secret').update(badMa).digest().copy(badMa, 22);
    expectedResponseAuthenticator(badMa, coa.subarray(4, 20), SECRET).copy(badMa, 4);
    expect(checkDynamicAuthorizationReply(badMa, coa, SECRET)).toEqual({ ok: false, problem: 'bad_message_authenticator' });
    expect(checkDynamicAuthorizationReply(Buffer.alloc(10), coa, SECRET)).toEqual({ ok: false, problem: 'malformed' });
  });

  it('refuses every single flipped byte of a NAK with Error-Cause', () => {
    const nak = answer(coa, 45, [attr(ERROR_CAUSE, 503)], { withMa: true });
    for (let at = 0; at < nak.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const mutated = Buffer.from(nak);
        mutated[at] = mutated[at]! ^ mask;
        expect(checkDynamicAuthorizationReply(mutated, coa, SECRET).ok, `byte ${at} ^ 0x${mask.toString(16)}`).toBe(false);
      }
    }
  });

  it('does not take a request authenticator from the answer: the same ACK does not answer another request', () => {
    const other = encodeDynamicAuthorizationRequest({ kind: 'coa', identifier: 9, secret: SECRET, attributes: selectorAttributes({ callingStationId: 'AA-BB-CC-DD-EE-00' }) });
    expect(checkDynamicAuthorizationReply(answer(coa, 44), other, SECRET)).toEqual({ ok: false, problem: 'bad_authenticator' });
  });
});
