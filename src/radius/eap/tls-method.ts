import type { SecureContext } from 'node:tls';
import { EapType } from './eap-packet.js';
import { Flag, flagsOnly, fragmentAt, parseTlsData, Reassembly } from './tls-fragments.js';
import { TlsTunnel, type SessionLookup } from './tls-tunnel.js';

/**
 * One conversation of a method over TLS, method side: EAP-TLS (RFC 5216; RFC 9190
 * for TLS 1.3), where the client certificate decides once the handshake is done;
 * EAP-TTLS (RFC 5281; RFC 9427 for TLS 1.3), where what the peer sends inside the
 * tunnel (PAP's AVPs) decides; PEAPv0 (draft-josefsson-pppext-eap-tls-eap, [MS-PEAP];
 * RFC 9427), where an inner conversation of several rounds does. All: the fragments
 * both ways, the handshake in a TlsTunnel, the last flight and the keys. It knows
 * nothing of RADIUS; each call takes the type-data of one EAP-Response and says what
 * to do next.
 */
export type MethodStep =
  /** Send an EAP-Request of this method with this type-data. */
  | { kind: 'request'; data: Buffer }
  /** Done, the peer proven: send EAP-Success with these keys. */
  | { kind: 'success'; msk: Buffer }
  /** Done, refused: send EAP-Failure. `reason` is for the audit trail and logs. */
  | { kind: 'failure'; reason: string };

/** What the caller decides once the handshake is done (the device's certificate, its enrollment). */
export type Verdict = { ok: true } | { ok: false; reason: string };

/** What an inner conversation says after a message from inside the tunnel: send this back inside it and wait, or decide. */
export type InnerStep = { kind: 'reply'; data: Buffer } | Verdict;

/** The methods whose decision comes from inside the tunnel. */
type TunnelledType = typeof EapType.Ttls | typeof EapType.Peap;

export type TlsMethodOptions = {
  context: SecureContext;
  fragmentSize: number;
  /** Where TLS 1.2 sessions are found by ID (absent: resumption by ticket only). */
  sessions?: SessionLookup;
} & (
  | {
      type: typeof EapType.Tls;
      /** Decides whether the peer that finished the handshake may in (its certificate). */
      authorize(tunnel: TlsTunnel): Promise<Verdict>;
    }
  | {
      type: TunnelledType;
      /**
       * The server's first message inside the tunnel once it is up (PEAP's inner
       * Identity request); without it the peer speaks first (TTLS's AVPs).
       */
      begin?(): Buffer;
      /** Takes one message the peer sent inside the tunnel: TTLS's AVPs decide at once, PEAP's inner EAP may go on. */
      inner(data: Buffer): Promise<InnerStep>;
    }
);

type Phase = 'handshake' | 'final_ack' | 'inner' | 'done';

export class TlsMethod {
  readonly type: typeof EapType.Tls | TunnelledType;
  private readonly tunnel: TlsTunnel;
  private readonly inbound = new Reassembly();
  /** The message being sent to the peer in fragments, and how far. */
  private outbound: Buffer | undefined;
  private sent = 0;
  private phase: Phase = 'handshake';
  /** What the handshake settled, kept for the record after the tunnel is gone. */
  negotiated: { protocol: string | undefined; resumed: boolean } | undefined;

  constructor(private readonly o: TlsMethodOptions) {
    this.type = o.type;
    // EAP-TLS asks for the device's certificate; TTLS proves the person inside the tunnel instead.
    this.tunnel = new TlsTunnel(o.context, { requestCert: o.type === EapType.Tls, ...(o.sessions ? { sessions: o.sessions } : {}) });
  }

  /** The Start (RFC 5216 §2.1.1; RFC 5281 §9.2 and PEAP: version 0 in the low bits, as here). */
  start(): Buffer {
    return flagsOnly(Flag.Start);
  }

  get tls(): TlsTunnel {
    return this.tunnel;
  }

