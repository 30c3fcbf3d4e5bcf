import { DateTime } from 'luxon';
import { parseMac, type Mac } from '../mac.js';
import { secondsBetween } from '../sessions/daily-cutoff.js';
import type { Session } from '../sessions/session.js';
import type { NasClient } from './clients.js';
import { Code } from './packet.js';
import type { AttributeTuple } from './radius-lib.js';

/** What to answer an Access-Request, and why (for logs and metrics). */
export interface AccessDecision {
  readonly code: typeof Code.AccessAccept | typeof Code.AccessReject;
  readonly attributes: readonly AttributeTuple[];
  readonly outcome: 'accept' | 'reject' | 'registration_vlan' | 'portal_redirect' | 'unregistered_role';
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

/** What decideAccess needs besides the session: configuration and the clock, never anything from the request. */
export interface AccessContext {
  readonly now: Date;
  /** IANA zone of the daily cut-off (session.time_zone): WISPr-Session-Terminate-Time is written in it. */
  readonly timeZone: string;
  /** The portal's start page, built from portal.base_url: where cisco-wlc redirects a device without a session. */
  readonly portalUrl: string;
}

/** IANA Private Enterprise Numbers of the vendors whose attributes we send (radius-dictionaries/). */
const Vendor = { Cisco: 9, WISPr: 14122, Airespace: 14179, Aruba: 14823 } as const;

/**
 * MAC authentication (the router asking "may this device be online?"). Pure: the
 * caller looks the session up and passes it in.
 * - A live session: Access-Accept, Session-Timeout = whole seconds left (RFC 2865 §5.27),
 *   plus what the NAS's with_session asks for (VLAN, Aruba role, Idle-Timeout, WISPr end time).
 * - None: what the NAS is configured for: Access-Reject (the router falls back to its
 *   portal), Access-Accept into the registration VLAN (RFC 3580 §3.31 tunnel attributes),
 *   a cisco-wlc redirect to our portal, or an aruba unregistered role.
 */
export function decideAccess(mac: Mac, session: Session | undefined, nas: NasClient, context: AccessContext): AccessDecision {
  // Parsed once: this runs at every MAC authentication.
  const endMs = session ? Date.parse(session.endsAt) : Number.NaN;
  const seconds = session ? secondsBetween(endMs, context.now.getTime()) : 0;
  if (session && seconds > 0) {
    return {
      code: Code.AccessAccept,
      attributes: sessionAttributes(endMs, seconds, nas, context.timeZone),
      outcome: 'accept',
      reason: 'live session',
      mac,
      user: session.user,
    };
  }
  const none = nas.noSession;
  if (none.answer === 'vlan' && none.vlan !== undefined) {
    return { code: Code.AccessAccept, attributes: vlanAttributes(none.vlan), outcome: 'registration_vlan', reason: 'no session: registration VLAN', mac };
  }
  // The schema allows redirect only for cisco-wlc and role only for aruba; checked again so a
  // router never receives another vendor's attributes.
  if (none.answer === 'redirect' && nas.profile === 'cisco-wlc' && none.redirect_acl !== undefined) {
    return { code: Code.AccessAccept, attributes: noSessionAttributes(nas, context.portalUrl), outcome: 'portal_redirect', reason: 'no session: redirect to the portal', mac };
  }
  if (none.answer === 'role' && nas.profile === 'aruba' && none.role !== undefined) {
    return { code: Code.AccessAccept, attributes: noSessionAttributes(nas, context.portalUrl), outcome: 'unregistered_role', reason: 'no session: unregistered role', mac };
  }
  return { code: Code.AccessReject, attributes: NO_ATTRIBUTES, outcome: 'reject', reason: 'no session', mac };
}

/**
 * The last accept attributes built for each NAS: every accept of one second carries
 * the same list, so it is built once a second and encoded once (packet.ts remembers
 * encoded lists by identity).
 */
const lastSessionAttributes = new WeakMap<NasClient, { endMs: number; seconds: number; timeZone: string; attributes: readonly AttributeTuple[] }>();

/** Session-Timeout, then what with_session adds, in a fixed order. */
function sessionAttributes(endMs: number, seconds: number, nas: NasClient, timeZone: string): readonly AttributeTuple[] {
  const last = lastSessionAttributes.get(nas);
  if (last && last.seconds === seconds && last.endMs === endMs && last.timeZone === timeZone) return last.attributes;
  const attributes = Object.freeze(buildSessionAttributes(new Date(endMs), seconds, nas, timeZone));
  lastSessionAttributes.set(nas, { endMs, seconds, timeZone, attributes });
  return attributes;
}

function buildSessionAttributes(end: Date, seconds: number, nas: NasClient, timeZone: string): AttributeTuple[] {
  const w = nas.withSession;
  const attributes: AttributeTuple[] = [['Session-Timeout', seconds]];
  // RFC 2865 §5.28: seconds of idleness before the NAS ends the session.
  if (w.idle_timeout_seconds !== undefined) attributes.push(['Idle-Timeout', w.idle_timeout_seconds]);
  if (w.vlan !== undefined) attributes.push(...vlanAttributes(w.vlan));
  if (w.role !== undefined && nas.profile === 'aruba') attributes.push(vsa(Vendor.Aruba, 'Aruba-User-Role', w.role));
  if (w.terminate_time) attributes.push(vsa(Vendor.WISPr, 'WISPr-Session-Terminate-Time', wisprTerminateTime(end, timeZone)));
  return attributes;
}

/**
 * A cisco-wlc redirect or an aruba role for a device without a session: the same list for
 * every such answer of one NAS, built once (the audit summary and packet.ts' encoding are
 * remembered by the list's identity).
 */
const lastNoSessionAttributes = new WeakMap<NasClient, { portalUrl: string; attributes: readonly AttributeTuple[] }>();

function noSessionAttributes(nas: NasClient, portalUrl: string): readonly AttributeTuple[] {
  const last = lastNoSessionAttributes.get(nas);
  if (last && last.portalUrl === portalUrl) return last.attributes;
  const none = nas.noSession;
  const attributes: AttributeTuple[] = [];
  if (none.answer === 'redirect') {
    // Central web authentication: the WLC lets through what the ACL permits and sends web
    // traffic to url-redirect. The URL is ours from configuration, never taken from the request.
    attributes.push(vsa(Vendor.Cisco, 'Cisco-AVPair', `url-redirect=${portalUrl}`), vsa(Vendor.Cisco, 'Cisco-AVPair', `url-redirect-acl=${none.redirect_acl}`));
    if (none.airespace_acl !== undefined) attributes.push(vsa(Vendor.Airespace, 'Airespace-ACL-Name', none.airespace_acl));
  } else if (none.role !== undefined) {
    attributes.push(vsa(Vendor.Aruba, 'Aruba-User-Role', none.role));
  }
  Object.freeze(attributes);
  lastNoSessionAttributes.set(nas, { portalUrl, attributes });
  return attributes;
}

/** RFC 3580 §3.31: VLAN assignment with tag 0 (one tunnel); one list per VLAN (configured names only). */
function vlanAttributes(vlan: string): readonly AttributeTuple[] {
  let attributes = vlanLists.get(vlan);
  if (!attributes) {
    attributes = Object.freeze<AttributeTuple[]>([
      ['Tunnel-Type', 0, 'VLAN'],
      ['Tunnel-Medium-Type', 0, 'IEEE-802'],
      ['Tunnel-Private-Group-Id', 0, vlan],
    ]);
    vlanLists.set(vlan, attributes);
  }
  return attributes;
}
const vlanLists = new Map<string, readonly AttributeTuple[]>();

/** A reject carries no attributes: one shared empty list. */
const NO_ATTRIBUTES: readonly AttributeTuple[] = Object.freeze([]);

/** One vendor attribute in its own Vendor-Specific attribute (RFC 2865 §5.26), the form every NAS parses. */
function vsa(vendor: number, name: string, value: string | number): AttributeTuple {
  return ['Vendor-Specific', vendor, [[name, value]]];
}

/**
 * WISPr 1.0 Session-Terminate-Time, ISO 8601 "YYYY-MM-DDThh:mm:ssTZD" with TZD as ±hh:mm,
 * in the cut-off's time zone (a router without the offset would assume its own local time).
 * Whole seconds, rounded down like Session-Timeout.
 */
export function wisprTerminateTime(end: Date, timeZone: string): string {
  return DateTime.fromJSDate(end, { zone: timeZone }).toFormat("yyyy-MM-dd'T'HH:mm:ssZZ");
}

/** A refusal for requests that are well-formed RADIUS but not a usable MAC authentication. */
export function rejectRequest(reason: string): AccessDecision {
  return { code: Code.AccessReject, attributes: NO_ATTRIBUTES, outcome: 'reject', reason };
}

/** The first value of an attribute that may repeat, as a string. */
export function single(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}
