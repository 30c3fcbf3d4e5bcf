import type { SecureContext } from 'node:tls';
import type { AuditTrail } from '../../audit/events.js';
import type { Logger } from '../../logger.js';
import type { Maybe } from '../../maybe.js';
import type { Metrics } from '../../metrics.js';
import type { Clock } from '../../clock.js';
import { attributeSummary } from '../attribute-summary.js';
import { authorizeCertificate, authorizeCredentials, authorizeMsChapV2, type EapAuthorization, type EapAuthorizationDeps } from '../eap/authorize.js';
import { Conversations, stateOwner, type Conversation } from '../eap/conversations.js';
import { DeviceCertificateChecks } from '../eap/device-certificate.js';
import type { TlsSessionCache } from '../eap/session-cache.js';
import { ATTR_STATE, EapCode, EapType, eapMessageAttributes, encodeEap, parseEap, rawAttribute, readEapRequest, type EapPacket } from '../eap/eap-packet.js';
import { mppeKeyAttributes } from '../eap/mppe.js';
import { MsChapV2Error, PeapMsChapV2 } from '../eap/peap-mschapv2.js';
import { TlsMethod, type MethodStep } from '../eap/tls-method.js';
import { papCredentials, parseAvps } from '../eap/ttls-avp.js';
import { parseMac } from '../../mac.js';
import { Code, equal } from '../packet.js';
import type { AccessContext } from '../policy.js';
import type { RecentAccessRequests } from '../recent-access-requests.js';
import { respond, type Answer, type HandlerContext, type RadiusHandler, type RadiusRequest } from '../request.js';

/** The methods this server answers, by their names in the configuration. */
export type EapMethodName = 'tls' | 'ttls' | 'peap';
const METHOD_TYPES: Readonly<Record<EapMethodName, number>> = { tls: EapType.Tls, ttls: EapType.Ttls, peap: EapType.Peap };

function methodName(type: number): EapMethodName | undefined {
  return (Object.keys(METHOD_TYPES) as EapMethodName[]).find((name) => METHOD_TYPES[name] === type);
}

/** The name PEAP's MSCHAPv2 Challenge carries as the authenticator's (RFC 2759 §3). */
const MSCHAPV2_SERVER_NAME = 'enrollgate';

/** Refusals after which the peer is told "no permission" (649) rather than "authentication failure" (691): the password was right. */
const REFUSED_AFTER_THE_PASSWORD = new Set(['not_allowed', 'device_blocked', 'owner_mismatch', 'not_onboarded']);

/** The eap section of the configuration, as the handler needs it. */
export interface EapSettings {
  readonly enabled: boolean;
  readonly methods: readonly EapMethodName[];
  readonly fragmentSize: number;
  readonly conversationTimeoutMs: number;
  readonly maxConversations: number;
  readonly maxConversationsPerNas: number;
}

export interface EapHandlerOptions {
  settings: EapSettings;
  /** The server's certificate and key, the CA it asks clients for, the TLS versions, for a conversation beginning now. Required when enabled. */
  tls?: () => SecureContext;
  /** The device checks and the session decision. Required when enabled. */
  authorization?: EapAuthorizationDeps;
  /** TLS 1.2 sessions to resume by ID, in the state store (eap.resumption_minutes; absent: off). */
  tlsSessions?: TlsSessionCache;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  timeZone: string;
  portalUrl: string;
  audit?: AuditTrail;
  accessRequests?: RecentAccessRequests;
  /** This process's index among RADIUS workers (0 in one process): written into each State. */
  owner?: number;
}

/** One conversation between an EAP peer and this server, from its Identity to Success or Failure. */
class EapConversation implements Conversation {
  /** The Identifier of the last EAP-Request sent: the next response must carry it (RFC 3748 §4.1). */
  requestId = 0;
  /** The last EAP-Request sent, and the response it answered: a response sent again gets it again (RFC 5080 inside EAP). */
  lastRequest: Buffer | undefined;
  lastResponse: Buffer | undefined;
  method: TlsMethod | undefined;
  /** The peer has sent method data (past the Start): a Nak is no longer a choice of method. */
  started = false;
  /** A response is being worked on: another that arrives meanwhile is dropped (the NAS sends it again). */
  busy = false;
  authorization: EapAuthorization | undefined;
  state!: Buffer;

