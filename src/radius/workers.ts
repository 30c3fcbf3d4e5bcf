import cluster, { type Worker } from 'node:cluster';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry } from 'prom-client';
import { BULK_FLUSH_MS, BULK_MAX_RECORDS, isBulk } from '../audit/audit-log.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent, AuditTrail } from '../audit/events.js';
import { eventMembers } from '../audit/record.js';
import type { Config, NasClientConfig } from '../config/load.js';
import type { EapFiles } from '../wiring.js';
import type { Mac } from '../mac.js';
import { ConfigError, StartError } from '../errors.js';
import type { Logger } from '../logger.js';
import { RecentAccessRequests } from './recent-access-requests.js';
import { RECENT_DROPS, type DroppedPacket, type RecentDrops } from './recent-drops.js';
import type { Port } from './request.js';
import { newHandoffKey } from './eap-handoff.js';

/**
 * RADIUS on several cores: worker processes (node:cluster). `count` workers share the
 * authentication socket, the kernel handing each datagram to one of them, and one
 * more worker serves the accounting port alone. Authentication only reads the store;
 * accounting writes it, and with several SQLite writers each waited for the others'
 * write lock with its event loop blocked (bench:radius: authentication −45 % with
 * accounting alongside, against −27 % in one process). Each worker has its own SQLite
 * connection to the same WAL file, so what the portal writes is what every worker
 * reads. What differs from one process:
 * - the RFC 5080 duplicate cache is per worker: a retransmission read by another
 *   worker than the original is decided again (the same answer, unless the state
 *   changed in between);
 * - the "last router that asked" hint for CoA is forwarded to the main process
 *   when it changes (IPC), where the NasNotifier reads it;
 * - metrics are gathered from the workers when /metrics is scraped;
 * - audit events are sent to the main process, which owns the audit trail's one
 *   hash chain: as the text of their records (eventMembers), in batches (ToMainProcess),
 *   stamped when the main process gets them;
 * - the last drops (recent-drops.ts) are kept by each worker and sent to the main
 *   process's ring at most once a second, the last RECENT_DROPS of that second;
 * - an EAP request that reaches a worker other than its conversation's goes to that
 *   worker directly (eap-handoff.ts), the main process only telling each where the
 *   others listen.
 * A worker never reads the config file: the main process hands it the config it runs
 * (eg:config, over the IPC channel: secrets stay out of files and the environment), with
 * what reloads applied since. A worker restarted after a crash therefore runs what its
 * siblings run, whatever the file on disk says now (a broken file, or an edit not reloaded).
 */

/** Messages between the main process and RADIUS workers. */
export type WorkerMessage =
  /** A forked worker listens for its config: the main process answers eg:config. */
  | { type: 'eg:started' }
  /** The config the gateway runs (start's, with what reloads applied), and the LDAP CA it read at start. */
  | { type: 'eg:config'; config: Config; ldapCa?: Uint8Array; eapFiles?: { cert: Uint8Array; key: Uint8Array; caPem: Uint8Array; caKey?: Uint8Array } }
  /** `handoffPort`: an authentication worker's loopback socket for EAP hand-offs (eap-handoff.ts), with eap.enabled. */
  | { type: 'eg:ready'; port: Port; number: number; handoffPort?: number }
  | { type: 'eg:failed'; message: string }
  | { type: 'eg:access'; seen: Array<[mac: string, nas: string, atMs: number, station?: string]> }
  /** `records`: eventMembers texts joined by newlines (JSON escapes any newline inside); `urgent`: holds an event that is not RADIUS or accounting. */
  | { type: 'eg:audit'; records: string; urgent: boolean }
  /** Packets the worker dropped since its last eg:drops (at most its ring's size), for the console. */
  | { type: 'eg:drops'; drops: DroppedPacket[] }
  /** To every authentication worker: the hand-off key and each worker's hand-off port by owner number (its cluster id's low octet). */
  | { type: 'eg:routes'; key: Uint8Array; routes: Array<[owner: number, port: number]> }
  /** A reloaded config's RADIUS settings (RadiusReload), to a worker; it answers eg:reloaded with the same number. */
  | ({ type: 'eg:reload'; number: number } & RadiusReload)
  | { type: 'eg:reloaded'; number: number };

/** What a reload changes in a RADIUS worker: the NAS table (radius.clients, with the secrets read) and the log level. */
export interface RadiusReload {
  readonly clients: readonly NasClientConfig[];
  readonly logLevel: string;
}

/**
 * How long a worker may take from fork to listening: loading the code (from the sources
 * under tsx, compiling them) is most of it, a second on an idle machine; on a slow or
 * busy one (tests beside other suites) 15 s was seen not to be enough.
 */
