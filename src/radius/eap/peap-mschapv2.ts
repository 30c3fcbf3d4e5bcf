import { randomBytes } from 'node:crypto';
import type { MsChapV2Attempt } from '../../directory/directory.js';
import { EapType } from './eap-packet.js';
import { challengePacket, failurePacket, parsePeerMessage, successPacket } from './eap-mschapv2.js';
import { EAP_TLV, innerIdentityRequest, innerRequest, parseInnerResponse, parseResultTlv, resultTlv, TlvResult } from './peap.js';
import type { InnerStep } from './tls-method.js';

/** What the caller decides on a peer's MSCHAPv2 response: the authenticator response to send, or why not and which error to show (RFC 2759 §6). */
export type MsChapV2Verdict = { ok: true; authenticatorResponse: string } | { ok: false; reason: string; error: number };

/** RFC 2759 §6's error codes the server sends in a Failure. */
export const MsChapV2Error = { AuthenticationFailure: 691, NoDialinPermission: 649 } as const;

type Phase = 'identity' | 'challenge' | 'success_ack' | 'failure_ack' | 'result' | 'done';

/**
 * PEAPv0's inner conversation with EAP-MSCHAPv2, server side ([MS-PEAP] §3.2 and
 * [MS-CHAP] over EAP), as the peer (Windows' built-in client, wpa_supplicant) expects:
 *
 *   server: Identity request        peer: Identity (the user name)
 *   server: MSCHAPv2 Challenge      peer: MSCHAPv2 Response
 *   server: Success "S=… M=…"       peer: Success (acknowledged)
 *   server: EAP-TLV Result Success  peer: Result Success           → EAP-Success
 *
 * A refusal goes the same way with Failure "E=691 R=0 …" and Result Failure, then
 * EAP-Failure, so that the peer hears why. Nothing here touches TLS or RADIUS; each
 * call takes one inner message and says what to send back inside the tunnel.
 */
export class PeapMsChapV2 {
  private phase: Phase = 'identity';
  private readonly challenge = randomBytes(16);
  private readonly id = randomBytes(1)[0]!;
  /** The EAP-TLV's Identifier, the only inner header we write. */
  private tlvId = 0;
  /** Why the peer is refused, once known; the Result Failure then ends the conversation with it. */
  private refusal: string | undefined;
  /** The name in the peer's inner Identity (for the record; MSCHAPv2's own Name is what is checked). */
  identity: string | undefined;

  constructor(
    private readonly o: {
      /** Sent in the Challenge (RFC 2759 §3: the authenticator's name). */
      serverName: string;
      verify(attempt: MsChapV2Attempt): Promise<MsChapV2Verdict>;
    },
  ) {}

  /** The first message inside the tunnel: the Identity request. */
  begin(): Buffer {
    return innerIdentityRequest();
  }

  async next(message: Buffer): Promise<InnerStep> {
    const inner = parseInnerResponse(message);
    if (!inner.ok) return this.stop(inner.problem);
    switch (this.phase) {
      case 'identity': {
        if (inner.type !== EapType.Identity) return this.stop(`an inner EAP response of type ${inner.type} where the Identity was expected`);
        this.identity = inner.data.toString('utf8').slice(0, 253);
        this.phase = 'challenge';
        return this.reply(EapType.MsChapV2, challengePacket(this.id, this.challenge, this.o.serverName));
      }
      case 'challenge': {
        if (inner.type === EapType.Nak) return this.result(TlvResult.Failure, 'the peer refused MSCHAPv2 inside PEAP (the only inner method answered)');
        const peer = this.mschapv2(inner);
        if (peer.kind !== 'response') return this.stop(peer.kind === 'bad' ? peer.problem : 'an MSCHAPv2 acknowledgement where the Response was expected');
        if (peer.response.id !== this.id) return this.stop(`an MSCHAPv2 Response to MS-CHAPv2-ID ${peer.response.id}, not ${this.id}`);
        const verdict = await this.o.verify({ userName: peer.response.name, authenticatorChallenge: this.challenge, peerChallenge: peer.response.peerChallenge, ntResponse: peer.response.ntResponse });
        if (verdict.ok) {
          this.phase = 'success_ack';
          return this.reply(EapType.MsChapV2, successPacket(this.id, verdict.authenticatorResponse, 'Welcome'));
        }
        this.refusal = verdict.reason;
        this.phase = 'failure_ack';
        return this.reply(EapType.MsChapV2, failurePacket(this.id, verdict.error, randomBytes(16), 'Authentication failed'));
      }
      case 'success_ack':
      case 'failure_ack': {
        const peer = this.mschapv2(inner);
        const expected = this.phase === 'success_ack' ? 'success_ack' : 'failure_ack';
        if (peer.kind !== expected) return this.stop(peer.kind === 'bad' ? peer.problem : `an MSCHAPv2 message where the ${expected === 'success_ack' ? 'Success' : 'Failure'} acknowledgement was expected`);
        return expected === 'success_ack' ? this.result(TlvResult.Success) : this.result(TlvResult.Failure, this.refusal!);
      }
      case 'result': {
        if (inner.type !== EAP_TLV) return this.stop(`an inner EAP response of type ${inner.type} where the Result TLV was expected`);
        const result = parseResultTlv(inner.data);
        if (!result.ok) return this.stop(result.problem);
        this.phase = 'done';
        if (this.refusal !== undefined) return { ok: false, reason: this.refusal };
        if (result.status !== TlvResult.Success) return { ok: false, reason: "the peer did not accept the server's MSCHAPv2 proof (Result TLV Failure)" };
        return { ok: true };
      }
      case 'done':
        return this.stop('an inner message after the conversation ended');
    }
  }

  private mschapv2(inner: { type: number; data: Buffer }): ReturnType<typeof parsePeerMessage> {
    if (inner.type !== EapType.MsChapV2) return { kind: 'bad', problem: `an inner EAP response of type ${inner.type} where MSCHAPv2 was expected` };
    return parsePeerMessage(inner.data);
  }

  /** Sends the Result TLV; with Failure, `refusal` is the reason the conversation ends with. */
  private result(status: (typeof TlvResult)[keyof typeof TlvResult], refusal?: string): InnerStep {
    if (refusal !== undefined) this.refusal = refusal;
    this.phase = 'result';
    return { kind: 'reply', data: innerRequest(EAP_TLV, resultTlv(status), this.tlvId++) };
  }

  private reply(type: number, data: Buffer): InnerStep {
    return { kind: 'reply', data: innerRequest(type, data, 0) };
  }

  /** A message that makes no sense here: the conversation ends at once, with EAP-Failure. */
  private stop(problem: string): InnerStep {
    this.phase = 'done';
    return { ok: false, reason: `inside the PEAP tunnel: ${problem}` };
  }
}
