import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { AccountingStore } from '../accounting/accounting-store.js';
import { ConfigError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { AuditTrail } from '../audit/events.js';
import type { Logger } from '../logger.js';
import type { Maybe } from '../maybe.js';
import type { Metrics } from '../metrics.js';
import type { LoginToken, LoginTokenStore } from '../devices/login-token-store.js';
import type { SessionService } from '../sessions/session-service.js';
import { DICTIONARY_DIR, loadDictionaries } from './dictionary.js';
import { duplicateKey, MemoryDuplicateCache, type DuplicateCache, type DuplicateLookup } from './duplicate-cache.js';
import type { NasClient, NasTable } from './clients.js';
import { AccessHandler } from './handlers/access.js';
import { ACCOUNTING_ALONE_BATCH_MS, ACCOUNTING_BATCH_MS, AccountingHandler } from './handlers/accounting.js';
import { carriesEap } from './eap/eap-packet.js';
import { EapHandler, type EapHandlerOptions } from './handlers/eap.js';
import { StatusHandler } from './handlers/status.js';
import { Code, codeName, decodeAttributes, scanPacket, verifyMessageAuthenticator, verifyRequestAuthenticator, type DropReason, type ScannedPacket } from './packet.js';
import type { RecentAccessRequests } from './recent-access-requests.js';
import type { RecentDrops } from './recent-drops.js';
import type { Answer, HandlerContext, Port, RadiusHandler, RadiusRequest } from './request.js';
import { Outbox } from './outbox.js';
import { TokenLogins } from './token-login.js';

export interface RadiusServerOptions {
  host: string;
  authPort: number;
  acctPort: number;
  nas: NasTable;
  sessions: SessionService;
  accounting: AccountingStore;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** Recent requests and their answers (RFC 5080); one process's memory by default. */
  duplicates?: DuplicateCache;
  /** One-time logins the portal handed to UAM routers; without it token logins are not recognised. */
  loginTokens?: LoginTokenStore;
  /**
   * Records the enrollment a redeemed token carries (LoginToken.enroll), once the router
   * has proven the device; resolves with why it was refused, or null. Without it such
   * tokens are refused.
   */
  completeEnrollment?: (token: LoginToken) => Promise<string | null>;
  /** Remembers which router asked about each device (where RFC 5176 requests go when accounting is silent). */
  accessRequests?: RecentAccessRequests;
  /** session.time_zone: vendor answers that carry a local time (WISPr-Session-Terminate-Time) use it. */
  timeZone: string;
  /** The portal's start page from portal.base_url (cisco-wlc url-redirect); never from a request. */
  portalUrl: string;
  /** Vendor dictionaries; radius-dictionaries/ by default. */
  dictionaryDir?: string;
  /** Every accept and reject, accounting start and stop. */
  audit?: AuditTrail;
  /** Requests answered at once at most (radius.max_in_flight); past it, dropped as overload. */
  maxInFlight?: number;
  /** Keeps the last drops for the console (in memory, not audited). */
  drops?: Pick<RecentDrops, 'add'>;
  /** When the state store does not answer: how long to wait, and what to answer (radius.fail_mode). */
  storeFailure?: { deadlineMs: number; mode: 'closed' | 'open'; openMaxAgeMs: number };
  /** Which ports this server binds: both (default), or one (RADIUS workers split them, workers.ts). */
  serve?: 'both' | Port;
  /** 802.1X: the eap settings, TLS context and device checks; without it an Access-Request with EAP is rejected. */
  eap?: Pick<EapHandlerOptions, 'settings' | 'tls' | 'authorization' | 'tlsSessions' | 'owner'>;
  /**
   * In a RADIUS worker: sends a request on to the worker `owner` (eap-handoff.ts), which
   * calls receiveForwarded; false when no such worker listens.
   */
  forward?: (owner: number, raw: Buffer, peer: { address: string; port: number }) => boolean;
}

/** The kinds of request, each answered by its handler (handlers/). */
type RequestKind = 'status' | 'access' | 'eap' | 'accounting';

const DROP_LOG_INTERVAL_MS = 1000;

/**
 * The likely cause of a drop, for the admin reading the log: a packet from a known NAS
 * whose authenticator does not verify is almost always a shared secret that differs
 * between the router and radius.clients (a typo, a trailing space, the other NAS's).
 */
export function dropHint(reason: DropReason, nas: string): { hint: string } | Record<string, never> {
  const what = reason === 'bad_message_authenticator' ? 'Message-Authenticator' : reason === 'bad_authenticator' ? 'Request Authenticator' : undefined;
  if (what === undefined) return {};
  return { hint: `wrong shared secret on NAS ${nas}? The packet's ${what} does not match the secret configured for it` };
}

/** Which request codes each port serves (RFC 2865 §3, RFC 2866 §3, RFC 5997 Status-Server). */
const SERVES: Readonly<Record<Port, ReadonlySet<number>>> = {
  auth: new Set([Code.AccessRequest, Code.StatusServer]),
  acct: new Set([Code.AccountingRequest, Code.StatusServer]),
};

/** The handler for each request code a port serves; an Access-Request carrying EAP (RFC 3579) is 802.1X. */
function kindOf(packet: ScannedPacket, raw: Buffer): RequestKind {
  if (packet.code === Code.StatusServer) return 'status';
  if (packet.code === Code.AccountingRequest) return 'accounting';
  return carriesEap(raw, packet.length) ? 'eap' : 'access';
}

/** What 802.1X is handed: it reads the few attributes it needs from the bytes itself (eap/eap-packet.ts readEapRequest). */
const UNDECODED: Record<string, unknown> = Object.freeze({});

const EAP_OFF: EapHandlerOptions['settings'] = {
  enabled: false,
  methods: ['tls'],
  fragmentSize: 1024,
  conversationTimeoutMs: 30_000,
  maxConversations: 16,
  maxConversationsPerNas: 16,
};

/** The handlers a server answers with, from its options. */
function handlersFor(o: RadiusServerOptions, ctx: HandlerContext): Readonly<Record<RequestKind, RadiusHandler>> {
  const { sessions, clock, log, metrics, audit, timeZone, portalUrl } = o;
  const tokenLogins = o.loginTokens
    ? new TokenLogins({
        tokens: o.loginTokens,
        sessions,
        clock,
        log,
        metrics,
        timeZone,
        portalUrl,
        ...(o.completeEnrollment ? { completeEnrollment: o.completeEnrollment } : {}),
        ...(o.storeFailure ? { storeDeadlineMs: o.storeFailure.deadlineMs } : {}),
      })
    : undefined;
  // What the access and EAP handlers both take: the decision's context and where it is told.
  const deciding = {
    clock,
    log,
    metrics,
    timeZone,
    portalUrl,
    ...(audit ? { audit } : {}),
    ...(o.accessRequests ? { accessRequests: o.accessRequests } : {}),
  };
  return {
    status: new StatusHandler(),
    access: new AccessHandler({
      sessions,
      ...deciding,
      ...(tokenLogins ? { tokenLogins } : {}),
      ...(o.storeFailure ? { storeFailure: o.storeFailure } : {}),
    }),
    eap: new EapHandler(
      {
        settings: o.eap?.settings ?? EAP_OFF,
        ...(o.eap?.tls ? { tls: o.eap.tls } : {}),
        ...(o.eap?.authorization ? { authorization: o.eap.authorization } : {}),
        ...(o.eap?.tlsSessions ? { tlsSessions: o.eap.tlsSessions } : {}),
        ...(o.eap?.owner !== undefined ? { owner: o.eap.owner } : {}),
        ...deciding,
      },
      ctx,
    ),
    accounting: new AccountingHandler(
      {
        accounting: o.accounting,
        sessions,
        clock,
        log,
        metrics,
        ...(audit ? { audit } : {}),
        batchMs: o.serve === 'acct' ? ACCOUNTING_ALONE_BATCH_MS : ACCOUNTING_BATCH_MS,
        ...(o.storeFailure ? { storeDeadlineMs: o.storeFailure.deadlineMs } : {}),
      },
      ctx,
    ),
  };
}

/**
 * The UDP edge of RADIUS: every packet is checked on its raw bytes before anything
 * else looks at it, and anything that fails is dropped without an answer and counted
 * (RFC 2865 §3: silently discarded). A request that passes goes through the RFC 5080
 * duplicate cache and the in-flight bound to the handler of its kind (handlers/), and
 * its answer back to the NAS. Only this file knows about sockets.
 */
export class RadiusServer {
  private readonly sockets: Socket[] = [];
  private readonly duplicates: DuplicateCache;
  private readonly handlers: Readonly<Record<RequestKind, RadiusHandler>>;
  /** Requests between their handler and their answer (waiting for the store or an accounting batch, mostly). */
  private inFlight = 0;
  /** The second each NAS was last answered in, as last given to the metric (bounded by the configured NAS names). */
  private readonly lastAnswerSecond = new Map<string, number>();
  /** Answers wait here for the end of the turn (outbox.ts), one outbox per port for the log. */
  private readonly outboxes: Readonly<Record<Port, Outbox>> = {
    auth: new Outbox((err) => this.failed(err, 'auth')),
    acct: new Outbox((err) => this.failed(err, 'acct')),
  };

  constructor(private readonly o: RadiusServerOptions) {
    this.duplicates = o.duplicates ?? new MemoryDuplicateCache();
    this.handlers = handlersFor(o, {
      drop: (r, reason, extra) => this.drop(r.nas, reason, r.peer, extra),
      forward: (r, owner) => {
        if (!o.forward || r.forwarded) return false;
        return o.forward(owner, r.raw, r.peer);
      },
    });
  }

  /** Binds its ports (both unless `serve` names one); resolves with the ports actually bound (0 picks free ones). */
  async start(): Promise<{ authPort?: number; acctPort?: number }> {
    // Before the first packet: the `radius` package reads dictionaries once, lazily (dictionary.ts).
    const dictionaries = loadDictionaries(this.o.dictionaryDir ?? DICTIONARY_DIR);
    this.o.log.info({ event: 'radius.dictionaries_loaded', files: dictionaries.files.length, vendors: dictionaries.vendors, attributes: dictionaries.attributes }, 'RADIUS dictionaries loaded');
    const serve = this.o.serve ?? 'both';
    const authPort = serve === 'acct' ? undefined : await this.listen('auth', this.o.authPort);
    const acctPort = serve === 'auth' ? undefined : await this.listen('acct', this.o.acctPort);
    this.o.log.info({ event: 'radius.listening', host: this.o.host, authPort, acctPort }, 'RADIUS listening');
    return { ...(authPort !== undefined ? { authPort } : {}), ...(acctPort !== undefined ? { acctPort } : {}) };
  }

  async stop(): Promise<void> {
    // What waits goes out before the sockets close: those requests are answered, not lost.
    this.outboxes.auth.flush();
    this.outboxes.acct.flush();
    await Promise.all(this.sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const handler of Object.values(this.handlers)) handler.stop?.();
  }

  /**
   * A request another worker passed on (RadiusServerOptions.forward): checked and answered
   * as if it had arrived here, from this worker's socket, which shares the port.
   */
  receiveForwarded(raw: Buffer, peer: { address: string; port: number }): void {
    const socket = this.authSocket;
    if (!socket) return;
    const remote: RemoteInfo = { address: peer.address, port: peer.port, family: isIP(peer.address) === 6 ? 'IPv6' : 'IPv4', size: raw.length };
    try {
      this.receive('auth', socket, raw, remote, true);
    } catch (err) {
      this.failed(err, 'auth');
    }
  }

  private authSocket: Socket | undefined;

  private listen(port: Port, number: number): Promise<number> {
    const socket = createSocket({ type: isIP(this.o.host) === 6 ? 'udp6' : 'udp4', lookup: literalFirstLookup });
    this.sockets.push(socket);
    if (port === 'auth') this.authSocket = socket;
    socket.on('message', (raw, peer) => {
      try {
        this.receive(port, socket, raw, peer);
      } catch (err) {
        this.failed(err, port);
      }
    });
    socket.on('error', (err) => this.o.log.error({ err, event: 'radius.socket_error', port }, 'RADIUS socket error'));
    return new Promise((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : err.code ?? err.message;
        reject(new ConfigError(`radius.${port}_port: cannot listen on ${this.o.host}:${number} (${why})`, [], { cause: err }));
      };
      socket.once('error', failed);
      socket.bind(number, this.o.host, () => {
        socket.off('error', failed);
        resolve(socket.address().port);
      });
    });
  }

  /** Per NAS and reason: when a drop was last logged, and how many went unlogged since. */
  private readonly dropLog = new Map<string, { at: number; suppressed: number }>();

  /**
   * Counts every drop; logs at most one line per second per NAS and reason (with how
   * many were left out), so a flood of garbage from a spoofed source cannot flood the log.
   */
  private drop(nas: NasClient | undefined, reason: DropReason, peer: RemoteInfo, extra: object = {}): void {
    const name = nas?.name ?? 'unknown';
    this.o.metrics.radiusDrops.inc({ nas: name, reason });
    const now = Date.now();
    this.o.drops?.add({ atMs: now, nas: nas?.name, from: `${peer.address}:${peer.port}`, reason });
    const key = `${name}/${reason}`;
    const last = this.dropLog.get(key);
    if (last && now - last.at < DROP_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    if (this.dropLog.size > 1000) this.dropLog.clear();
    this.dropLog.set(key, { at: now, suppressed: 0 });
    this.o.log.warn(
      {
        event: 'radius.dropped',
        nas: nas?.name,
        from: `${peer.address}:${peer.port}`,
        reason,
        ...(last?.suppressed ? { alsoDroppedSinceLastLine: last.suppressed } : {}),
        ...(nas ? dropHint(reason, nas.name) : {}),
        ...extra,
      },
      'RADIUS packet dropped',
    );
  }

  /**
   * One datagram. Synchronous from the socket to the answer whenever the state store
   * reads synchronously (SQLite) and the RFC 5080 cache is this process's: a promise per
   * request cost a fifth of the CPU (bench:radius). Anything that must wait (Redis,
   * accounting batches and writes, one-time logins) continues in a promise.
   */
  private receive(port: Port, socket: Socket, raw: Buffer, peer: RemoteInfo, forwarded = false): void {
    const started = performance.now();
    const nas = this.o.nas.find(peer.address);
    if (!nas) return this.drop(undefined, 'unknown_client', peer);
    const scan = scanPacket(raw);
    if (!scan.ok) return this.drop(nas, scan.reason, peer);
    const packet = scan.packet;
    if (!SERVES[port].has(packet.code)) return this.drop(nas, 'unexpected_code', peer, { code: packet.code, port });

    const problem = this.authenticate(raw, packet, nas);
    if (problem) return this.drop(nas, problem, peer, { code: codeName(packet.code) });

    const request: RadiusRequest = { port, socket, raw, packet, nas, peer, started, key: undefined, forwarded };
    // RFC 5080 §2.2.2 (Status-Server is never cached: RFC 5997 §3 wants a fresh answer).
    if (packet.code === Code.StatusServer) return this.work(request);
    request.key = duplicateKey(port, peer.address, peer.port, packet.identifier, packet.authenticator);
    const seen = this.duplicates.begin(request.key, Date.now());
    if (seen instanceof Promise) {
      seen.then(
        (s) => this.safely(port, () => this.afterDuplicateCheck(request, s)),
        (err: unknown) => this.failed(err, port),
      );
    } else {
      this.afterDuplicateCheck(request, seen);
    }
  }

  private afterDuplicateCheck(r: RadiusRequest, seen: DuplicateLookup): void {
    if (seen.kind === 'new') return this.work(r);
    this.o.metrics.radiusRetransmissions.inc({ nas: r.nas.name, handled: seen.kind === 'answered' ? 'answered_from_cache' : 'dropped_in_progress' });
    if (seen.kind === 'answered') this.outboxes[r.port].send(r.socket, seen.response, r.peer.port, r.peer.address);
  }

  /** Hands a new request to its handler and sends the answer, at once or when its promise settles. */
  private work(r: RadiusRequest): void {
    // Bounded: with a slow store, requests would otherwise pile up in memory without end.
    if (this.inFlight >= (this.o.maxInFlight ?? Number.POSITIVE_INFINITY)) {
      if (r.key) this.duplicates.finish(r.key, undefined);
      return this.drop(r.nas, 'overload', r.peer);
    }
    this.inFlight++;
    let pending: Maybe<Answer>;
    try {
      const kind = kindOf(r.packet, r.raw);
      const attributes = kind === 'eap' ? UNDECODED : decodeAttributes(r.raw, r.packet.length);
      if (attributes) pending = this.handlers[kind].handle(r, attributes);
      else {
        this.drop(r.nas, 'undecodable', r.peer);
        pending = undefined;
      }
    } catch (err) {
      pending = Promise.reject(err);
    }
    if (pending instanceof Promise) {
      pending.then(
        (answer) => this.safely(r.port, () => this.reply(r, answer)),
        (err: unknown) => {
          this.safely(r.port, () => this.reply(r, undefined));
          this.failed(err, r.port);
        },
      );
    } else {
      this.reply(r, pending);
    }
  }

  /** Ends a request begun by work(): remembers its answer for retransmissions and sends it. */
  private reply(r: RadiusRequest, answer: Answer): void {
    this.inFlight--;
    if (r.key) this.duplicates.finish(r.key, answer?.bytes);
    if (!answer) return;
    this.outboxes[r.port].send(r.socket, answer.bytes, r.peer.port, r.peer.address);
    const type = codeName(r.packet.code);
    // Whole seconds: set once a second per NAS, not at every answer (prom-client hashes the labels of each set).
    const second = Math.floor(Date.now() / 1000);
    if (this.lastAnswerSecond.get(r.nas.name) !== second) {
      this.lastAnswerSecond.set(r.nas.name, second);
      this.o.metrics.radiusLastPacket.set({ nas: r.nas.name }, second);
    }
    this.o.metrics.radiusAnswered(r.nas.name, type, answer.outcome, (performance.now() - r.started) / 1000);
  }

  /**
   * Runs what continues a request outside the socket's handler (a promise): a failure
   * there (a send on a socket closed by stop()) is logged, never an unhandled rejection
   * or exception that would end the process.
   */
  private safely(port: Port, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failed(err, port);
    }
  }

  private failed(err: unknown, port: Port): void {
    this.o.log.error({ err, event: 'radius.handler_failed', port }, 'RADIUS handler failed');
  }

  /** Checks the packet was sent by the NAS holding the shared secret; a reason to drop it, or null. */
  private authenticate(raw: Buffer, packet: ScannedPacket, nas: NasClient): DropReason | null {
    const hasMa = packet.messageAuthenticatorAt >= 0;
    if (hasMa && !verifyMessageAuthenticator(raw, packet, nas.secret)) return 'bad_message_authenticator';
    if (packet.code === Code.AccountingRequest) {
      return verifyRequestAuthenticator(raw, packet, nas.secret) ? null : 'bad_authenticator';
    }
    // Access-Request and Status-Server have a random authenticator: only the
    // Message-Authenticator proves the secret (RFC 3579 §3.2; RFC 5997 §3 requires it
    // on Status-Server; BlastRADIUS makes it required on Access-Request by default).
    if (!hasMa && (packet.code === Code.StatusServer || nas.requireMessageAuthenticator || packet.proxyStates.length > 0)) {
      return 'missing_message_authenticator';
    }
    return null;
  }
}

/**
 * The socket's name lookup. Answers go to the address a request came from, always an
 * IP literal: answered at once, instead of dns.lookup's turn through process.nextTick
 * per datagram sent. Anything else (a host name in radius.host) goes to dns.lookup.
 */
function literalFirstLookup(hostname: string, options: number | LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const family = isIP(hostname);
  if (family !== 0) return callback(null, hostname, family);
  lookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
