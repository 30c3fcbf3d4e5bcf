import type { AccountingRecord, AccountingStore } from '../../accounting/accounting-store.js';
import type { AuditTrail } from '../../audit/events.js';
import type { Clock } from '../../clock.js';
import { withStoreDeadline } from '../../deadline.js';
import type { Logger } from '../../logger.js';
import { andThen, type Maybe } from '../../maybe.js';
import type { Metrics } from '../../metrics.js';
import type { SessionService } from '../../sessions/session-service.js';
import { accountingUpdate } from '../accounting.js';
import { accountingAuditEvent } from '../audit-records.js';
import type { NasClient } from '../clients.js';
import { Code } from '../packet.js';
import { respond, type Answer, type HandlerContext, type RadiusHandler, type RadiusRequest } from '../request.js';

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

export interface AccountingHandlerOptions {
  accounting: AccountingStore;
  sessions: SessionService;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Accounting Start and Stop. */
  audit?: AuditTrail;
  /** How long requests are gathered (ACCOUNTING_BATCH_MS, or ACCOUNTING_ALONE_BATCH_MS serving accounting alone). */
  batchMs: number;
  /**
   * radius.store_deadline_ms: the longest a request waits for each store read or write.
   * Past it the record counts as not kept (no answer, the NAS retries), and the request
   * no longer holds a place in radius.max_in_flight.
   */
  storeDeadlineMs?: number;
}

/** A request waiting for its batch, and how to hand its answer over. */
interface Waiting {
  readonly r: RadiusRequest;
  readonly attributes: Record<string, unknown>;
  readonly done: (answer: Maybe<Answer>) => void;
  readonly failed: (err: unknown) => void;
}

/**
 * Accounting-Request. RFC 2866 §4.1: answer only once the record is safely kept; when it
 * cannot be kept, stay silent so that the NAS sends it again. Requests are gathered for a
 * few milliseconds and worked on together: one SQLite commit for all of them, instead of
 * one per datagram when they trickle in (bench:radius: each commit also makes every RADIUS
 * reader catch up with the change log). On a store that reads and writes synchronously
 * (SQLite), everything up to the commit happens in the batch's turn, and one promise waits
 * for the commit (a chain of keyv promises per packet had cost more than the rest of the answer).
 */
export class AccountingHandler implements RadiusHandler {
  private readonly waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: AccountingHandlerOptions,
    private readonly ctx: HandlerContext,
  ) {}

  handle(r: RadiusRequest, attributes: Record<string, unknown>): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.push({ r, attributes, done: resolve, failed: reject });
      this.timer ??= setTimeout(() => this.workBatch(), this.o.batchMs);
    });
  }

  /** Accounting still gathered is not answered: its routers send it again. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
  }

  private workBatch(): void {
    this.timer = undefined;
    for (const w of this.waiting.splice(0)) {
      try {
        w.done(this.record(w.r, w.attributes));
      } catch (err) {
        w.failed(err);
      }
    }
  }

  private record(r: RadiusRequest, attributes: Record<string, unknown>): Maybe<Answer> {
    const { nas } = r;
    const update = accountingUpdate(attributes, nas.name, this.o.clock.now());
    if (update.kind === 'ignore') return { bytes: respond(r, Code.AccountingResponse), outcome: 'ignored' };
    if (update.kind === 'unusable') {
      this.ctx.drop(r, 'unusable_accounting', { problem: update.problem });
      return undefined;
    }
    const notKept = (err: unknown) => this.notKept(nas, err);
    return andThen(
      () => withStoreDeadline(this.o.accounting.get(nas.name, update.sessionId), this.o.storeDeadlineMs),
      (previous) =>
        andThen(
          () => withStoreDeadline(this.o.sessions.live(update.mac), this.o.storeDeadlineMs),
          (session) => {
            const record = update.build(previous, session?.user);
            return andThen(
              () => withStoreDeadline(this.o.accounting.save(record), this.o.storeDeadlineMs),
              () => this.kept(r, record),
              notKept,
            );
          },
          notKept,
        ),
      notKept,
    );
  }

  /** A record is kept: say so (debug), audit Start and Stop, and answer. */
  private kept(r: RadiusRequest, record: AccountingRecord): Answer {
    if (this.o.log.isLevelEnabled('debug')) {
      this.o.log.debug(
        { event: `accounting.${record.status}`, nas: r.nas.name, mac: record.mac, user: record.user, ip: record.ip, sessionId: record.sessionId, inputOctets: record.inputOctets, outputOctets: record.outputOctets },
        'accounting recorded',
      );
    }
    const event = accountingAuditEvent(record);
    if (event) this.o.audit?.record(event);
    return { bytes: respond(r, Code.AccountingResponse), outcome: record.status };
  }

  /** A record could not be kept: logged and counted, and no answer, so that the NAS retries. */
  private notKept(nas: NasClient, err: unknown): Answer {
    this.o.log.error({ err, event: 'accounting.store_failed', nas: nas.name }, 'accounting not recorded; no answer so the NAS retries');
    this.o.metrics.radiusStoreErrors.inc({ kind: 'accounting' });
    this.o.metrics.radiusDrops.inc({ nas: nas.name, reason: 'store_error' });
    return undefined;
  }
}
