/**
 * What the admin console, the admin API and their tests call: every operation
 * checks the actor's permission on the server (roles.ts) and records what it
 * changed, with the acting admin, in the audit trail. A refusal is audited too.
 */
import type { AccountingStore } from '../accounting/accounting-store.js';
import type { AuditTrail } from '../audit/events.js';
import { auditMatches, exportChunks, queryAudit, readsOnlyReads, type AuditFilter, type AuditMatch } from '../audit/query.js';
import type { Clock } from '../clock.js';
import type { Device } from '../devices/device.js';
import type { BlockEntry, DeviceRegistry } from '../devices/device-registry.js';
import type { EnrollmentService } from '../devices/enrollment-service.js';
import type { Mac } from '../mac.js';
import { GatewayError } from '../errors.js';
import type { CrlReasonCode, RevokedCertificateEntry } from '../pki/revocation-reasons.js';
import type { Session } from '../sessions/session.js';
import type { SessionService } from '../sessions/session-service.js';
import type { DroppedPacket } from '../radius/recent-drops.js';
import { auditFilterFor, DECISION_ROWS, decisionMatches, dropMatches, type DecisionFilter } from './decisions.js';
import type { NasActivity, NasCounts } from './nas-activity.js';
import { may, type Actor, type Permission } from './roles.js';

/** How the platform breakdown names each platform's OS. */
const OS_LABELS: Readonly<Record<string, string>> = { ios: 'iOS', macos: 'macOS', android: 'Android', windows: 'Windows', chromeos: 'ChromeOS', linux: 'Linux' };

/** The actor's role does not allow the operation. */
export class ForbiddenError extends GatewayError {
  readonly code = 'EG_FORBIDDEN';
  readonly status = 403;
  constructor(readonly permission: Permission) {
    super(`Your role does not allow this (${permission}).`);
  }
  override details(): Record<string, unknown> {
    return { permission: this.permission };
  }
}

/** One device as the console and the API list it. */
export interface DeviceView {
  readonly device: Device;
  readonly session?: Session;
  readonly blocked?: BlockEntry;
  /** When accounting last heard of it (ISO 8601). */
  readonly lastSeen?: string;
  readonly nas?: string;
}

export interface Dashboard {
  readonly sessionsNow: number;
  readonly devices: number;
  /** Enrolled devices by platform and major OS version ("iOS 17", "Android 14", "Android ?"). */
  readonly byOs: ReadonlyArray<{ readonly os: string; readonly count: number }>;
  /** The last 24 hours, oldest first: RADIUS accepts and rejects per hour (from the audit trail). */
  readonly hours: ReadonlyArray<{ readonly hour: string; readonly accepts: number; readonly rejects: number }>;
  /** The same 24 hours' rejects by the reason each was given (the audit trail's radius.rejected), most first. */
  readonly rejectReasons: ReadonlyArray<ReasonCount>;
  /** Packets dropped without an answer since the gateway started, by reason and router ("unknown": not in radius.clients), most first (metrics: drops are not audited). */
  readonly dropReasons: ReadonlyArray<ReasonCount & { readonly nas: string }>;
}

export interface ReasonCount {
  readonly reason: string;
  readonly count: number;
}

