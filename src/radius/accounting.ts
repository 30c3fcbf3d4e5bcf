import type { AccountingRecord } from '../accounting/accounting-store.js';
import { parseMac, type Mac } from '../mac.js';
import { single } from './policy.js';

/** RFC 2866 §5.1 Acct-Status-Type values we act on; others (Accounting-On/Off) are answered and not recorded. */
const STATUS: Readonly<Record<string, AccountingRecord['status']>> = { Start: 'start', 'Interim-Update': 'interim', Stop: 'stop' };

export type AccountingUpdate =
  | {
      kind: 'record';
      status: AccountingRecord['status'];
      sessionId: string;
      mac: Mac;
      build: (previous: AccountingRecord | undefined, sessionUser: string | undefined) => AccountingRecord;
    }
  | { kind: 'ignore'; statusType: string }
  | { kind: 'unusable'; problem: string };

function num(value: unknown): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Octets with their RFC 2869 §5.1/5.2 Gigawords (the upper 32 bits). */
function octets(attributes: Record<string, unknown>, which: 'Input' | 'Output'): number {
  return (num(attributes[`Acct-${which}-Gigawords`]) ?? 0) * 2 ** 32 + (num(attributes[`Acct-${which}-Octets`]) ?? 0);
}

/**
 * Turns an Accounting-Request's attributes into an update of our record (pure).
 * `build` merges it with the previous record; `sessionUser` is the owner of the
 * device's live session, if any (with MAC authentication the User-Name is the MAC).
 */
export function accountingUpdate(attributes: Record<string, unknown>, nas: string, now: Date): AccountingUpdate {
  const statusType = single(attributes['Acct-Status-Type']) ?? String(num(attributes['Acct-Status-Type']) ?? '');
  const status = STATUS[statusType];
  if (!status) return { kind: 'ignore', statusType: statusType || '(none)' };
  const sessionId = single(attributes['Acct-Session-Id']);
  if (!sessionId) return { kind: 'unusable', problem: 'Acct-Session-Id is missing (RFC 2866 §5.5: it is required)' };
  const station = single(attributes['Calling-Station-Id']);
  const mac = parseMac(station) ?? parseMac(single(attributes['User-Name']));
  if (!mac) return { kind: 'unusable', problem: 'no device MAC in Calling-Station-Id or User-Name' };
  const ip = single(attributes['Framed-IP-Address']);
  const nasIp = single(attributes['NAS-IP-Address']);
  const named = single(attributes['User-Name']);
  const namedUser = named !== undefined && parseMac(named) === null ? named : undefined;
  const sessionTime = num(attributes['Acct-Session-Time']);
  const cause = single(attributes['Acct-Terminate-Cause']);
  const at = now.toISOString();
  return {
    kind: 'record',
    status,
    sessionId,
    mac,
    build: (previous, sessionUser) => ({
      sessionId,
      mac,
      nas,
      status,
      inputOctets: octets(attributes, 'Input'),
      outputOctets: octets(attributes, 'Output'),
      startedAt: previous?.startedAt ?? at,
      updatedAt: at,
      ...((namedUser ?? sessionUser ?? previous?.user) ? { user: (namedUser ?? sessionUser ?? previous?.user) as string } : {}),
      ...(ip ? { ip } : previous?.ip ? { ip: previous.ip } : {}),
      ...(nasIp ? { nasIp } : previous?.nasIp ? { nasIp: previous.nasIp } : {}),
      ...(sessionTime !== undefined ? { sessionTimeSeconds: sessionTime } : {}),
      ...(status === 'stop' ? { stoppedAt: at, ...(cause ? { terminateCause: cause } : {}) } : {}),
    }),
  };
}
