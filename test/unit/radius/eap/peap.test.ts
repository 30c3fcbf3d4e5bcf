import { describe, expect, it } from 'vitest';
import { challengePacket, failurePacket, parsePeerMessage, successPacket } from '../../../../src/radius/eap/eap-mschapv2.js';
import { EAP_TLV, innerIdentityRequest, innerRequest, parseInnerResponse, parseResultTlv, resultTlv, TlvResult } from '../../../../src/radius/eap/peap.js';
import { MsChapV2Error, PeapMsChapV2, type MsChapV2Verdict } from '../../../../src/radius/eap/peap-mschapv2.js';
import type { MsChapV2Attempt } from '../../../../src/directory/directory.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('PEAPv0 inner framing', () => {
  it('sends inner EAP without its header: the Identity request is the Type alone', () => {
    expect(innerIdentityRequest()).toEqual(hex('01'));
    expect(innerRequest(26, hex('0102'), 7)).toEqual(hex('1a 0102'));
  });

  it('keeps the header on EAP-TLV, with the Result TLV (M bit, type 3, length 2, status)', () => {
    expect(innerRequest(EAP_TLV, resultTlv(TlvResult.Success), 5)).toEqual(hex('01 05 000b 21 8003 0002 0001'));
    expect(innerRequest(EAP_TLV, resultTlv(TlvResult.Failure), 6)).toEqual(hex('01 06 000b 21 8003 0002 0002'));
  });

  it('reads the peer: a headerless response, or an EAP-TLV with its header', () => {
    expect(parseInnerResponse(hex('01 616c696365'))).toEqual({ ok: true, type: 1, data: Buffer.from('alice') });
    expect(parseInnerResponse(hex('02 05 000b 21 8003 0002 0001'))).toEqual({ ok: true, type: EAP_TLV, data: hex('8003 0002 0001') });
    expect(parseInnerResponse(hex('02 05 000c 21 8003 0002 0001'))).toMatchObject({ ok: false, problem: expect.stringContaining('Length says 12') });
    expect(parseInnerResponse(Buffer.alloc(0))).toMatchObject({ ok: false });
  });

  it('reads the Result TLV, skips an optional TLV, refuses an unknown mandatory one or none', () => {
    expect(parseResultTlv(hex('8003 0002 0001'))).toEqual({ ok: true, status: 1 });
    expect(parseResultTlv(hex('000c 0001 ff 8003 0002 0002'))).toEqual({ ok: true, status: 2 });
    expect(parseResultTlv(hex('800c 0001 ff 8003 0002 0001'))).toMatchObject({ ok: false, problem: 'an unknown mandatory TLV of type 12' });
    expect(parseResultTlv(hex('8003 0004 0001'))).toMatchObject({ ok: false });
    expect(parseResultTlv(Buffer.alloc(0))).toMatchObject({ ok: false, problem: 'an EAP-TLV without a Result TLV' });
  });
});

describe('EAP-MSCHAPv2 packets', () => {
  it('Challenge: OpCode 1, the ID, MS-Length from the OpCode on, Value-Size 16, the challenge, the name', () => {
    const challenge = Buffer.alloc(16, 0xab);
    expect(challengePacket(0x42, challenge, 'eg')).toEqual(Buffer.concat([hex('01 42 0017 10'), challenge, Buffer.from('eg')]));
  });

  it('Success and Failure carry RFC 2759 messages', () => {
    expect(successPacket(1, 'S=407A5589115FD0D6209F510FE9C04566932CDA56', 'Welcome').subarray(4).toString()).toBe('S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome');
    const failure = failurePacket(1, 691, Buffer.alloc(16, 0x0f), 'no');
    expect(failure.readUInt16BE(2)).toBe(failure.length);
    expect(failure.subarray(4).toString()).toBe(`E=691 R=0 C=${'0F'.repeat(16)} V=3 M=no`);
  });

  it("reads the peer's Response (Value-Size 49: peer challenge, 8 reserved, NT-Response, flags) and its acknowledgements", () => {
    const value = Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(8), Buffer.alloc(24, 2), Buffer.alloc(1)]);
    const response = Buffer.concat([hex('02 42 0000 31'), value, Buffer.from('EXAMPLE\\alice')]);
    response.writeUInt16BE(response.length, 2);
    expect(parsePeerMessage(response)).toEqual({ kind: 'response', response: { id: 0x42, peerChallenge: Buffer.alloc(16, 1), ntResponse: Buffer.alloc(24, 2), name: 'EXAMPLE\\alice' } });
    expect(parsePeerMessage(hex('03'))).toEqual({ kind: 'success_ack' });
    expect(parsePeerMessage(hex('04'))).toEqual({ kind: 'failure_ack' });
    const wrongLength = Buffer.from(response);
    wrongLength.writeUInt16BE(response.length + 1, 2);
    expect(parsePeerMessage(wrongLength)).toMatchObject({ kind: 'bad' });
    expect(parsePeerMessage(response.subarray(0, 40))).toMatchObject({ kind: 'bad' });
    expect(parsePeerMessage(hex('01'))).toMatchObject({ kind: 'bad', problem: 'an MSCHAPv2 OpCode 1 from the peer' });
  });
});