const READY_TIMEOUT_MS = 60_000;
/** How long a worker may take to confirm a reload: it swaps a table, so anything longer is a worker that is stuck. */
const RELOAD_TIMEOUT_MS = 5_000;
/** A worker that dies is restarted, but not in a tight loop. */
const RESTART_DELAY_MS = 1000;

/** Tells a forked worker which port it serves. */
const PORT_ENV = 'ENROLLGATE_RADIUS_WORKER_PORT';

/** In a worker: the port the main process gave it. */
export function workerPort(): Port {
  return process.env[PORT_ENV] === 'acct' ? 'acct' : 'auth';
}

/** OpenSSL settings for the workers' TLS (one TLS 1.3 session ticket: the file says why). */
const OPENSSL_SETTINGS = fileURLToPath(new URL('../../deploy/openssl.cnf', import.meta.url));

/**
 * The Node options a worker starts with: the gateway's own, plus deploy/openssl.cnf unless
 * an OpenSSL configuration was already chosen for the gateway (--openssl-config, in its
 * options or NODE_OPTIONS, or OPENSSL_CONF), which the workers then inherit instead. Node
 * reads OpenSSL's configuration once, at start: a fork is the one place it can be given.
 */
export function workerExecArgv(execArgv: readonly string[], env: NodeJS.ProcessEnv, settings = OPENSSL_SETTINGS): string[] {
  const chosen = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--openssl-config') || a === '--openssl-shared-config') || Boolean(env.OPENSSL_CONF);
  return chosen || !existsSync(settings) ? [...execArgv] : [...execArgv, `--openssl-config=${settings}`];
}

/** The worker entry: dist/radius-worker.js, or the .ts source when run through tsx (forks inherit its loader). */
export function workerEntry(): string {
  return fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../radius-worker.ts' : '../radius-worker.js', import.meta.url));
}

/**
 * Sends `message` to a worker. A worker killed together with others (SIGKILL, the OOM
 * killer) has a closed channel before the main process sees it exit: the send fails
 * (EPIPE, or ERR_IPC_CHANNEL_CLOSED), and without a callback Node raises that as an
 * 'error' event, which ended the whole gateway. Its 'exit' restarts it, with the config
 * as it runs then, so the failure is logged and `failed` called, nothing more.
 */
export function tell(worker: Pick<Worker, 'send' | 'process'>, message: WorkerMessage, log: Pick<Logger, 'debug'>, failed?: () => void): void {
  worker.send(message, (err) => {
    if (!err) return;
    log.debug({ err, event: 'radius.worker_unreachable', pid: worker.process.pid, message: message.type }, 'RADIUS worker did not take a message (it is exiting)');
    failed?.();
  });
}

export class RadiusWorkers {
  private readonly workers = new Set<Worker>();
  /** The workers that listen (they take a reload); one that starts later is given the last reload when it is ready. */
  private readonly ready = new Set<Worker>();
  /** The last reload, for a worker that took its config before it and listens after it (given it when ready). */
  private reloaded: Extract<WorkerMessage, { type: 'eg:reload' }> | undefined;
  private stopping = false;
  private readonly aggregator = new AggregatorRegistry();
  /** Signs the EAP hand-offs between workers (eap-handoff.ts): drawn once per start, known to the workers only. */
  private readonly handoffKey = newHandoffKey();
  /** Each listening authentication worker's hand-off port. */
  private readonly handoffPorts = new Map<Worker, number>();

  constructor(
    private readonly o: {
      count: number;
      /** The config as it runs now, what each worker is forked with: start's, with what reloads applied. */
      config: () => Config;
      /** directory.ldap.ca_file as read at start (the directory needs a restart to change). */
      ldapCa?: Buffer;
      /** With eap.enabled: the EAP server's files as read at start (they need a restart to change too). */
      eapFiles?: EapFiles;
      accessRequests: RecentAccessRequests;
      audit: Pick<AuditLog, 'recordMembers'>;
      /** The main process's ring, where the workers' drops go. */
      drops?: Pick<RecentDrops, 'add'>;
      log: Logger;
    },
  ) {}

  /** Forks the workers (`count` for authentication, one for accounting) and resolves once every one of them listens. */
  async start(): Promise<{ authPort: number; acctPort: number }> {
    const entry = workerEntry();
    if (!existsSync(entry)) {
      throw new ConfigError(`radius.workers: ${this.o.count} needs the built gateway (${entry} is missing: run npm run build)`);
    }
    // V8's serializer copies the workers' audit text as it is; JSON would escape every
    // quote in it on the way out and scan it again on the way in (3x the CPU per record).
    cluster.setupPrimary({ exec: entry, args: [], serialization: 'advanced', execArgv: workerExecArgv(process.execArgv, process.env) });
    const [acctPort, ...authPorts] = await Promise.all([this.fork('acct'), ...Array.from({ length: this.o.count }, () => this.fork('auth'))]);
    return { authPort: authPorts[0]!, acctPort: acctPort! };
  }