  constructor(
    readonly nas: string,
    readonly identity: string,
    readonly station: string | undefined,
    private readonly onAbandon: (c: EapConversation) => void,
  ) {}

  abandon(): void {
    this.method?.destroy();
    this.onAbandon(this);
  }
}

/**
 * Access-Request carrying EAP (802.1X, RFC 3579): the RADIUS side of EAP. It keeps
 * the conversations (eap/conversations.ts), checks each EAP-Response belongs where
 * it claims, hands it to its method (EAP-TLS: eap/tls-method.ts) and turns the
 * method's step into Access-Challenge (with State and the next EAP-Request),
 * Access-Accept (EAP-Success, the MS-MPPE keys and the session's attributes) or
 * Access-Reject (EAP-Failure). Every packet with EAP has a Message-Authenticator,
 * both ways (RFC 3579 §3.2).
 */
export class EapHandler implements RadiusHandler {
  private readonly conversations: Conversations<EapConversation>;
  private readonly sweeper: NodeJS.Timeout;
  /** This process's index among RADIUS workers, as written into each State (its low octet). */
  private readonly owner: number;
  /** Device certificates checked against our CA, remembered by their bytes (EAP-TLS). */
  private readonly certificates: DeviceCertificateChecks | undefined;

  constructor(
    private readonly o: EapHandlerOptions,
    private readonly ctx: HandlerContext,
  ) {
    const s = o.settings;
    this.owner = (o.owner ?? 0) & 0xff;
    this.certificates = o.authorization ? new DeviceCertificateChecks(o.authorization.ca) : undefined;
    this.conversations = new Conversations<EapConversation>({
      timeoutMs: s.conversationTimeoutMs,
      max: s.maxConversations,
      maxPerNas: s.maxConversationsPerNas,
      owner: o.owner ?? 0,
    });
    // Abandoned conversations are forgotten even when no packet comes to notice.
    this.sweeper = setInterval(() => this.conversations.expire(), Math.min(5000, s.conversationTimeoutMs)).unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.conversations.clear();
  }

  /** Conversations in progress (tests, the gauge). */
  get inProgress(): number {
    return this.conversations.size;
  }

  /** The server hands 802.1X its requests undecoded: it reads the few attributes it needs itself (readEapRequest). */
  handle(r: RadiusRequest): Maybe<Answer> {
    // RFC 3579 §3.2: an Access-Request with EAP-Message and no Message-Authenticator is silently discarded.
    if (r.packet.messageAuthenticatorAt < 0) {
      this.ctx.drop(r, 'missing_message_authenticator', { eap: true });
      return undefined;
    }
    const read = readEapRequest(r.raw, r.packet.length);
    if (!read.ok) {
      this.ctx.drop(r, 'undecodable', { eap: true, problem: read.problem });
      return undefined;
    }
    const { eap, state, station, userName } = read.attributes;
    const parsed = parseEap(eap ?? Buffer.alloc(0));
    if (!parsed.ok) return this.reject(r, eap && eap.length >= 2 ? eap[1]! : 0, { code: 'malformed_eap', reason: `malformed EAP: ${parsed.problem}`, station });
    const packet = parsed.packet;
    if (packet.code !== EapCode.Response) return this.reject(r, packet.identifier, { code: 'malformed_eap', reason: 'an EAP packet other than a Response from the peer', station });
    if (!this.o.settings.enabled || !this.o.tls || !this.o.authorization) return this.reject(r, packet.identifier, { code: 'eap_disabled', reason: '802.1X (eap.enabled) is off', station });

    if (!state) return this.begin(r, packet, station, userName);
    const owner = stateOwner(state);
    // Another RADIUS worker's conversation: only it holds the TLS state, so it answers.
    if (owner !== undefined && owner !== this.owner && this.ctx.forward(r, owner)) return undefined;
    const conversation = this.conversations.find(state, r.nas.name);
    if (!conversation) return this.reject(r, packet.identifier, { code: 'unknown_conversation', reason: 'a State that names no conversation in progress here (expired, or begun elsewhere)', station });
    if (conversation.busy) {
      this.ctx.drop(r, 'eap_out_of_order', { why: 'the previous response is still being worked on' });
      return undefined;
    }
    if (conversation.lastResponse && conversation.lastRequest && equal(conversation.lastResponse, eap!)) {
      // The same response again in a new RADIUS packet (the NAS's own retry): the same request again.
      return { bytes: this.challengeBytes(r, conversation, conversation.lastRequest), outcome: 'challenge' };
    }
    if (packet.identifier !== conversation.requestId) {
      this.ctx.drop(r, 'eap_out_of_order', { expected: conversation.requestId, got: packet.identifier });
      return undefined;
    }
    conversation.busy = true;
    return this.advance(r, conversation, packet, eap!).finally(() => {
      conversation.busy = false;
    });
  }