/** The peer's half of the inner conversation, as bytes inside the tunnel. */
const peer = {
  identity: (name: string) => Buffer.concat([hex('01'), Buffer.from(name)]),
  response(id: number, name = 'alice') {
    const out = Buffer.concat([hex('1a 02'), Buffer.from([id]), hex('0000 31'), Buffer.alloc(16, 1), Buffer.alloc(8), Buffer.alloc(24, 2), Buffer.alloc(1), Buffer.from(name)]);
    out.writeUInt16BE(out.length - 1, 2 + 1);
    return out;
  },
  successAck: () => hex('1a 03'),
  failureAck: () => hex('1a 04'),
  result: (status: number) => hex(`02 09 000b 21 8003 0002 000${status}`),
};

function conversation(verdict: MsChapV2Verdict) {
  const seen: MsChapV2Attempt[] = [];
  const inner = new PeapMsChapV2({ serverName: 'enrollgate', verify: async (a) => (seen.push(a), verdict) });
  return { inner, seen };
}

/** The inner packet a reply carries (which must be a reply). */
function replied(step: unknown): Buffer {
  expect(step).toMatchObject({ kind: 'reply' });
  return (step as { data: Buffer }).data;
}

describe('PeapMsChapV2: the inner conversation', () => {
  it('Identity, Challenge, Response checked, Success, its acknowledgement, Result Success both ways: accepted', async () => {
    const { inner, seen } = conversation({ ok: true, authenticatorResponse: 'S=00112233445566778899AABBCCDDEEFF00112233' });
    expect(inner.begin()).toEqual(hex('01'));
    const challenge = replied(await inner.next(peer.identity('alice')));
    expect(challenge.subarray(0, 2)).toEqual(hex('1a 01'));
    expect(inner.identity).toBe('alice');
    const id = challenge[2]!;
    const success = replied(await inner.next(peer.response(id, 'EXAMPLE\\alice')));
    expect(success.subarray(0, 2)).toEqual(hex('1a 03'));
    expect(success.subarray(5).toString()).toBe('S=00112233445566778899AABBCCDDEEFF00112233 M=Welcome');
    expect(seen).toEqual([{ userName: 'EXAMPLE\\alice', authenticatorChallenge: challenge.subarray(6, 22), peerChallenge: Buffer.alloc(16, 1), ntResponse: Buffer.alloc(24, 2) }]);
    expect(replied(await inner.next(peer.successAck()))).toEqual(hex('01 00 000b 21 8003 0002 0001'));
    expect(await inner.next(peer.result(TlvResult.Success))).toEqual({ ok: true });
  });

  it('a refusal: Failure with the error the caller chose, its acknowledgement, Result Failure, then the reason', async () => {
    const { inner } = conversation({ ok: false, reason: 'wrong username or password', error: MsChapV2Error.AuthenticationFailure });
    const id = replied(await inner.next(peer.identity('alice')))[2]!;
    const failure = replied(await inner.next(peer.response(id)));
    expect(failure.subarray(0, 2)).toEqual(hex('1a 04'));
    expect(failure.subarray(5).toString()).toMatch(/^E=691 R=0 C=[0-9A-F]{32} V=3 M=/);
    expect(replied(await inner.next(peer.failureAck()))).toEqual(hex('01 00 000b 21 8003 0002 0002'));
    // Whatever the peer answers, the refusal stands.
    expect(await inner.next(peer.result(TlvResult.Success))).toEqual({ ok: false, reason: 'wrong username or password' });
  });

  it('the peer refusing our proof (Result Failure after Success) is a refusal', async () => {
    const { inner } = conversation({ ok: true, authenticatorResponse: 'S=00' });
    const id = replied(await inner.next(peer.identity('alice')))[2]!;
    await inner.next(peer.response(id));
    await inner.next(peer.successAck());
    expect(await inner.next(peer.result(TlvResult.Failure))).toMatchObject({ ok: false, reason: expect.stringContaining('did not accept') });
  });

  it('a Nak of MSCHAPv2 goes to Result Failure without asking the directory', async () => {
    const { inner, seen } = conversation({ ok: true, authenticatorResponse: 'S=00' });
    await inner.next(peer.identity('alice'));
    expect(replied(await inner.next(hex('03 06')))).toEqual(hex('01 00 000b 21 8003 0002 0002'));
    expect(await inner.next(peer.result(TlvResult.Failure))).toMatchObject({ ok: false, reason: expect.stringContaining('refused MSCHAPv2') });
    expect(seen).toEqual([]);
  });

  it('out of order or for another challenge: stops at once, without asking the directory', async () => {
    const first = conversation({ ok: true, authenticatorResponse: 'S=00' });
    expect(await first.inner.next(peer.response(1))).toMatchObject({ ok: false, reason: expect.stringContaining('where the Identity was expected') });
    const second = conversation({ ok: true, authenticatorResponse: 'S=00' });
    const id = replied(await second.inner.next(peer.identity('alice')))[2]!;
    expect(await second.inner.next(peer.response((id + 1) & 0xff))).toMatchObject({ ok: false, reason: expect.stringContaining('MS-CHAPv2-ID') });
    expect(second.seen).toEqual([]);
    const third = conversation({ ok: true, authenticatorResponse: 'S=00' });
    await third.inner.next(peer.identity('alice'));
    expect(await third.inner.next(peer.successAck())).toMatchObject({ ok: false, reason: expect.stringContaining('where the Response was expected') });
  });
});