  private fork(port: Port): Promise<number> {
    const worker = cluster.fork({ [PORT_ENV]: port });
    this.workers.add(worker);
    worker.on('message', (m: WorkerMessage) => {
      if (m?.type === 'eg:started') {
        tell(worker, { type: 'eg:config', config: this.o.config(), ...(this.o.ldapCa ? { ldapCa: this.o.ldapCa } : {}), ...(this.o.eapFiles ? { eapFiles: this.o.eapFiles } : {}) }, this.o.log);
      }
      else if (m?.type === 'eg:access') for (const [mac, nas, atMs, station] of m.seen) this.o.accessRequests.note(mac as Mac, nas, new Date(atMs), station as Mac | undefined);
      else if (m?.type === 'eg:audit') this.o.audit.recordMembers(m.records.split('\n'), !m.urgent);
      else if (m?.type === 'eg:drops') for (const d of m.drops) this.o.drops?.add(d);
    });
    // A send that tell() did not make (none should be left) must not end the gateway either.
    worker.on('error', (err) => this.o.log.warn({ err, event: 'radius.worker_channel_error', pid: worker.process.pid }, 'RADIUS worker channel error'));
    worker.on('exit', (code, signal) => {
      this.workers.delete(worker);
      this.ready.delete(worker);
      if (this.handoffPorts.delete(worker)) this.sendRoutes();
      if (this.stopping) return;
      this.o.log.error({ event: 'radius.worker_exited', pid: worker.process.pid, code, signal }, 'RADIUS worker exited; restarting it');
      setTimeout(() => {
        if (!this.stopping) this.fork(port).catch((err: unknown) => this.o.log.error({ err, event: 'radius.worker_restart_failed' }, 'RADIUS worker did not restart'));
      }, RESTART_DELAY_MS).unref();
    });
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new StartError(`RADIUS worker ${worker.process.pid} did not start within ${READY_TIMEOUT_MS / 1000} s (is the machine overloaded? its log lines, if any, are above)`)),
        READY_TIMEOUT_MS,
      );
      const onMessage = (m: WorkerMessage) => {
        if (m?.type === 'eg:ready') {
          clearTimeout(timer);
          worker.off('message', onMessage);
          this.ready.add(worker);
          if (this.reloaded) tell(worker, this.reloaded, this.o.log);
          if (m.handoffPort !== undefined) {
            this.handoffPorts.set(worker, m.handoffPort);
            this.sendRoutes();
          }
          resolve(m.number);
        } else if (m?.type === 'eg:failed') {
          clearTimeout(timer);
          worker.off('message', onMessage);
          reject(new ConfigError(m.message));
        }
      };
      worker.on('message', onMessage);
    });
  }

  /**
   * Tells every authentication worker where the others take their EAP hand-offs: when one
   * starts listening and when one exits. A conversation whose owner has exited is gone:
   * its next request is answered by the worker it reaches, with a Reject (unknown State),
   * and the device starts again.
   */
  private sendRoutes(): void {
    const routes = [...this.handoffPorts].map(([w, port]): [number, number] => [w.id & 0xff, port]);
    const message: WorkerMessage = { type: 'eg:routes', key: this.handoffKey, routes };
    for (const w of this.handoffPorts.keys()) tell(w, message, this.o.log);
  }

  /**
   * Gives every listening worker a reloaded config's RADIUS settings; resolves once each
   * has confirmed (a worker that exits meanwhile is restarted with them), or rejects naming
   * a worker that did not confirm within RELOAD_TIMEOUT_MS. Workers go on answering
   * throughout: the settings are swapped between two packets.
   */
  async reload(settings: RadiusReload): Promise<void> {
    const message = { type: 'eg:reload' as const, number: (this.reloaded?.number ?? 0) + 1, clients: settings.clients, logLevel: settings.logLevel };
    this.reloaded = message;
    await Promise.all([...this.ready].map((w) => this.confirmed(w, message)));
  }

  private confirmed(worker: Worker, message: Extract<WorkerMessage, { type: 'eg:reload' }>): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', done);
        resolve();
      };
      const onMessage = (m: WorkerMessage) => {
        if (m?.type === 'eg:reloaded' && m.number === message.number) done();
      };
      const timer = setTimeout(() => {
        worker.off('message', onMessage);
        worker.off('exit', done);
        reject(new Error(`RADIUS worker ${worker.process.pid} did not confirm the reload within ${RELOAD_TIMEOUT_MS / 1000} s`));
      }, RELOAD_TIMEOUT_MS);
      worker.on('message', onMessage);
      worker.once('exit', done);
      // A worker that cannot be told is dying: its exit restarts it with this reload (this.reloaded).
      tell(worker, message, this.o.log, done);
    });
  }

  /** The workers' metrics (RADIUS counters and latency), summed across workers, as Prometheus text. */
  metricsText(): Promise<string> {
    return this.aggregator.clusterMetrics();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.kill('SIGTERM');
          }),
      ),
    );
  }
}

