import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { unmapIpv4 } from './clients.js';
import {
  checkDynamicAuthorizationReply,
  encodeDynamicAuthorizationRequest,
  ERROR_CAUSES,
  type DynamicAuthorizationKind,
  type DynamicAuthorizationReply,
} from './dynamic-authorization-packet.js';

/** One Disconnect-Request or CoA-Request to a router's dynamic-authorization port (RFC 5176). */
export interface DynamicAuthorizationRequest {
  /** The router's name (logs and metrics). */
  readonly nas: string;
  readonly kind: DynamicAuthorizationKind;
  readonly address: string;
  readonly port: number;
  readonly secret: string;
  /** Encoded attributes (dynamic-authorization-packet.ts). */
  readonly attributes: readonly Buffer[];
  /** The first wait for an answer; it doubles on each retry. */
  readonly timeoutMs: number;
  /** Retransmissions after the first try. */
  readonly retries: number;
  /** Fields added to every log line of this exchange (mac, sessionId, why); never secrets. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** How an exchange ended. `error`: nothing could be sent (no socket, wrong address family, shutting down). */
export type DynamicAuthorizationOutcome = DynamicAuthorizationReply | { readonly result: 'timeout' } | { readonly result: 'error'; readonly reason: string };

export interface DynamicAuthorizationClientOptions {
  /** Source address: the RADIUS listen address, so the router sees the server it knows. Its family is the socket's. */
  readonly bindAddress: string;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** RFC 5080 §2.2.1 MRT: the longest single wait (default 16 s). */
  readonly maxWaitMs?: number;
  /** RFC 5080 §2.2.1 MRD: the longest whole exchange, retries included (default 60 s). */
  readonly maxTotalMs?: number;
}

interface Pending {
  readonly request: Buffer;
  readonly secret: string;
  readonly kind: DynamicAuthorizationKind;
  readonly nas: string;
  settle(outcome: DynamicAuthorizationOutcome): void;
}

/** An identifier is reserved (null) from allocation until sent, then holds the exchange waiting for its answer. */
type Slots = Map<number, Pending | null>;

/**
 * The client side of RFC 5176: sends Disconnect/CoA requests from one UDP socket and
 * matches answers to them. Identifiers are allocated per destination so no two requests
 * in flight to the same router share one (RFC 5176 §2.3 / RFC 2865 §3); a retransmission
 * repeats the same bytes, identifier and authenticator (RFC 5080 §2.2.1). Only this file
 * knows sockets for this direction.
 */
export class DynamicAuthorizationClient {
  private socket: Promise<Socket> | undefined;
  private readonly slots = new Map<string, Slots>();
  private readonly nextIdentifier = new Map<string, number>();
  private readonly waitingForIdentifier = new Map<string, Array<() => void>>();
  private readonly inFlight = new Set<Promise<DynamicAuthorizationOutcome>>();
  private closed = false;
  private readonly maxWaitMs: number;
  private readonly maxTotalMs: number;

  constructor(private readonly o: DynamicAuthorizationClientOptions) {
    this.maxWaitMs = o.maxWaitMs ?? 16_000;
    this.maxTotalMs = o.maxTotalMs ?? 60_000;
  }

  /**
   * Sends the request, retrying with exponential backoff, and resolves with the outcome
   * (never rejects). Callers that must not wait (the portal) may ignore the promise.
   */
  send(request: DynamicAuthorizationRequest): Promise<DynamicAuthorizationOutcome> {
    const exchange = this.exchange(request);
    this.inFlight.add(exchange);
    void exchange.finally(() => this.inFlight.delete(exchange));
    return exchange;
  }

