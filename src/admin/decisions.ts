/**
 * The console's "Recent decisions": RADIUS accepts and rejects (MAB radius.*, 802.1X eap.*)
 * as the audit trail recorded them, newest first, within a bounded window, and the last
 * drops, which are not audited but kept in memory (radius/recent-drops.ts). Pure: the
 * search form's fields in, a filter out; an audit record or a drop in, a row out.
 */
import type { AuditRecord } from '../audit/record.js';
import type { AuditFilter } from '../audit/query.js';
import { BadInputError } from '../errors.js';
import { parseMac, type Mac } from '../mac.js';
import type { DroppedPacket } from '../radius/recent-drops.js';

/** How far back the page looks, and how many rows it shows at most (the page says both). */
export const DECISION_WINDOW_HOURS = 24;
export const DECISION_ROWS = 500;

export type DecisionOutcome = 'accept' | 'reject' | 'drop';
const OUTCOMES: readonly DecisionOutcome[] = ['accept', 'reject', 'drop'];

const DECISION_TYPES: Readonly<Record<string, 'accept' | 'reject'>> = {
  'radius.accepted': 'accept',
  'radius.rejected': 'reject',
  'eap.accepted': 'accept',
  'eap.rejected': 'reject',
};

export interface DecisionFilter {
  readonly outcome?: DecisionOutcome;
  readonly nas?: string;
  readonly mac?: Mac;
  /** The reason exactly as recorded (the dashboard links with it). */
  readonly reason?: string;
}

/** The form's fields as typed (echoed back into the form), and the filter they make; a bad MAC or outcome is a 400 naming the field. */
export function decisionFilter(query: Record<string, unknown>): { form: Record<'outcome' | 'nas' | 'mac' | 'reason', string>; filter: DecisionFilter } {
  const text = (k: string) => (typeof query[k] === 'string' ? (query[k] as string).trim().slice(0, 256) : '');
  const form = { outcome: text('outcome'), nas: text('nas'), mac: text('mac'), reason: text('reason') };
  if (form.outcome && !(OUTCOMES as readonly string[]).includes(form.outcome)) throw new BadInputError(`Outcome: "${form.outcome}" is not accept, reject or drop`);
  let mac: Mac | undefined;
  if (form.mac) {
    mac = parseMac(form.mac) ?? undefined;
    if (!mac) throw new BadInputError(`MAC: "${form.mac}" is not a MAC address`);
  }
  return {
    form,
    filter: {
      ...(form.outcome ? { outcome: form.outcome as DecisionOutcome } : {}),
      ...(form.nas ? { nas: form.nas } : {}),
      ...(mac ? { mac } : {}),
      ...(form.reason ? { reason: form.reason } : {}),
    },
  };
}

/** The audit search that finds the candidates (the MAC lets it skip to that device's lines); decisionMatches() narrows them. */
export function auditFilterFor(filter: DecisionFilter, now: Date): AuditFilter {
  return {
    from: new Date(now.getTime() - DECISION_WINDOW_HOURS * 3_600_000),
    ...(filter.mac ? { mac: filter.mac } : {}),
    ...(filter.outcome === 'accept' ? { outcome: 'success' as const } : filter.outcome === 'reject' ? { outcome: 'failure' as const } : {}),
  };
}

/** Whether a record is an accept or reject that the filter asks for (a drop filter matches no record). */
export function decisionMatches(r: AuditRecord, filter: DecisionFilter): boolean {
  const outcome = DECISION_TYPES[r.type];
  if (!outcome) return false;
  if (filter.outcome && filter.outcome !== outcome) return false;
  if (filter.nas && r.nas !== filter.nas) return false;
  if (filter.mac && r.mac !== filter.mac) return false;
  if (filter.reason && r.reason !== filter.reason) return false;
  return true;
}

/** The address of a drop's source "address:port" (an IPv6 address has colons of its own). */
function sourceAddress(from: string): string {
  return from.slice(0, from.lastIndexOf(':'));
}

/** Whether a drop is one the filter asks for: outcome drop or any, never with a MAC (a drop has none); the NAS by name or source address. */
export function dropMatches(d: DroppedPacket, filter: DecisionFilter): boolean {
  if (filter.outcome && filter.outcome !== 'drop') return false;
  if (filter.mac) return false;
  if (filter.nas && d.nas !== filter.nas && sourceAddress(d.from) !== filter.nas) return false;
  if (filter.reason && d.reason !== filter.reason) return false;
  return true;
}

export interface DecisionRow {
  readonly at: string;
  readonly outcome: DecisionOutcome;
  readonly reason: string;
  readonly nas: string;
  readonly mac: string;
  readonly user: string;
  /** mab, or eap/<method> (eap/tls, eap/peap…; eap when the request ended before a method was chosen). */
  readonly method: string;
  /** What an accept carried ("Session-Timeout=3600, …"); empty for rejects, drops and records written before the trail had it. */
  readonly attributes: string;
}

/** One accept or reject as the page shows it; undefined for any other record. */
export function decisionRow(r: AuditRecord): DecisionRow | undefined {
  const outcome = DECISION_TYPES[r.type];
  if (!outcome) return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const method = r.type.startsWith('eap.') ? (str(r.method) ? `eap/${str(r.method)}` : 'eap') : 'mab';
  return {
    at: r.at,
    outcome,
    reason: str(r.reason),
    nas: str(r.nas),
    mac: str(r.mac),
    user: str(r.user),
    method,
    attributes: str(r.attributes),
  };
}

/** A drop as the page shows it: the NAS its address names, else the source address; no MAC, user, method or attributes. */
export function dropRow(d: DroppedPacket): DecisionRow {
  return { at: new Date(d.atMs).toISOString(), outcome: 'drop', reason: d.reason, nas: d.nas ?? d.from, mac: '', user: '', method: '', attributes: '' };
}