/**
 * In a worker: what goes to the main process, in one IPC message per batch: every
 * BULK_FLUSH_MS (as the main process writes RADIUS records anyway), at
 * BULK_MAX_RECORDS, or at the next turn for an item that should not wait. One message
 * per item, or per turn, cost a worker 7-9 % of its CPU in pipe writes at 7,000
 * answers a second (bench:radius profile). With `keepLast`, only the last that many
 * items of a batch go (older ones are forgotten, never sent early), every `flushMs`.
 */
class ToMainProcess<T> {
  private items: T[] = [];
  /** An item added since the last send should not wait. */
  private urgent = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(
    private readonly message: (items: T[], urgent: boolean) => WorkerMessage,
    private readonly bound: { keepLast?: number; flushMs?: number } = {},
  ) {}

  add(item: T, soon = false): void {
    this.items.push(item);
    if (soon) this.urgent = true;
    if (this.bound.keepLast !== undefined && this.items.length > this.bound.keepLast) this.items.shift();
    if (this.items.length >= BULK_MAX_RECORDS) this.send();
    else if (soon) this.immediate ??= setImmediate(() => this.send());
    else this.timer ??= setTimeout(() => this.send(), this.bound.flushMs ?? BULK_FLUSH_MS);
  }

  /** Sends what is waiting now; resolves once it is handed to the channel (before the worker exits). */
  flush(): Promise<void> {
    return new Promise((resolve) => this.send(resolve));
  }

  private send(done?: () => void): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const items = this.items;
    const urgent = this.urgent;
    this.items = [];
    this.urgent = false;
    // Without a main process (bench:radius-cpu runs a worker's server in its own process), nothing keeps them.
    if (items.length === 0 || !process.send) {
      done?.();
      return;
    }
    process.send(this.message(items, urgent), undefined, undefined, () => done?.());
  }
}

/**
 * In a worker: the hint map that also tells the main process when a device is seen
 * on a different router (or first seen), so IPC carries changes, not every request
 * (unknown devices are each a change).
 */
export class ForwardingAccessRequests extends RecentAccessRequests {
  private readonly toMain = new ToMainProcess<[string, string, number, string?]>((seen) => ({ type: 'eg:access', seen }));

  override note(mac: Mac, nas: string, at: Date, station?: Mac): number | undefined {
    const before = super.note(mac, nas, at, station);
    if (before === undefined || at.getTime() - before > 60_000) this.toMain.add(station ? [mac, nas, at.getTime(), station] : [mac, nas, at.getTime()]);
    return before;
  }

  flush(): Promise<void> {
    return this.toMain.flush();
  }
}

/**
 * A RADIUS worker's audit trail: each event goes as the text of its record
 * (eventMembers), RADIUS answers and accounting in batches, anything else at the next turn.
 */
export class ForwardingAudit implements AuditTrail {
  private readonly toMain = new ToMainProcess<string>((records, urgent) => ({ type: 'eg:audit', records: records.join('\n'), urgent }));

  record(event: AuditEvent): void {
    this.toMain.add(eventMembers(event), !isBulk(event));
  }

  flush(): Promise<void> {
    return this.toMain.flush();
  }
}

/** How often a worker sends its new drops: the console is read by people, a second late is soon enough. */
const DROPS_FLUSH_MS = 1000;

/**
 * In a worker: where the server's drops go. They are kept in the main process's ring
 * only (the console reads that one), sent in one message a second at most, and none when
 * nothing was dropped: a flood of garbage costs one message a second of at most
 * RECENT_DROPS entries.
 */
export class ForwardingDrops implements Pick<RecentDrops, 'add'> {
  private readonly toMain = new ToMainProcess<DroppedPacket>((drops) => ({ type: 'eg:drops', drops }), { keepLast: RECENT_DROPS, flushMs: DROPS_FLUSH_MS });

  add(drop: DroppedPacket): void {
    this.toMain.add(drop);
  }

  flush(): Promise<void> {
    return this.toMain.flush();
  }
}
