import type { RemoteInfo, Socket } from 'node:dgram';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Maybe } from '../maybe.js';
import type { Metrics } from '../metrics.js';
import type { SessionService } from '../sessions/session-service.js';
import type { NasClient } from './clients.js';
import { encodeResponse, type DropReason, type ScannedPacket } from './packet.js';
import type { AccessDecision } from './policy.js';

/** The two RADIUS ports: authentication (RFC 2865) and accounting (RFC 2866). */
export type Port = 'auth' | 'acct';

/**
 * A datagram the server has checked (a known NAS, well formed, for this port, signed
 * with the NAS's secret), on its way to an answer.
 */
export interface RadiusRequest {
  readonly port: Port;
  readonly socket: Socket;
  readonly raw: Buffer;
  readonly packet: ScannedPacket;
  readonly nas: NasClient;
  readonly peer: RemoteInfo;
  /** performance.now() when it arrived. */
  readonly started: number;
  /** Its RFC 5080 key (none for Status-Server). */
  key: string | undefined;
  /** Passed on by another RADIUS worker (the EAP conversation it continues is this one's): never passed on again. */
  readonly forwarded?: boolean;
}

/** The bytes to send and the outcome to count, or nothing to send (a silent drop: the NAS sends it again). */
export type Answer = { bytes: Buffer; outcome: string } | undefined;

/** What the server lends its handlers. */
export interface HandlerContext {
  /** Drops the request unanswered: counted, and logged at most once a second per NAS and reason. */
  drop(r: RadiusRequest, reason: DropReason, extra?: object): void;
  /**
   * Passes the request to the RADIUS worker `owner` (a State names it), which answers it;
   * false where there is nobody to pass it to (one process, or already passed on).
   */
  forward(r: RadiusRequest, owner: number): boolean;
}

/**
 * Answers one kind of request (handlers/): the server has checked it and decoded its
 * attributes. An answer at once where the store reads synchronously, else a promise.
 */
export interface RadiusHandler {
  handle(r: RadiusRequest, attributes: Record<string, unknown>): Maybe<Answer>;
  /** Forgets what it holds and has not answered (the server stops; NASes send it again). */
  stop?(): void;
}

/** What deciding an Access-Request needs besides the request: its session, the clock, and what the answer carries. */
export interface AccessDecisionDeps {
  sessions: SessionService;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** session.time_zone: vendor answers that carry a local time (WISPr-Session-Terminate-Time) use it. */
  timeZone: string;
  /** The portal's start page from portal.base_url (cisco-wlc url-redirect); never from a request. */
  portalUrl: string;
}

/** The response to `r` (Message-Authenticator first, then the Response Authenticator: packet.ts). */
export function respond(r: RadiusRequest, code: number, attributes: AccessDecision['attributes'] = [], raw?: readonly Buffer[]): Buffer {
  return encodeResponse({ code, request: r.packet, secret: r.nas.secret, attributes, ...(raw ? { raw } : {}) });
}
