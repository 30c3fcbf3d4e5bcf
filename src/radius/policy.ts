import { parseMac, type Mac } from '../devices/mac.js';
import { secondsUntil } from '../sessions/daily-cutoff.js';
import type { Session } from '../sessions/session.js';
import type { NasClient } from './clients.js';
import { Code } from './packet.js';
import type { AttributeTuple } from './radius-lib.js';

/** What to answer an Access-Request, and why (for logs and metrics). */
export interface AccessDecision {
  readonly code: typeof Code.AccessAccept | typeof Code.AccessReject;
  readonly attributes: readonly AttributeTuple[];
  readonly outcome: 'accept' | 'reject' | 'registration_vlan';
  readonly reason: string;
  readonly mac?: Mac;
  readonly user?: string;
}

/** The device a MAC-authentication request is about, or why there is none. */
export function requestedMac(attributes: Record<string, unknown>): { mac: Mac } | { problem: string } {
  const userName = single(attributes['User-Name']);
  const station = single(attributes['Calling-Station-Id']);
  const fromUser = parseMac(userName);
  const fromStation = parseMac(station);
  if (fromUser && fromStation && fromUser !== fromStation) return { problem: 'User-Name and Calling-Station-Id name different devices' };
  const mac = fromUser ?? fromStation;
  if (mac) return { mac };
  if (userName === undefined && station === undefined) return { problem: 'neither User-Name nor Calling-Station-Id is present' };
  return { problem: 'neither User-Name nor Calling-Station-Id is a device MAC address' };
}

/**
 * MAC authentication (the router asking "may this device be online?"). Pure: the
 * caller looks the session up and passes it in.
 * - A live session: Access-Accept, Session-Timeout = whole seconds left (RFC 2865 §5.27).
 * - None: what the NAS is configured for: Access-Reject (the router falls back to its
 *   portal) or Access-Accept into the registration VLAN (RFC 3580 §3.31 tunnel attributes).
 */
export function decideAccess(mac: Mac, session: Session | undefined, nas: NasClient, now: Date): AccessDecision {
  const seconds = session ? secondsUntil(new Date(session.endsAt), now) : 0;
  if (session && seconds > 0) {
    return {
      code: Code.AccessAccept,
      attributes: [['Session-Timeout', seconds]],
      outcome: 'accept',
      reason: 'live session',
      mac,
      user: session.user,
    };
  }
  if (nas.noSession.answer === 'vlan' && nas.noSession.vlan !== undefined) {
    return {
      code: Code.AccessAccept,
      attributes: [
        ['Tunnel-Type', 0, 'VLAN'],
        ['Tunnel-Medium-Type', 0, 'IEEE-802'],
        ['Tunnel-Private-Group-Id', 0, nas.noSession.vlan],
      ],
      outcome: 'registration_vlan',
      reason: 'no session: registration VLAN',
      mac,
    };
  }
  return { code: Code.AccessReject, attributes: [], outcome: 'reject', reason: 'no session', mac };
}

/** A refusal for requests that are well-formed RADIUS but not a usable MAC authentication. */
export function rejectRequest(reason: string): AccessDecision {
  return { code: Code.AccessReject, attributes: [], outcome: 'reject', reason };
}

/** The first value of an attribute that may repeat, as a string. */
export function single(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}