  /** Resolves once no exchange is under way (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Ends every exchange under way (outcome `error`) and closes the socket. */
  async close(): Promise<void> {
    this.closed = true;
    for (const slots of this.slots.values()) for (const p of slots.values()) p?.settle({ result: 'error', reason: 'shutting down' });
    for (const waiters of this.waitingForIdentifier.values()) for (const wake of waiters.splice(0)) wake();
    await this.idle();
    const socket = await this.socket?.catch(() => undefined);
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private async exchange(r: DynamicAuthorizationRequest): Promise<DynamicAuthorizationOutcome> {
    const started = Date.now();
    const destination = destinationKey(r.address, r.port);
    let outcome: DynamicAuthorizationOutcome;
    let tries = 0;
    let identifier: number | undefined;
    try {
      if (this.closed) throw new Error('shutting down');
      const socket = await this.open();
      const sendTo = this.sendAddress(r.address);
      identifier = await this.allocate(destination);
      try {
        const bytes = encodeDynamicAuthorizationRequest({ kind: r.kind, identifier, secret: r.secret, attributes: r.attributes });
        outcome = await this.transmit(socket, sendTo, r, destination, identifier, bytes, started, (n) => (tries = n));
      } finally {
        this.release(destination, identifier);
      }
    } catch (err) {
      outcome = { result: 'error', reason: (err as Error).message };
    }
    this.report(r, outcome, { id: identifier, tries, ms: Date.now() - started });
    return outcome;
  }

  /** Sends, then resends the same bytes after each wait (timeoutMs, ×2 each time, capped) until answered or out of tries. */
  private transmit(
    socket: Socket,
    sendTo: string,
    r: DynamicAuthorizationRequest,
    destination: string,
    identifier: number,
    bytes: Buffer,
    started: number,
    counted: (tries: number) => void,
  ): Promise<DynamicAuthorizationOutcome> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let tries = 0;
      let settled = false;
      const slots = this.slots.get(destination)!;
      const settle = (outcome: DynamicAuthorizationOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        slots.set(identifier, null);
        resolve(outcome);
      };
      slots.set(identifier, { request: bytes, secret: r.secret, kind: r.kind, nas: r.nas, settle });
      const attempt = () => {
        const remaining = started + this.maxTotalMs - Date.now();
        if (tries > r.retries || remaining <= 0) return settle({ result: 'timeout' });
        const wait = Math.min(r.timeoutMs * 2 ** tries, this.maxWaitMs, remaining);
        tries++;
        counted(tries);
        // A failed send (no route, …) is a lost try: the timer still runs and the next try may work.
        const failed = (err: unknown) =>
          this.o.log.warn({ event: `${r.kind}.send_failed`, nas: r.nas, to: `${r.address}:${r.port}`, id: identifier, try: tries, err }, 'RFC 5176 request not sent');
        try {
          socket.send(bytes, r.port, sendTo, (err) => err && failed(err));
        } catch (err) {
          failed(err);
        }
        const fields = { nas: r.nas, to: `${r.address}:${r.port}`, id: identifier, try: tries, waitMs: wait, ...r.context };
        if (tries === 1) this.o.log.info({ event: `${r.kind}.sent`, ...fields }, `${label(r.kind)} sent`);
        else this.o.log.info({ event: `${r.kind}.retried`, ...fields }, `${label(r.kind)} sent again (no answer yet)`);
        timer = setTimeout(attempt, wait);
      };
      attempt();
    });
  }

  private receive(raw: Buffer, peer: RemoteInfo): void {
    const destination = destinationKey(unmapIpv4(peer.address), peer.port);
    const pending = raw.length >= 2 ? this.slots.get(destination)?.get(raw[1]!) : undefined;
    if (!pending) {
      this.o.log.debug({ event: 'dynamic_authorization.reply_unmatched', from: `${peer.address}:${peer.port}` }, 'datagram that answers no request under way; ignored');
      return;
    }
    const check = checkDynamicAuthorizationReply(raw, pending.request, pending.secret);
    if (!check.ok) {
      // Not the router's answer (or forged): ignore it and keep waiting; the exchange may still succeed.
      this.o.log.warn({ event: `${pending.kind}.reply_dropped`, nas: pending.nas, from: `${peer.address}:${peer.port}`, id: raw[1], problem: check.problem }, 'RFC 5176 answer ignored');
      return;
    }
    pending.settle(check.reply);
  }

  private report(r: DynamicAuthorizationRequest, outcome: DynamicAuthorizationOutcome, f: { id: number | undefined; tries: number; ms: number }): void {
    this.o.metrics.dynamicAuthorization.inc({ nas: r.nas, kind: r.kind, result: outcome.result });
    const fields = { nas: r.nas, to: `${r.address}:${r.port}`, ...(f.id !== undefined ? { id: f.id } : {}), tries: f.tries, ms: f.ms, ...r.context };
    switch (outcome.result) {
      case 'ack':
        this.o.log.info({ event: `${r.kind}.ack`, ...fields }, `${label(r.kind)} acknowledged`);
        return;
      case 'nak':
        this.o.log.warn(
          { event: `${r.kind}.nak`, ...fields, errorCause: outcome.errorCause, errorCauseName: outcome.errorCause !== undefined ? ERROR_CAUSES[outcome.errorCause] : undefined },
          `${label(r.kind)} refused by the router`,
        );
        return;
      case 'timeout':
        this.o.log.warn({ event: `${r.kind}.timeout`, ...fields }, `${label(r.kind)}: no answer from the router`);
        return;
      case 'error':
        this.o.log.error({ event: `${r.kind}.failed`, ...fields, reason: outcome.reason }, `${label(r.kind)} could not be sent`);
        return;
    }
  }

  /** The socket, bound on first use (a gateway without dynamic authorization never opens one). */
  private open(): Promise<Socket> {
    this.socket ??= new Promise<Socket>((resolve, reject) => {
      const socket = createSocket({ type: isIP(this.o.bindAddress) === 6 ? 'udp6' : 'udp4' });
      socket.on('message', (raw, peer) => this.receive(raw, peer));
      const failed = (err: Error) => {
        this.socket = undefined;
        reject(new Error(`cannot bind ${this.o.bindAddress} for RFC 5176 requests: ${err.message}`, { cause: err }));
      };
      socket.once('error', failed);
      socket.bind(0, this.o.bindAddress, () => {
        socket.off('error', failed);
        socket.on('error', (err) => this.o.log.error({ err, event: 'dynamic_authorization.socket_error' }, 'RFC 5176 socket error'));
        resolve(socket);
      });
    });
    return this.socket;
  }

  /** The address to send to from our socket's family; a dual-stack IPv6 socket reaches IPv4 routers as ::ffff:a.b.c.d. */
  private sendAddress(address: string): string {
    const ours = isIP(this.o.bindAddress);
    const theirs = isIP(address);
    if (ours === theirs) return address;
    if (ours === 6 && theirs === 4 && this.o.bindAddress === '::') return `::ffff:${address}`;
    throw new Error(`cannot reach ${address} from ${this.o.bindAddress} (radius.host): another address family`);
  }

  /** A free identifier for this destination, waiting while all 256 are in flight. */
  private async allocate(destination: string): Promise<number> {
    for (;;) {
      if (this.closed) throw new Error('shutting down');
      let slots = this.slots.get(destination);
      if (!slots) this.slots.set(destination, (slots = new Map()));
      if (slots.size < 256) {
        // Round robin from a random start, so a late answer to an old request rarely meets a new one with its identifier.
        let id = this.nextIdentifier.get(destination) ?? randomInt(256);
        while (slots.has(id)) id = (id + 1) & 0xff;
        slots.set(id, null);
        this.nextIdentifier.set(destination, (id + 1) & 0xff);
        return id;
      }
      await new Promise<void>((resolve) => {
        const waiters = this.waitingForIdentifier.get(destination) ?? [];
        waiters.push(resolve);
        this.waitingForIdentifier.set(destination, waiters);
      });
    }
  }

  private release(destination: string, identifier: number): void {
    const slots = this.slots.get(destination);
    slots?.delete(identifier);
    if (slots?.size === 0) this.slots.delete(destination);
    this.waitingForIdentifier.get(destination)?.shift()?.();
  }
}

/** Where a request went; answers must come from there (IPv6 text compared in lower case). */
function destinationKey(address: string, port: number): string {
  return `${address.toLowerCase()}|${port}`;
}

function label(kind: DynamicAuthorizationKind): string {
  return kind === 'coa' ? 'CoA-Request' : 'Disconnect-Request';
}