  /** An EAP-Response/Identity without State: a new conversation, answered with the first method's start. */
  private begin(r: RadiusRequest, packet: EapPacket, station: string | undefined, userName: string | undefined): Answer {
    if (packet.type !== EapType.Identity) return this.reject(r, packet.identifier, { code: 'no_conversation', reason: 'an EAP response other than Identity without a State', station });
    const identity = packet.data.toString('utf8').slice(0, 253) || userName || '';
    const conversation = new EapConversation(r.nas.name, identity, station, () => this.ended('none', 'reject', 'abandoned'));
    const opened = this.conversations.open(conversation);
    if (!opened.ok) return this.reject(r, packet.identifier, { code: opened.reason, reason: opened.reason === 'too_many_conversations' ? 'too many EAP conversations in progress' : 'too many EAP conversations in progress from this NAS', station, identity });
    conversation.state = opened.state;
    this.o.metrics.eapInProgress.inc();
    conversation.method = this.newMethod(this.o.settings.methods[0]!, conversation, r.nas);
    return this.challenge(r, conversation, packet, conversation.method.type, conversation.method.start());
  }

  private async advance(r: RadiusRequest, conversation: EapConversation, packet: EapPacket, eap: Buffer): Promise<Answer> {
    if (packet.type === EapType.Nak) {
      // RFC 3748 §5.3.1: the peer wants another method, listed in its Nak; only before it has begun one.
      const wanted = [...packet.data];
      const next = conversation.started ? undefined : this.o.settings.methods.find((m) => METHOD_TYPES[m] !== conversation.method!.type && wanted.includes(METHOD_TYPES[m]));
      if (!next) {
        const reason = `the peer refused ${methodName(conversation.method!.type)} and asked for ${wanted.join(', ') || 'nothing'}, which is not offered`;
        return this.finish(r, conversation, packet, { kind: 'failure', reason }, 'peer_refused_method');
      }
      conversation.method?.destroy();
      conversation.method = this.newMethod(next, conversation, r.nas);
      conversation.lastResponse = Buffer.from(eap);
      return this.challenge(r, conversation, packet, conversation.method.type, conversation.method.start());
    }
    const method = conversation.method!;
    if (packet.type !== method.type) return this.finish(r, conversation, packet, { kind: 'failure', reason: `an EAP response of type ${packet.type} in a conversation of type ${method.type}` }, 'malformed_eap');
    conversation.started = true;
    let step: MethodStep;
    try {
      step = await method.respond(packet.data);
    } catch (err) {
      this.o.log.error({ err, event: 'eap.failed', nas: r.nas.name }, 'EAP method failed');
      step = { kind: 'failure', reason: 'the server failed' };
    }
    if (step.kind === 'request') {
      conversation.lastResponse = Buffer.from(eap);
      return this.challenge(r, conversation, packet, method.type, step.data);
    }
    // A TLS 1.2 session is stored only for a peer accepted (a stranger's handshakes fill
    // nothing), and before the Accept goes: the device may come back at once, to another worker.
    const made = method.tls.newSession;
    if (made && this.o.tlsSessions && step.kind === 'success' && conversation.authorization?.ok && method.negotiated?.protocol === 'TLSv1.2') {
      await this.o.tlsSessions.save(made.id, made.data);
    }
    return this.finish(r, conversation, packet, step);
  }

