import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { AccountingRecord, AccountingStore } from '../accounting/accounting-store.js';
import { ConfigError, StoreUnavailableError } from '../errors.js';
import type { Session } from '../sessions/session.js';
import type { Clock } from '../clock.js';
import { withDeadline } from '../deadline.js';
import type { AuditTrail } from '../audit/events.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { parseMac, type Mac } from '../devices/mac.js';
import { LOGIN_TOKEN_ID, tokenRef, type LoginToken, type LoginTokenStore } from '../sessions/login-token-store.js';
import type { SessionService } from '../sessions/session-service.js';
import { accountingUpdate, type AccountingUpdate } from './accounting.js';
import { DICTIONARY_DIR, loadDictionaries } from './dictionary.js';
import { duplicateKey, MemoryDuplicateCache, type DuplicateCache, type DuplicateLookup } from './duplicate-cache.js';
import { GenerationalMap } from '../generational-map.js';
import type { NasClient, NasTable } from './clients.js';
import {
  Code,
  codeName,
  decodeAttributes,
  encodeResponse,
  scanPacket,
  verifyMessageAuthenticator,
  verifyRequestAuthenticator,
  type DropReason,
  type ScannedPacket,
} from './packet.js';
import type { RecentAccessRequests } from './recent-access-requests.js';
import { decideAccess, rejectRequest, requestedMac, single, type AccessContext, type AccessDecision } from './policy.js';
import { tokenCredential, tokenLoginProblem } from './uam-login.js';

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
  /** When the state store does not answer: how long to wait, and what to answer (radius.fail_mode). */
  storeFailure?: { deadlineMs: number; mode: 'closed' | 'open'; openMaxAgeMs: number };
  /** Which ports this server binds: both (default), or one (RADIUS workers split them, workers.ts). */
  serve?: 'both' | Port;
}

export type Port = 'auth' | 'acct';

/** A datagram that passed the checks, on its way to an answer. */
interface Request {
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
}

/** The bytes to send and the outcome to count, or nothing to send. */
type Answer = { bytes: Buffer; outcome: string } | undefined;

const DROP_LOG_INTERVAL_MS = 1000;

/**
 * How long accounting requests are gathered before they are worked on together, in
 * a process that also answers authentication: short, so that one batch's work does not
 * hold authentication up for long. Routers wait seconds for an answer (the default
 * timeout is 3 s on Juniper, 5 s on Aruba CX).
 */
export const ACCOUNTING_BATCH_MS = 5;
/**
 * The same in a process that serves accounting alone (the accounting worker): fewer,
 * larger commits (bench:radius --accounting-only, three runs each way: 83-97 against
 * 96-117 µs of CPU per request).
 */
export const ACCOUNTING_ALONE_BATCH_MS = 20;

/** Which request codes each port serves (RFC 2865 §3, RFC 2866 §3, RFC 5997 Status-Server). */
const SERVES: Readonly<Record<Port, ReadonlySet<number>>> = {
  auth: new Set([Code.AccessRequest, Code.StatusServer]),
  acct: new Set([Code.AccountingRequest, Code.StatusServer]),
};

/**
 * The UDP edge of RADIUS: every packet is checked on its raw bytes before anything
 * else looks at it, and anything that fails is dropped without an answer and counted
 * (RFC 2865 §3: silently discarded). Only this file knows about sockets.
 */
export class RadiusServer {
  private readonly sockets: Socket[] = [];
  private readonly duplicates: DuplicateCache;
  /** fail_mode open: the sessions this process last saw live. */
  private readonly remembered: RememberedSessions;
  /** Requests between decoding and their answer (waiting for the store, mostly). */
  private inFlight = 0;
  /** Accounting requests waiting for their batch (workAccounting). */
  private readonly accounting: Request[] = [];
  private accountingTimer: NodeJS.Timeout | undefined;
  /** The second each NAS was last answered in, as last given to the metric (bounded by the configured NAS names). */
  private readonly lastAnswerSecond = new Map<string, number>();
  /** The store's synchronous session read (SQLite), when it has one. */
  private readonly liveNow: ((mac: Mac) => Session | undefined) | undefined;
  /** How long accounting requests are gathered (ACCOUNTING_BATCH_MS, or ACCOUNTING_ALONE_BATCH_MS serving accounting alone). */
  private readonly accountingBatchMs: number;