  async respond(typeData: Buffer): Promise<MethodStep> {
    const parsed = parseTlsData(typeData);
    if (!parsed.ok) return this.fail(parsed.problem);
    const fragment = parsed.value;
    // The peer answers the Start with the highest version both know (PEAP §3.1): we offer 0 only.
    if (this.type === EapType.Peap && fragment.version !== 0) return this.fail(`the peer asked for PEAP version ${fragment.version}; only PEAPv0 is answered`);
    if (this.outbound) {
      // We are sending fragments: the peer acknowledges each with an empty response (§2.1.5).
      if (fragment.payload.length > 0 || fragment.flags & Flag.More) return this.fail('the peer sent data while it should acknowledge a fragment');
      return this.nextFragment();
    }
    if (this.phase === 'final_ack') {
      if (fragment.payload.length > 0) {
        // A TLS alert after our last flight: the peer refused us (our certificate, for one).
        await this.tunnel.exchange(fragment.payload);
        return this.fail('the peer sent a TLS alert after the handshake');
      }
      if (this.o.type !== EapType.Tls && this.o.begin) {
        // PEAP over TLS 1.2: the peer has acknowledged our Finished; now the inner conversation.
        this.phase = 'inner';
        return this.sendInside(this.o.begin(), Buffer.alloc(0));
      }
      this.phase = 'done';
      return { kind: 'success', msk: this.msk() };
    }
    if (this.phase === 'done') return this.fail('a response after the conversation ended');
    const whole = this.inbound.add(fragment);
    if (whole === 'more') return { kind: 'request', data: flagsOnly(0) };
    if (typeof whole === 'object' && !Buffer.isBuffer(whole)) return this.fail(whole.problem);
    if (whole.length === 0) return this.fail(this.phase === 'inner' ? 'an empty response where the credentials were expected' : 'an empty response where a TLS message was expected');

    const wasSecure = this.tunnel.secure;
    const step = await this.tunnel.exchange(whole);
    if (step.error) return this.fail(`TLS: ${step.error.message}`);
    // During the handshake every whole flight of the peer's gets an answer or ends it; silence
    // means TLS is waiting for more than the peer said it sent (a record cut short).
    if (!wasSecure && !step.secure && step.output.length === 0) return this.fail('TLS: the message is not a whole TLS flight (TLS waits for more)');
    let output = step.output;
    if (step.secure && !wasSecure) {
      this.negotiated = { protocol: this.tunnel.protocol, resumed: this.tunnel.resumed };
      this.mskBeforeDestroy = this.msk();
      if (this.o.type !== EapType.Tls) {
        this.phase = 'inner';
        if (this.o.begin) {
          // TLS 1.2, a full handshake: our Finished goes alone and the peer acknowledges it, as
          // FreeRADIUS does, before the first inner message (peers differ in reading application
          // data in a handshake flight). TLS 1.3 or a resumed 1.2: the handshake ends with the
          // peer's flight, so the inner conversation begins in our answer to it.
          if (this.tunnel.protocol !== 'TLSv1.3' && output.length > 0) this.phase = 'final_ack';
          else return this.sendInside(this.o.begin(), output);
        }
      } else {
        const verdict = await this.o.authorize(this.tunnel);
        if (!verdict.ok) return this.fail(verdict.reason);
        if (this.tunnel.protocol === 'TLSv1.3') {
          // RFC 9190 §2.5: one octet 0x00 of application data, the protected success indication.
          const indication = await this.tunnel.send(Buffer.from([0]));
          if (indication.error) return this.fail(`TLS: ${indication.error.message}`);
          output = Buffer.concat([output, indication.output]);
        } else if (output.length === 0) {
          // TLS 1.2 resumed: our Finished went first, the peer's closes the handshake, and
          // nothing is left to send: EAP-Success now (RFC 5216 §2.1.3), not after an empty round.
          this.phase = 'done';
          return { kind: 'success', msk: this.msk() };
        }
        this.phase = 'final_ack';
      }
    }
    if (this.phase === 'inner' && this.o.type !== EapType.Tls) {
      // TTLS's AVPs may come with the peer's last handshake flight (TLS 1.3, a resumed 1.2) or after it.
      const received = this.tunnel.takeReceived();
      if (received.length > 0) {
        const step = await this.o.inner(Buffer.concat(received));
        if ('kind' in step) return this.sendInside(step.data, output);
        if (!step.ok) return this.fail(step.reason);
        this.phase = 'done';
        this.tunnel.destroy();
        return { kind: 'success', msk: this.mskBeforeDestroy! };
      }
    }
    return this.sendMessage(output);
  }

  /** Writes `data` into the tunnel and sends its records, after `before` (TLS bytes still to go). */
  private async sendInside(data: Buffer, before: Buffer): Promise<MethodStep> {
    const step = await this.tunnel.send(data);
    if (step.error) return this.fail(`TLS: ${step.error.message}`);
    return this.sendMessage(before.length > 0 ? Buffer.concat([before, step.output]) : step.output);
  }

  /** The MSK, exported when the handshake finished (the tunnel may be gone by the end). */
  private mskBeforeDestroy: Buffer | undefined;

  /**
   * The MSK: the first 64 octets of the 128 the TLS exporter gives. TLS 1.3: the label
   * of RFC 9190 §2.3 with the method's Type-Code as context (RFC 9427 §2.1 for TTLS and
   * PEAP); TLS 1.2: "client EAP encryption" (RFC 5216 §2.3, also PEAPv0's) or "ttls
   * keying material" (RFC 5281 §8).
   */
  msk(): Buffer {
    if (this.mskBeforeDestroy) return this.mskBeforeDestroy;
    const keyMaterial =
      this.tunnel.protocol === 'TLSv1.3'
        ? this.tunnel.exportKeyingMaterial(128, 'EXPORTER_EAP_TLS_Key_Material', Buffer.from([this.type]))
        : this.tunnel.exportKeyingMaterial(128, this.type === EapType.Ttls ? 'ttls keying material' : 'client EAP encryption');
    return keyMaterial.subarray(0, 64);
  }

  destroy(): void {
    this.tunnel.destroy();
  }

  private sendMessage(message: Buffer): MethodStep {
    if (message.length === 0) return { kind: 'request', data: flagsOnly(0) };
    this.outbound = message;
    this.sent = 0;
    return this.nextFragment();
  }

  private nextFragment(): MethodStep {
    const message = this.outbound!;
    const { data, next } = fragmentAt(message, this.sent, this.o.fragmentSize);
    this.sent = next;
    if (next >= message.length) this.outbound = undefined;
    return { kind: 'request', data };
  }

  private fail(reason: string): MethodStep {
    this.phase = 'done';
    // A message half sent is not sent on after a failure: the next response ends here too.
    this.outbound = undefined;
    this.tunnel.destroy();
    return { kind: 'failure', reason };
  }
}
