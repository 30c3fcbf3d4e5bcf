import type { AccountingRecord } from '../accounting/accounting-store.js';
import type { AuditEvent } from '../audit/events.js';
import type { NasClient } from './clients.js';
import { attributeSummary } from './attribute-summary.js';
import { Code } from './packet.js';
import type { AccessDecision } from './policy.js';

/**
 * What the audit trail records of RADIUS (pure): every accept and reject, and each
 * accounting Start and Stop (interim updates are not recorded).
 */

/** radius.accepted or radius.rejected for an access decision. */
export function accessAuditEvent(nas: NasClient, d: AccessDecision): AuditEvent {
  // Object literals without spreads (one allocation each): this runs at every answer.
  // Members left undefined are left out of the record (JSON.stringify).
  // An accept without a session (registration VLAN, redirect, role) says which in its reason.
  // A reject carries no attributes (policy.ts), so it has no summary.
  return d.code === Code.AccessAccept
    ? { type: 'radius.accepted', nas: nas.name, mac: d.mac || undefined, user: d.user || undefined, reason: d.reason, attributes: attributeSummary(d.attributes) }
    : { type: 'radius.rejected', nas: nas.name, mac: d.mac || undefined, reason: d.reason };
}

/** accounting.started or accounting.stopped for a kept record; nothing for an interim update. */
export function accountingAuditEvent(r: AccountingRecord): AuditEvent | undefined {
  if (r.status === 'interim') return undefined;
  const common = { nas: r.nas, mac: r.mac, ...(r.user ? { user: r.user } : {}), ...(r.ip ? { ip: r.ip } : {}), session_id: r.sessionId };
  if (r.status === 'start') return { type: 'accounting.started', ...common };
  return {
    type: 'accounting.stopped',
    ...common,
    input_octets: r.inputOctets,
    output_octets: r.outputOctets,
    ...(r.sessionTimeSeconds !== undefined ? { duration_s: r.sessionTimeSeconds } : {}),
    ...(r.terminateCause ? { terminate_cause: r.terminateCause } : {}),
  };
}