  constructor(private readonly o: RadiusServerOptions) {
    this.duplicates = o.duplicates ?? new MemoryDuplicateCache();
    this.remembered = new RememberedSessions(o.storeFailure?.openMaxAgeMs ?? 0);
    this.liveNow = o.sessions.liveNow;
    this.accountingBatchMs = o.serve === 'acct' ? ACCOUNTING_ALONE_BATCH_MS : ACCOUNTING_BATCH_MS;
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
    await Promise.all(this.sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    // Accounting still gathered is not answered: its routers send it again.
    clearTimeout(this.accountingTimer);
    this.accountingTimer = undefined;
    this.accounting.length = 0;
  }

  private listen(port: Port, number: number): Promise<number> {
    const socket = createSocket({ type: isIP(this.o.host) === 6 ? 'udp6' : 'udp4', lookup: literalFirstLookup });
    this.sockets.push(socket);
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
    const key = `${name}/${reason}`;
    const now = Date.now();
    const last = this.dropLog.get(key);
    if (last && now - last.at < DROP_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    if (this.dropLog.size > 1000) this.dropLog.clear();
    this.dropLog.set(key, { at: now, suppressed: 0 });
    this.o.log.warn(
      { event: 'radius.dropped', nas: nas?.name, from: `${peer.address}:${peer.port}`, reason, ...(last?.suppressed ? { alsoDroppedSinceLastLine: last.suppressed } : {}), ...extra },
      'RADIUS packet dropped',
    );
  }

  /**
   * One datagram. Synchronous from the socket to the answer whenever the state store
   * reads synchronously (SQLite's readNow) and the RFC 5080 cache is this process's:
   * a promise per request cost a fifth of the CPU (bench:radius). Anything that must
   * wait (Redis, accounting writes, one-time logins) continues in a promise.
   */
  private receive(port: Port, socket: Socket, raw: Buffer, peer: RemoteInfo): void {
    const started = performance.now();
    const nas = this.o.nas.find(peer.address);
    if (!nas) return this.drop(undefined, 'unknown_client', peer);
    const scan = scanPacket(raw);
    if (!scan.ok) return this.drop(nas, scan.reason, peer);
    const packet = scan.packet;
    if (!SERVES[port].has(packet.code)) return this.drop(nas, 'unexpected_code', peer, { code: packet.code, port });

    const problem = this.authenticate(raw, packet, nas);
    if (problem) return this.drop(nas, problem, peer, { code: codeName(packet.code) });

    const request: Request = { port, socket, raw, packet, nas, peer, started, key: undefined };
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

  private afterDuplicateCheck(r: Request, seen: DuplicateLookup): void {
    if (seen.kind === 'new') return this.work(r);
    this.o.metrics.radiusRetransmissions.inc({ nas: r.nas.name, handled: seen.kind === 'answered' ? 'answered_from_cache' : 'dropped_in_progress' });
    if (seen.kind === 'answered') r.socket.send(seen.response, r.peer.port, r.peer.address);
  }

  /** Decides a new request and sends the answer, at once or when its promise settles. */
  private work(r: Request): void {
    // Bounded: with a slow store, requests would otherwise pile up in memory without end.
    if (this.inFlight + this.accounting.length >= (this.o.maxInFlight ?? Number.POSITIVE_INFINITY)) {
      if (r.key) this.duplicates.finish(r.key, undefined);
      return this.drop(r.nas, 'overload', r.peer);
    }
    if (r.packet.code === Code.AccountingRequest) {
      // Gathered for a few milliseconds and worked on together: one SQLite commit for all
      // of them, instead of one per datagram when they trickle in (bench:radius: each
      // commit also makes every RADIUS reader catch up with the change log).
      this.accounting.push(r);
      this.accountingTimer ??= setTimeout(() => this.workAccounting(), this.accountingBatchMs);
      return;
    }
    this.decide(r);
  }

  private workAccounting(): void {
    this.accountingTimer = undefined;
    for (const r of this.accounting.splice(0)) this.safely(r.port, () => this.decide(r));
  }

  private decide(r: Request): void {
    this.inFlight++;
    let pending: Answer | Promise<Answer>;
    try {
      const attributes = decodeAttributes(r.raw, r.packet.length);
      if (attributes) pending = this.answer(r, attributes);
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
  private reply(r: Request, answer: Answer): void {
    this.inFlight--;
    if (r.key) this.duplicates.finish(r.key, answer?.bytes);
    if (!answer) return;
    r.socket.send(answer.bytes, r.peer.port, r.peer.address);
    const type = codeName(r.packet.code);
    this.o.metrics.radiusRequests.inc({ nas: r.nas.name, type, outcome: answer.outcome });
    // Whole seconds: set once a second per NAS, not at every answer (prom-client hashes the labels of each set).
    const second = Math.floor(Date.now() / 1000);
    if (this.lastAnswerSecond.get(r.nas.name) !== second) {
      this.lastAnswerSecond.set(r.nas.name, second);
      this.o.metrics.radiusLastPacket.set({ nas: r.nas.name }, second);
    }
    this.o.metrics.radiusLatency.observe({ type }, (performance.now() - r.started) / 1000);
  }

  /**
   * Runs what continues a request outside the socket's handler (a promise, the
   * accounting timer): a failure there (a send on a socket closed by stop()) is
   * logged, never an unhandled rejection or exception that would end the process.
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

  private auditDecision(nas: NasClient, d: AccessDecision): void {
    if (!this.o.audit) return;
    // Object literals without spreads (one allocation each): this runs at every answer.
    // Members left undefined are left out of the record (JSON.stringify).
    if (d.code === Code.AccessAccept) {
      // An accept without a session (registration VLAN, redirect, role) says which in its reason.
      this.o.audit.record({ type: 'radius.accepted', nas: nas.name, mac: d.mac || undefined, user: d.user || undefined, reason: d.reason });
    } else {
      this.o.audit.record({ type: 'radius.rejected', nas: nas.name, mac: d.mac || undefined, reason: d.reason });
    }
  }

  private auditAccounting(r: AccountingRecord): void {
    if (!this.o.audit || r.status === 'interim') return;
    const common = { nas: r.nas, mac: r.mac, ...(r.user ? { user: r.user } : {}), ...(r.ip ? { ip: r.ip } : {}), session_id: r.sessionId };
    if (r.status === 'start') {
      this.o.audit.record({ type: 'accounting.started', ...common });
      return;
    }
    this.o.audit.record({
      type: 'accounting.stopped',
      ...common,
      input_octets: r.inputOctets,
      output_octets: r.outputOctets,
      ...(r.sessionTimeSeconds !== undefined ? { duration_s: r.sessionTimeSeconds } : {}),
      ...(r.terminateCause ? { terminate_cause: r.terminateCause } : {}),
    });
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

  private answer(r: Request, attributes: Record<string, unknown>): Answer | Promise<Answer> {
    const { packet, nas } = r;
    if (packet.code === Code.StatusServer) {
      return { bytes: this.respond(r, r.port === 'auth' ? Code.AccessAccept : Code.AccountingResponse), outcome: 'status' };
    }
    if (packet.code === Code.AccessRequest) {
      const decision = this.decideAccess(r.raw, packet, attributes, nas);
      return decision instanceof Promise ? decision.then((d) => this.accessAnswer(r, d)) : this.accessAnswer(r, decision);
    }
    return this.accountingAnswer(r, attributes);
  }

  private respond(r: Request, code: number, attributes: AccessDecision['attributes'] = []): Buffer {
    return encodeResponse({ code, request: r.packet, secret: r.nas.secret, attributes });
  }

  private accessAnswer(r: Request, decision: AccessDecision): Answer {
    const { nas } = r;
    if (decision.mac) this.o.accessRequests?.note(decision.mac, nas.name, this.o.clock.now());
    // Per request, so debug: at tens of thousands a second the log would cost more than
    // the answer. Checked first, so that the line's object is not even built otherwise.
    if (this.o.log.isLevelEnabled('debug')) {
      this.o.log.debug(
        { event: 'radius.access', nas: nas.name, mac: decision.mac, user: decision.user, outcome: decision.outcome, reason: decision.reason },
        'RADIUS access decision',
      );
    }
    this.auditDecision(nas, decision);
    return { bytes: this.respond(r, decision.code, decision.attributes), outcome: decision.outcome };
  }

  /**
   * Accounting-Request. RFC 2866 §4.1: answer only once the record is safely kept; when
   * it cannot be kept, stay silent so the NAS retransmits. On a store that reads and
   * writes synchronously (SQLite), everything up to the commit happens here, in this
   * turn, and one promise waits for the batch's commit (bench:radius: a chain of keyv
   * promises per packet had cost more than the rest of the answer).
   */
  private accountingAnswer(r: Request, attributes: Record<string, unknown>): Answer | Promise<Answer> {
    const { nas, peer } = r;
    const now = this.o.clock.now();
    const update = accountingUpdate(attributes, nas.name, now);
    if (update.kind === 'ignore') return { bytes: this.respond(r, Code.AccountingResponse), outcome: 'ignored' };
    if (update.kind === 'unusable') {
      this.drop(nas, 'unusable_accounting', peer, { problem: update.problem });
      return undefined;
    }
    const accounting = this.o.accounting;
    if (!this.liveNow || !accounting.synchronous) return this.accountingAnswerLater(r, update);
    let record: AccountingRecord;
    let saved: Promise<void>;
    try {
      record = update.build(accounting.getNow(nas.name, update.sessionId), this.liveNow(update.mac)?.user);
      saved = accounting.saveNow(record);
    } catch (err) {
      return this.accountingNotKept(nas, err);
    }
    return saved.then(
      () => this.accountingKept(r, record),
      (err: unknown) => this.accountingNotKept(nas, err),
    );
  }

  /** accountingAnswer on a store that must be waited for (Redis). */
  private async accountingAnswerLater(r: Request, update: Extract<AccountingUpdate, { kind: 'record' }>): Promise<Answer> {
    try {
      const previous = await this.o.accounting.get(r.nas.name, update.sessionId);
      const session = await this.o.sessions.live(update.mac);
      const record = update.build(previous, session?.user);
      await this.o.accounting.save(record);
      return this.accountingKept(r, record);
    } catch (err) {
      return this.accountingNotKept(r.nas, err);
    }
  }

  /** An accounting record is kept: say so (debug), audit Start and Stop, and answer. */
  private accountingKept(r: Request, record: AccountingRecord): Answer {
    if (this.o.log.isLevelEnabled('debug')) {
      this.o.log.debug(
        { event: `accounting.${record.status}`, nas: r.nas.name, mac: record.mac, user: record.user, ip: record.ip, sessionId: record.sessionId, inputOctets: record.inputOctets, outputOctets: record.outputOctets },
        'accounting recorded',
      );
    }
    this.auditAccounting(record);
    return { bytes: this.respond(r, Code.AccountingResponse), outcome: record.status };
  }

  /** An accounting record could not be kept: logged and counted, and no answer, so that the NAS retries. */
  private accountingNotKept(nas: NasClient, err: unknown): Answer {
    this.o.log.error({ err, event: 'accounting.store_failed', nas: nas.name }, 'accounting not recorded; no answer so the NAS retries');
    this.o.metrics.radiusStoreErrors.inc({ kind: 'accounting' });
    this.o.metrics.radiusDrops.inc({ nas: nas.name, reason: 'store_error' });
    return undefined;
  }

  private decideAccess(raw: Buffer, packet: ScannedPacket, attributes: Record<string, unknown>, nas: NasClient): AccessDecision | Promise<AccessDecision> {
    const userName = single(attributes['User-Name']);
    if (nas.uam && this.o.loginTokens && userName !== undefined && LOGIN_TOKEN_ID.test(userName)) {
      return this.tokenLogin(this.o.loginTokens, userName, raw, packet, attributes, nas);
    }
    const wanted = requestedMac(attributes);
    if ('problem' in wanted) return rejectRequest(wanted.problem);
    const { mac } = wanted;
    const policy: AccessContext = { now: this.o.clock.now(), timeZone: this.o.timeZone, portalUrl: this.o.portalUrl };
    if (this.liveNow) {
      let session: Session | undefined;
      try {
        session = this.liveNow(mac);
      } catch (err) {
        return this.storeFailed(err, mac, nas, policy);
      }
      return this.decided(mac, session, nas, policy);
    }
    return this.withStoreDeadline(this.o.sessions.live(mac)).then(
      (session) => this.decided(mac, session, nas, policy),
      (err: unknown) => this.storeFailed(err, mac, nas, policy),
    );
  }

  private decided(mac: Mac, session: Session | undefined, nas: NasClient, policy: AccessContext): AccessDecision {
    if (this.o.storeFailure?.mode === 'open') this.remembered.note(mac, session, policy.now);
    return decideAccess(mac, session, nas, policy);
  }

  /** The store did not answer: reject (fail_mode closed), or accept a session this process saw live not long ago (open). */
  private storeFailed(err: unknown, mac: Mac, nas: NasClient, policy: AccessContext): AccessDecision {
    this.o.metrics.radiusStoreErrors.inc({ kind: 'access' });
    // fail_mode open: a session this process saw live, not too long ago, and live still by its own end.
    const remembered = this.o.storeFailure?.mode === 'open' ? this.remembered.recall(mac, policy.now) : undefined;
    this.o.log.error(
      { err, event: 'radius.store_failed', nas: nas.name, mac, failMode: this.o.storeFailure?.mode ?? 'closed', remembered: remembered !== undefined },
      remembered ? 'store unavailable; accepting a remembered session (fail_mode open)' : 'store unavailable; rejecting',
    );
    if (!remembered) return { ...rejectRequest('state store unavailable'), mac };
    const decision = decideAccess(mac, remembered, nas, policy);
    return { ...decision, reason: 'fail open: state store unavailable, remembered session' };
  }

  /** RADIUS never waits longer than radius.store_deadline_ms for the store: past it the store counts as unavailable. */
  private withStoreDeadline<T>(p: Promise<T>): Promise<T> {
    const ms = this.o.storeFailure?.deadlineMs;
    if (ms === undefined) return p;
    return withDeadline(p, ms, () => new StoreUnavailableError(`the state store did not answer within ${ms} ms`));
  }

  /**
   * A UAM router redeeming a one-time login (uam-login.ts): accepted with the attributes
   * of the device's live session (decideAccess), and the token is deleted; anything
   * wrong is a reject with the reason logged. Logs name the token only by tokenRef.
   */
  private async tokenLogin(
    tokens: LoginTokenStore,
    id: string,
    raw: Buffer,
    packet: ScannedPacket,
    attributes: Record<string, unknown>,
    nas: NasClient,
  ): Promise<AccessDecision> {
    const station = parseMac(single(attributes['Calling-Station-Id']));
    const log = (decision: AccessDecision): AccessDecision => {
      this.o.log.info(
        { event: 'radius.uam_login', nas: nas.name, token: tokenRef(id), mac: decision.mac ?? station ?? undefined, user: decision.user, outcome: decision.outcome, reason: decision.reason },
        decision.code === Code.AccessAccept ? 'one-time login accepted' : 'one-time login refused',
      );
      return decision;
    };
    try {
      const now = this.o.clock.now();
      const token = await tokens.get(id, now);
      const credential = tokenCredential(raw, packet.length, packet.authenticator, nas.secret);
      const problem = tokenLoginProblem(token, nas.name, station, credential);
      if (problem || !token) return log(rejectRequest(problem ?? 'unknown login token'));
      if (token.enroll) {
        // The router has just proven the device (its Calling-Station-Id is the token's MAC):
        // the enrollment the portal prepared is recorded now, once.
        if (!(await tokens.redeem(id))) return log({ ...rejectRequest('login token already used'), mac: token.mac });
        const refused = this.o.completeEnrollment ? await this.o.completeEnrollment(token) : 'enrollments are not completed by this server';
        if (refused) return log({ ...rejectRequest(refused), mac: token.mac });
        const enrolled = decideAccess(token.mac, await this.o.sessions.live(token.mac), nas, { now, timeZone: this.o.timeZone, portalUrl: this.o.portalUrl });
        if (enrolled.outcome !== 'accept') return log({ ...rejectRequest('the device has no live session'), mac: token.mac });
        return log({ ...enrolled, reason: 'one-time login token, device enrolled' });
      }
      const session = await this.o.sessions.live(token.mac);
      const decision = decideAccess(token.mac, session, nas, { now, timeZone: this.o.timeZone, portalUrl: this.o.portalUrl });
      if (decision.outcome !== 'accept') return log({ ...rejectRequest('the device has no live session'), mac: token.mac });
      // Single use: only the request that deletes the token is accepted.
      if (!(await tokens.redeem(id))) return log({ ...rejectRequest('login token already used'), mac: token.mac });
      return log({ ...decision, reason: 'one-time login token' });
    } catch (err) {
      this.o.log.error({ err, event: 'radius.store_failed', nas: nas.name, token: tokenRef(id) }, 'store unavailable; rejecting');
      this.o.metrics.radiusStoreErrors.inc({ kind: 'token' });
      return rejectRequest('state store unavailable');
    }
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

/**
 * fail_mode open's memory: the live session of each device this process answered,
 * as last read from the store, at most REMEMBERED_MAX devices (GenerationalMap).
 * A device whose session the store no longer has is forgotten at its next request.
 */
class RememberedSessions {
  private readonly entries = new GenerationalMap<string, { session: Session; seenAt: number }>(REMEMBERED_MAX);

  constructor(private readonly maxAgeMs: number) {}

  note(mac: string, session: Session | undefined, now: Date): void {
    if (!session) {
      this.entries.delete(mac);
      return;
    }
    this.entries.set(mac, { session, seenAt: now.getTime() });
  }

  /** The remembered session, while seen within the maximum age and not past its own end. */
  recall(mac: string, now: Date): Session | undefined {
    const e = this.entries.get(mac);
    if (!e || now.getTime() - e.seenAt > this.maxAgeMs || Date.parse(e.session.endsAt) <= now.getTime()) return undefined;
    return e.session;
  }
}

const REMEMBERED_MAX = 200_000;