  /** A new method for the conversation: EAP-TLS decides on the device's certificate, TTLS and PEAP on the person's password. */
  private newMethod(name: EapMethodName, conversation: EapConversation, nas: RadiusRequest['nas']): TlsMethod {
    const common = { context: this.o.tls!(), fragmentSize: this.o.settings.fragmentSize, ...(this.o.tlsSessions ? { sessions: this.o.tlsSessions } : {}) };
    if (name === 'peap') {
      const inner = new PeapMsChapV2({
        serverName: MSCHAPV2_SERVER_NAME,
        verify: async (attempt) => {
          const station = parseMac(conversation.station) ?? undefined;
          const a = await authorizeMsChapV2(this.o.authorization!, attempt, station, nas, this.accessContext());
          conversation.authorization = a;
          if (a.ok && a.authenticatorResponse) return { ok: true, authenticatorResponse: a.authenticatorResponse };
          const refused = a.ok ? { code: 'no_proof', reason: 'no authenticator response' } : a;
          const error = REFUSED_AFTER_THE_PASSWORD.has(refused.code) ? MsChapV2Error.NoDialinPermission : MsChapV2Error.AuthenticationFailure;
          return { ok: false, reason: refused.reason, error };
        },
      });
      return new TlsMethod({ ...common, type: EapType.Peap, begin: () => inner.begin(), inner: (data) => inner.next(data) });
    }
    if (name === 'ttls') {
      return new TlsMethod({
        ...common,
        type: EapType.Ttls,
        inner: async (data) => {
          const avps = parseAvps(data);
          const credentials = avps.ok ? papCredentials(avps.avps) : avps;
          if (!credentials.ok) {
            conversation.authorization = { ok: false, code: 'bad_inner', reason: `inside the tunnel: ${credentials.problem}` };
            return { ok: false, reason: conversation.authorization.reason };
          }
          const station = parseMac(conversation.station) ?? undefined;
          const a = await authorizeCredentials(this.o.authorization!, credentials, station, nas, this.accessContext());
          conversation.authorization = a;
          return a.ok ? { ok: true } : { ok: false, reason: a.reason };
        },
      });
    }
    return new TlsMethod({
      ...common,
      type: EapType.Tls,
      authorize: async (tunnel) => {
        const context = this.accessContext();
        const a = await authorizeCertificate(this.o.authorization!, this.certificates!.check(tunnel.peerCertificateBytes(), context.now), nas, context);
        conversation.authorization = a;
        return a.ok ? { ok: true } : { ok: false, reason: a.reason };
      },
    });
  }

  private challenge(r: RadiusRequest, conversation: EapConversation, packet: EapPacket, type: number, data: Buffer): Answer {
    conversation.requestId = (packet.identifier + 1) & 0xff;
    conversation.lastRequest = encodeEap(EapCode.Request, conversation.requestId, type, data);
    return { bytes: this.challengeBytes(r, conversation, conversation.lastRequest), outcome: 'challenge' };
  }

  private challengeBytes(r: RadiusRequest, conversation: EapConversation, request: Buffer): Buffer {
    return respond(r, Code.AccessChallenge, [], [...eapMessageAttributes(request), rawAttribute(ATTR_STATE, conversation.state)]);
  }

