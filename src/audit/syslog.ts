/**
 * Forwards every audit record to a SIEM as RFC 5424 syslog, over UDP (RFC 5426),
 * TCP (octet counting, RFC 6587 §3.4.1) or TLS (RFC 5425).
 *
 * The local files are the record; forwarding is a copy that must never hold them
 * up: `forward` only queues (bounded: past queue_limit the oldest are dropped and
 * counted, they remain in the files), and a connection that fails is retried with
 * a doubling wait (up to 30 s). A message leaves the queue when the socket has
 * taken it; what was in the kernel's buffer when a connection broke may be lost,
 * which the SIEM sees as a gap in `seq` (re-export with `audit query --from`).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AuditConfig } from '../config/load.js';
import type { Logger } from '../logger.js';

type SyslogSettings = NonNullable<AuditConfig['syslog']>;

const MAX_RETRY_MS = 30_000;
/** RFC 5426 §3.2: IPv4 UDP can carry 65,507 octets; larger records are sent over UDP cut (they stay whole in the files). */
const UDP_MAX = 65_000;
const APP_NAME = 'enrollgate';

/** RFC 5424 §6.2.1 severities: informational for successes and facts, warning for refusals and failures. */
const SEVERITY = { info: 6, success: 6, failure: 4 } as const;

/** RFC 5424 §6.4: MSG-UTF8 = BOM UTF-8-STRING, the BOM being %xEF.BB.BF. */
const BOM = '\ufeff';

/** The RFC 5424 message of one audit line: MSGID is the event type, MSG the record's JSON. */
export function syslogMessage(line: string, at: Date, o: { facility: number; host: string; pid: number }): string {
  const { type, outcome } = JSON.parse(line) as { type: string; outcome: keyof typeof SEVERITY };
  const pri = o.facility * 8 + (SEVERITY[outcome] ?? 6);
  // RFC 5424 §6: HOSTNAME, APP-NAME, PROCID and MSGID are printable US-ASCII without spaces.
  const field = (v: string, max: number) => v.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
  // RFC 5424 §6.4: a MSG in UTF-8 starts with the BOM, so that the receiver knows it is UTF-8
  // (a user named Jürgen). An all-ASCII record is the same octets either way and goes as
  // before (MSG-ANY), so that existing parsers of ASCII records see no change.
  const msg = /[^\x00-\x7f]/.test(line) ? `${BOM}${line}` : line;
  return `<${pri}>1 ${at.toISOString()} ${field(o.host, 255)} ${APP_NAME} ${o.pid} ${field(type, 32)} - ${msg}`;
}

export class SyslogForwarder {
  private queue: string[] = [];
  private socket: Socket | UdpSocket | undefined;
  private connecting = false;
  private sending = false;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ca: Buffer | undefined;
  private readonly host = hostname();
  /** Records dropped because the queue was full (they are in the local files). */
  dropped = 0;
  /** Records handed to the relay's socket. */
  sent = 0;

  constructor(
    private readonly s: SyslogSettings,
    private readonly log: Logger,
    private readonly firstRetryMs = 1000,
  ) {
    this.retryMs = firstRetryMs;
    this.ca = s.ca_file ? readFileSync(s.ca_file) : undefined;
  }

  /** The AuditLog's forwarder: queues the line and returns at once. */
  readonly forward = (line: string, at: Date): void => {
    if (this.closed) return;
    if (this.queue.length >= this.s.queue_limit) {
      this.queue.shift();
      if (this.dropped++ % 10_000 === 0) this.log.warn({ event: 'audit.syslog_dropped', dropped: this.dropped }, 'syslog relay unreachable and its queue is full; oldest records not forwarded (they are in the local files)');
    }
    this.queue.push(syslogMessage(line, at, { facility: this.s.facility, host: this.host, pid: process.pid }));
    this.pump();
  };

  /** Stops forwarding: sends what it can within `graceMs`, then closes the socket. */
  async close(graceMs = 2000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.queue.length > 0 && this.socket && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.socket && 'destroy' in this.socket) this.socket.destroy();
    else (this.socket as UdpSocket | undefined)?.close();
    this.socket = undefined;
  }

  private get port(): number {
    return this.s.port ?? (this.s.transport === 'tls' ? 6514 : 514);
  }

  private pump(): void {
    if (this.closed || this.sending || this.queue.length === 0) return;
    if (!this.socket) return this.connect();
    this.sending = true;
    const message = this.queue[0]!;
    const done = (err?: Error | null) => {
      this.sending = false;
      if (err) return this.failed(err);
      this.queue.shift();
      this.sent++;
      this.retryMs = this.firstRetryMs;
      this.pump();
    };
    if (this.s.transport === 'udp') {
      const bytes = Buffer.from(message).subarray(0, UDP_MAX);
      (this.socket as UdpSocket).send(bytes, this.port, this.s.host, (err) => done(err));
    } else {
      // RFC 6587 §3.4.1 / RFC 5425 §4.3: MSG-LEN SP SYSLOG-MSG.
      const bytes = Buffer.from(message);
      (this.socket as Socket).write(`${bytes.length} ${message}`, (err) => done(err));
    }
  }

  private connect(): void {
    if (this.connecting || this.retryTimer || this.closed) return;
    this.connecting = true;
    if (this.s.transport === 'udp') {
      const socket = createSocket(this.s.host.includes(':') ? 'udp6' : 'udp4');
      socket.on('error', (err) => this.failed(err));
      this.ready(socket);
      return;
    }
    const socket =
      this.s.transport === 'tls'
        ? tlsConnect({ host: this.s.host, port: this.port, ...(isIP(this.s.host) ? {} : { servername: this.s.host }), ...(this.ca ? { ca: this.ca } : {}) })
        : tcpConnect({ host: this.s.host, port: this.port });
    socket.setKeepAlive(true);
    socket.once(this.s.transport === 'tls' ? 'secureConnect' : 'connect', () => this.ready(socket));
    socket.on('error', (err) => this.failed(err));
    socket.on('close', () => {
      if (this.socket === socket) this.failed(new Error('connection closed by the relay'));
    });
  }

  private ready(socket: Socket | UdpSocket): void {
    this.connecting = false;
    this.socket = socket;
    this.log.info({ event: 'audit.syslog_connected', host: this.s.host, port: this.port, transport: this.s.transport }, 'forwarding the audit trail to syslog');
    this.pump();
  }

  private failed(err: Error): void {
    const socket = this.socket;
    this.socket = undefined;
    this.connecting = false;
    this.sending = false;
    if (socket && 'destroy' in socket) socket.destroy();
    if (this.closed || this.retryTimer) return;
    this.log.warn({ err, event: 'audit.syslog_failed', host: this.s.host, port: this.port, retryMs: this.retryMs, queued: this.queue.length }, 'syslog forwarding failed; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