/** Counts by reason as a list, most first, then by reason. */
function byCount(counts: ReadonlyMap<string, number>): ReasonCount[] {
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export interface NasView {
  readonly name: string;
  readonly address: string;
  readonly profile: string;
  readonly lastAnswer?: string;
  readonly accepts: number;
  readonly rejects: number;
  readonly drops: number;
}

export interface AdminServiceDeps {
  readonly devices: DeviceRegistry;
  readonly enrollment: EnrollmentService;
  readonly sessions: SessionService;
  readonly accounting: AccountingStore;
  /** The configured NAS (radius.clients: the routers of the page text), as the config that runs now has them (a reload changes them). */
  readonly nas: () => ReadonlyArray<{ readonly name: string; readonly address: string; readonly profile: string }>;
  readonly audit: AuditTrail;
  /** The audit trail's directory (searches read its files). */
  readonly auditDir: string;
  /** The gateway's Prometheus text (RADIUS workers' included): the dashboard's drops. */
  readonly metricsText: () => Promise<string>;
  /** The last packets RADIUS dropped, newest first (in memory since the start: drops are not audited). */
  readonly recentDrops: () => readonly DroppedPacket[];
  /** The routers' counts kept across restarts (the Routers page). */
  readonly nasActivity: Pick<NasActivity, 'totals'>;
  readonly clock: Clock;
}

export class AdminService {
  constructor(private readonly d: AdminServiceDeps) {}

  /** Throws ForbiddenError (audited as admin.refused) unless the actor may. */
  authorize(actor: Actor, permission: Permission): void {
    if (may(actor, permission)) return;
    this.d.audit.record({ type: 'admin.refused', admin: actor.name, role: actor.role, action: permission, ...actor.client });
    throw new ForbiddenError(permission);
  }

  async dashboard(actor: Actor): Promise<Dashboard> {
    this.authorize(actor, 'dashboard.view');
    const [sessions, devices] = await Promise.all([this.d.sessions.list(), this.d.devices.list()]);
    const byOs = new Map<string, number>();
    for (const dev of devices) {
      const os = `${OS_LABELS[dev.platform] ?? 'Other'} ${dev.osVersion?.split('.')[0] ?? '?'}`;
      byOs.set(os, (byOs.get(os) ?? 0) + 1);
    }
    const now = this.d.clock.now();
    const firstHour = Math.floor(now.getTime() / 3_600_000) - 23;
    const hours = Array.from({ length: 24 }, (_, i) => ({ hour: new Date((firstHour + i) * 3_600_000).toISOString(), accepts: 0, rejects: 0 }));
    const rejectReasons = new Map<string, number>();
    queryAudit(this.d.auditDir, { type: 'radius.', from: new Date(firstHour * 3_600_000) }, (m) => {
      const slot = hours[Math.floor(Date.parse(m.record.at) / 3_600_000) - firstHour];
      if (!slot) return;
      if (m.record.type === 'radius.accepted') slot.accepts++;
      else {
        slot.rejects++;
        const reason = typeof m.record.reason === 'string' ? m.record.reason : '(none given)';
        rejectReasons.set(reason, (rejectReasons.get(reason) ?? 0) + 1);
      }
    });
    const dropReasons = await this.dropCounts();
    return {
      sessionsNow: sessions.length,
      devices: devices.length,
      byOs: [...byOs].map(([os, count]) => ({ os, count })).sort((a, b) => b.count - a.count || a.os.localeCompare(b.os)),
      hours,
      rejectReasons: byCount(rejectReasons),
      dropReasons,
    };
  }

  /**
   * The last DECISION_WINDOW_HOURS' accepts and rejects matching the filter, newest first, at most
   * DECISION_ROWS (`more` says whether older ones were left out), and the kept drops that match;
   * the read is audited like a search.
   */
  recentDecisions(actor: Actor, filter: DecisionFilter): { matches: AuditMatch[]; more: boolean; drops: DroppedPacket[] } {
    this.authorize(actor, 'audit.view');
    const auditFilter = auditFilterFor(filter, this.d.clock.now());
    // Oldest first from the trail: keep the newest DECISION_ROWS + 1 as they pass.
    const kept: AuditMatch[] = [];
    if (filter.outcome !== 'drop') {
      for (const m of auditMatches(this.d.auditDir, auditFilter)) {
        if (!decisionMatches(m.record, filter)) continue;
        kept.push(m);
        if (kept.length > DECISION_ROWS + 1) kept.shift();
      }
    }
    const more = kept.length > DECISION_ROWS;
    const matches = kept.slice(-DECISION_ROWS).reverse();
    const drops = this.d.recentDrops().filter((d) => dropMatches(d, filter));
    this.d.audit.record({ type: 'audit.queried', by: actor.name, records: matches.length, filter: JSON.stringify({ decisions: filter, from: auditFilter.from }), ...actor.client });
    return { matches, more, drops };
  }

  /** Packets dropped without an answer since the gateway started, by reason and router, most first (metrics: drops are not audited). */
  async dropCounts(): Promise<Array<ReasonCount & { readonly nas: string }>> {
    // With RADIUS workers the text holds each counter once, already summed across them.
    return parseSamples(await this.d.metricsText())
      .filter((s) => s.name === 'enrollgate_radius_drops_total' && s.value > 0)
      .map((s) => ({ reason: s.labels.reason ?? '?', nas: s.labels.nas ?? '?', count: s.value }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason) || a.nas.localeCompare(b.nas));
  }

  /** Enrolled devices, all or those of one person or one MAC, with their session, block and last accounting. */
  async devices(actor: Actor, filter: { user?: string; mac?: Mac } = {}): Promise<DeviceView[]> {
    this.authorize(actor, 'devices.view');
    let list: Device[];
    if (filter.mac) {
      const one = await this.d.devices.get(filter.mac);
      list = one ? [one] : [];
    } else if (filter.user) list = await this.d.devices.listByOwner(filter.user);
    else list = await this.d.devices.list();
    return Promise.all(list.map((device) => this.view(device)));
  }

  /** The block list (blocked MACs need not be enrolled). */
  async blocked(actor: Actor): Promise<BlockEntry[]> {
    this.authorize(actor, 'devices.view');
    return this.d.devices.listBlocked();
  }

  async unenroll(actor: Actor, mac: Mac, reason: string): Promise<boolean> {
    this.authorize(actor, 'devices.unenroll');
    return this.d.enrollment.unenrollAsAdmin(mac, actor.name, reason, actor.client);
  }

  async block(actor: Actor, mac: Mac, reason: string): Promise<BlockEntry> {
    this.authorize(actor, 'devices.block');
    return this.d.enrollment.block(mac, actor.name, reason, actor.client);
  }

  async unblock(actor: Actor, mac: Mac): Promise<boolean> {
    this.authorize(actor, 'devices.unblock');
    return this.d.enrollment.unblock(mac, actor.name, actor.client);
  }

  /** Revokes one EAP-TLS certificate of an enrolled device (the device stays enrolled); undefined when the serial is not one of its certificates. */
  async revokeCertificate(actor: Actor, mac: Mac, serial: string, reason?: CrlReasonCode): Promise<RevokedCertificateEntry | undefined> {
    this.authorize(actor, 'certificates.revoke');
    return this.d.enrollment.revokeCertificate(mac, serial, actor.name, reason, actor.client);
  }

  /** Live sessions, all or one person's. */
  async sessions(actor: Actor, filter: { user?: string } = {}): Promise<Session[]> {
    this.authorize(actor, 'sessions.view');
    const all = await this.d.sessions.list();
    const wanted = filter.user?.toLowerCase();
    return all.filter((s) => wanted === undefined || s.user.toLowerCase() === wanted).sort((a, b) => a.user.localeCompare(b.user) || a.mac.localeCompare(b.mac));
  }

  /** Ends one device's session now (the router is told). */
  async revoke(actor: Actor, mac: Mac, reason: string): Promise<boolean> {
    this.authorize(actor, 'sessions.revoke');
    return this.d.sessions.revoke(mac, reason, actor.name, actor.client);
  }

  /** Ends every session of one person (a lost or stolen device: all of theirs, now); returns the MACs. */
  async revokeAllOf(actor: Actor, user: string, reason: string): Promise<Mac[]> {
    this.authorize(actor, 'sessions.revoke');
    const theirs = await this.sessions(actor, { user });
    const ended: Mac[] = [];
    for (const s of theirs) if (await this.d.sessions.revoke(s.mac, reason, actor.name, actor.client)) ended.push(s.mac);
    return ended;
  }

  /** The configured routers with what RADIUS did for each, over every run of the gateways on this store (nas-activity.ts). */
  async nasClients(actor: Actor): Promise<NasView[]> {
    this.authorize(actor, 'nas.view');
    const totals = await this.d.nasActivity.totals();
    return this.d.nas().map((c) => {
      const t = totals.get(c.name);
      return {
        name: c.name,
        address: c.address,
        profile: c.profile,
        ...(t && t.lastAnswerMs > 0 ? { lastAnswer: new Date(t.lastAnswerMs).toISOString() } : {}),
        accepts: t?.accepts ?? 0,
        rejects: t?.rejects ?? 0,
        drops: t?.drops ?? 0,
      };
    });
  }

  /**
   * Audit records matching the filter, oldest first, at most `limit` (the console pages through
   * them); the read is audited (audit.queried) with how many records were shown, at most `shown`.
   */
  searchAudit(actor: Actor, filter: AuditFilter, shown = Number.POSITIVE_INFINITY): AuditMatch[] {
    this.authorize(actor, 'audit.view');
    const out: AuditMatch[] = [];
    queryAudit(this.d.auditDir, filter, (m) => out.push(m));
    if (!readsOnlyReads(filter)) {
      this.d.audit.record({ type: 'audit.queried', by: actor.name, records: Math.min(out.length, shown), filter: JSON.stringify(filter), ...actor.client });
    }
    return out;
  }

  /** Every matching record as export text, streamed in chunks; the export itself is audited (who took how many of what). */
  exportAudit(actor: Actor, filter: AuditFilter, format: 'jsonl' | 'csv'): Generator<string> {
    this.authorize(actor, 'audit.export');
    return exportChunks(auditMatches(this.d.auditDir, filter), format, (records) =>
      this.d.audit.record({ type: 'audit.exported', by: actor.name, format, records, filter: JSON.stringify(filter), ...actor.client }),
    );
  }

  private async view(device: Device): Promise<DeviceView> {
    const [session, blocked, seen] = await Promise.all([this.d.sessions.live(device.mac), this.d.devices.blocked(device.mac), this.d.accounting.whereabouts(device.mac)]);
    return {
      device,
      ...(session ? { session } : {}),
      ...(blocked ? { blocked } : {}),
      ...(seen ? { lastSeen: seen.updatedAt, nas: seen.nas } : {}),
    };
  }
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of Prometheus text exposition format lines (name{labels} value); comments skipped. */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** What RADIUS counted per router since this gateway started, from its Prometheus text (RADIUS workers' summed in). */
export function nasCountsFromMetrics(text: string): Map<string, NasCounts> {
  const out = new Map<string, { accepts: number; rejects: number; drops: number; lastAnswerMs: number }>();
  const of = (nas: string) => {
    let c = out.get(nas);
    if (!c) out.set(nas, (c = { accepts: 0, rejects: 0, drops: 0, lastAnswerMs: 0 }));
    return c;
  };
  for (const s of parseSamples(text)) {
    const nas = s.labels.nas;
    if (nas === undefined) continue;
    if (s.name === 'enrollgate_radius_last_answer_timestamp_seconds') of(nas).lastAnswerMs = Math.max(of(nas).lastAnswerMs, s.value * 1000);
    else if (s.name === 'enrollgate_radius_drops_total') of(nas).drops += s.value;
    else if (s.name === 'enrollgate_radius_requests_total' && s.labels.type === 'Access-Request') {
      if (s.labels.outcome === 'reject') of(nas).rejects += s.value;
      else of(nas).accepts += s.value;
    }
  }
  return out;
}