  /** The end of a conversation: Accept with EAP-Success and the keys, or Reject with EAP-Failure. */
  private finish(r: RadiusRequest, conversation: EapConversation, packet: EapPacket, step: Exclude<MethodStep, { kind: 'request' }>, code = 'refused'): Answer {
    // Expired while this response was worked on: abandon() has counted it already.
    if (this.conversations.close(conversation.state)) this.o.metrics.eapInProgress.dec();
    const method = conversation.method!;
    const tls = method.negotiated;
    const a = conversation.authorization;
    const common = {
      nas: r.nas.name,
      method: methodName(method.type) ?? 'none',
      ...(tls?.protocol ? { tls_version: tls.protocol } : {}),
      ...(tls ? { resumed: tls.resumed } : {}),
      ...(a?.mac ? { mac: a.mac } : {}),
      ...(conversation.station ? { station: conversation.station } : {}),
      ...(a?.user ? { user: a.user } : {}),
      ...(a?.serial ? { serial: a.serial } : {}),
    };
    if (step.kind === 'success' && a?.ok) {
      method.destroy();
      const decision = a.decision;
      if (decision.mac) {
        // Where a revocation's Disconnect-Request goes, and the MAC the router knows the device by.
        const station = parseMac(conversation.station);
        this.o.accessRequests?.note(decision.mac, r.nas.name, this.o.clock.now(), station && station !== decision.mac ? station : undefined);
      }
      // The session's attributes only: the keys and EAP-Success go beside them (raw), never into the trail.
      this.o.audit?.record({ type: 'eap.accepted', ...common, reason: decision.reason, attributes: attributeSummary(decision.attributes) });
      this.ended(common.method, 'accept', decision.outcome);
      // Per conversation, so debug, as MAC authentication's per request: the audit trail keeps
      // every decision, and the line with its write cost about 5 % of a worker under load.
      if (this.o.log.isLevelEnabled('debug')) this.o.log.debug({ event: 'eap.accepted', ...common, outcome: decision.outcome, reason: decision.reason }, '802.1X accepted');
      const raw = [...eapMessageAttributes(encodeEap(EapCode.Success, packet.identifier)), ...mppeKeyAttributes(step.msk, r.nas.secret, r.packet.authenticator)];
      return { bytes: respond(r, Code.AccessAccept, decision.attributes, raw), outcome: 'accept' };
    }
    method.destroy();
    const reason = step.kind === 'failure' ? step.reason : 'no decision was made';
    const why = a && !a.ok ? a.code : code;
    if (why === 'store_unavailable') {
      this.o.metrics.radiusStoreErrors.inc({ kind: 'eap' });
      this.o.log.error({ event: 'radius.store_failed', nas: r.nas.name, method: common.method, reason }, 'store unavailable; rejecting 802.1X');
    }
    this.o.audit?.record({ type: 'eap.rejected', ...common, reason });
    this.ended(common.method, 'reject', why);
    if (this.o.log.isLevelEnabled('debug')) this.o.log.debug({ event: 'eap.rejected', ...common, code: why, reason }, '802.1X rejected');
    return { bytes: respond(r, Code.AccessReject, [], eapMessageAttributes(encodeEap(EapCode.Failure, packet.identifier))), outcome: 'reject' };
  }

  /** A Reject before any conversation (or for one not found). */
  private reject(r: RadiusRequest, identifier: number, why: { code: string; reason: string; station?: string | undefined; identity?: string }): Answer {
    this.o.audit?.record({ type: 'eap.rejected', nas: r.nas.name, reason: why.reason, ...(why.station ? { station: why.station } : {}) });
    this.ended('none', 'reject', why.code);
    if (this.o.log.isLevelEnabled('debug')) this.o.log.debug({ event: 'eap.rejected', nas: r.nas.name, code: why.code, reason: why.reason, station: why.station }, '802.1X rejected');
    return { bytes: respond(r, Code.AccessReject, [], eapMessageAttributes(encodeEap(EapCode.Failure, identifier))), outcome: 'reject' };
  }

  private ended(method: string, outcome: string, reason: string): void {
    this.o.metrics.eapConversations.inc({ method, outcome, reason });
    if (reason === 'abandoned') this.o.metrics.eapInProgress.dec();
  }

  private accessContext(): AccessContext {
    return { now: this.o.clock.now(), timeZone: this.o.timeZone, portalUrl: this.o.portalUrl };
  }
}
