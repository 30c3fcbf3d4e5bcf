import { beforeAll, describe, expect, it } from 'vitest';
import type { Mac } from '../../../src/mac.js';
import type { NasClient } from '../../../src/radius/clients.js';
import { DICTIONARY_DIR, loadDictionaries } from '../../../src/radius/dictionary.js';
import { Code, decodeAttributes, encodeResponse, scanPacket } from '../../../src/radius/packet.js';
import { decideAccess, rejectRequest, requestedMac, wisprTerminateTime, type AccessContext, type AccessDecision } from '../../../src/radius/policy.js';
import { nextCutoff } from '../../../src/sessions/daily-cutoff.js';
import type { Session } from '../../../src/sessions/session.js';
import { A, attr, macAuthRequest } from './radius-bytes.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const MAC = 'aa:bb:cc:dd:ee:f0' as Mac;
const PORTAL = 'https://portal.example.org/portal';
const CTX: AccessContext = { now: NOW, timeZone: 'Europe/Berlin', portalUrl: PORTAL };

const rejectNas: NasClient = { name: 'ap', secret: 'x'.repeat(16), requireMessageAuthenticator: true, profile: 'generic', noSession: { answer: 'reject' }, withSession: { terminate_time: false } };
const vlanNas: NasClient = { name: 'switch', secret: 'x'.repeat(16), requireMessageAuthenticator: true, profile: 'generic', noSession: { answer: 'vlan', vlan: '99' }, withSession: { terminate_time: false } };

function session(endsInMs: number, user = 'alice'): Session {
  return { mac: MAC, user, origin: 'enrollment', startedAt: new Date(NOW.getTime() - 3_600_000).toISOString(), endsAt: new Date(NOW.getTime() + endsInMs).toISOString() };
}

/** Attributes exactly as the gateway sees them: real bytes decoded by packet.ts. */
function decoded(fields: { userName?: string; callingStationId?: string; extra?: Buffer[] }): Record<string, unknown> {
  const raw = macAuthRequest({ secret: 'policy-test-secret-0123', ...fields });
  const attrs = decodeAttributes(raw, raw.length);
  if (!attrs) throw new Error('fixture did not decode');
  return attrs;
}

describe('requestedMac', () => {
  it('takes the MAC from User-Name', () => {
    expect(requestedMac(decoded({ userName: 'aa-bb-cc-dd-ee-f0' }))).toEqual({ mac: MAC });
  });

  it('takes the MAC from Calling-Station-Id', () => {
    expect(requestedMac(decoded({ callingStationId: 'AA-BB-CC-DD-EE-F0' }))).toEqual({ mac: MAC });
  });

  it('accepts both when they name the same device in different notations', () => {
    expect(requestedMac(decoded({ userName: 'aabbccddeef0', callingStationId: 'AA-BB-CC-DD-EE-F0' }))).toEqual({ mac: MAC });
    expect(requestedMac(decoded({ userName: 'aabb.ccdd.eef0', callingStationId: 'aa:bb:cc:dd:ee:f0' }))).toEqual({ mac: MAC });
  });

  it('refuses when User-Name and Calling-Station-Id name different devices', () => {
    const result = requestedMac(decoded({ userName: 'aa-bb-cc-dd-ee-f0', callingStationId: 'AA-BB-CC-DD-EE-F2' }));
    expect(result).toEqual({ problem: expect.stringMatching(/different devices/) });
  });

  it('refuses when neither attribute is present', () => {
    expect(requestedMac(decoded({}))).toEqual({ problem: expect.stringMatching(/neither .* is present/) });
  });

  it.each([
    ['not-a-mac', 'AA-BB-CC-DD-EE'],
    ['aa:bb:cc:dd:ee:gg', 'AA-BB-CC-DD-EE-FF-00'],
    ['ff:ff:ff:ff:ff:ff', '00-00-00-00-00-00'],
    ['01:00:5e:00:00:01', "aa:bb:cc:dd:ee:f0' OR 1=1"],
  ])('refuses malformed MACs (User-Name %j, Calling-Station-Id %j)', (userName, callingStationId) => {
    expect(requestedMac(decoded({ userName, callingStationId }))).toEqual({ problem: expect.stringMatching(/neither .* is a device MAC/) });
  });

  it('refuses a malformed User-Name alone', () => {
    expect(requestedMac(decoded({ userName: 'alice' }))).toEqual({ problem: expect.stringMatching(/neither .* is a device MAC/) });
  });

  it('uses the Calling-Station-Id when User-Name is a login name rather than a MAC', () => {
    expect(requestedMac(decoded({ userName: 'alice', callingStationId: 'AA-BB-CC-DD-EE-F0' }))).toEqual({ mac: MAC });
  });

  it('takes the first of repeated attributes', () => {
    const attrs = decoded({ extra: [attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F0'), attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F2')] });
    expect(attrs['Calling-Station-Id']).toHaveLength(2);
    expect(requestedMac(attrs)).toEqual({ mac: MAC });
  });
});

describe('decideAccess', () => {
  it('accepts a live session with Session-Timeout = whole seconds left (rounded down)', () => {
    const d = decideAccess(MAC, session(3_600_999), rejectNas, CTX);
    expect(d).toMatchObject({ code: Code.AccessAccept, outcome: 'accept', mac: MAC, user: 'alice' });
    expect(d.attributes).toEqual([['Session-Timeout', 3600]]);
  });

  it('gives exactly 1 second when 1.0 s is left', () => {
    expect(decideAccess(MAC, session(1000), rejectNas, CTX).attributes).toEqual([['Session-Timeout', 1]]);
  });

  it.each([999, 1, 0, -1, -86_400_000])('treats a session ending in %i ms as none (never Session-Timeout 0)', (ms) => {
    const d = decideAccess(MAC, session(ms), rejectNas, CTX);
    expect(d).toMatchObject({ code: Code.AccessReject, outcome: 'reject', attributes: [] });
    const v = decideAccess(MAC, session(ms), vlanNas, CTX);
    expect(v.outcome).toBe('registration_vlan');
    expect(v.attributes.some((a) => a[0] === 'Session-Timeout')).toBe(false);
  });

  it('rejects a device without a session on a reject NAS', () => {
    const d = decideAccess(MAC, undefined, rejectNas, CTX);
    expect(d).toEqual({ code: Code.AccessReject, attributes: [], outcome: 'reject', reason: 'no session', mac: MAC });
  });

  it('accepts a device without a session into the registration VLAN on a vlan NAS (RFC 3580 tunnel attributes)', () => {
    const d = decideAccess(MAC, undefined, vlanNas, CTX);
    expect(d.code).toBe(Code.AccessAccept);
    expect(d.outcome).toBe('registration_vlan');
    expect(d.user).toBeUndefined();
    expect(d.attributes).toEqual([
      ['Tunnel-Type', 0, 'VLAN'],
      ['Tunnel-Medium-Type', 0, 'IEEE-802'],
      ['Tunnel-Private-Group-Id', 0, '99'],
    ]);
  });

  it('a live session on a vlan NAS is a plain accept, without the registration VLAN', () => {
    const d = decideAccess(MAC, session(60_000), vlanNas, CTX);
    expect(d.outcome).toBe('accept');
    expect(d.attributes).toEqual([['Session-Timeout', 60]]);
  });

  it('its answer survives encoding: the VLAN decision decodes back to the same attributes', () => {
    const request = macAuthRequest({ secret: vlanNas.secret, userName: 'aa-bb-cc-dd-ee-f0' });
    const scan = scanPacket(request);
    if (!scan.ok) throw new Error(scan.reason);
    const d = decideAccess(MAC, undefined, vlanNas, CTX);
    const response = encodeResponse({ code: d.code, request: scan.packet, secret: vlanNas.secret, attributes: d.attributes });
    expect(decodeAttributes(response, response.length)).toMatchObject({
      'Tunnel-Type': [0, 'VLAN'],
      'Tunnel-Medium-Type': [0, 'IEEE-802'],
      'Tunnel-Private-Group-Id': [0, '99'],
    });
  });
});

function nas(profile: NasClient['profile'], noSession: NasClient['noSession'] = { answer: 'reject' }, withSession: Partial<NasClient['withSession']> = {}): NasClient {
  return { name: profile, secret: 'x'.repeat(16), requireMessageAuthenticator: true, profile, noSession, withSession: { terminate_time: false, ...withSession } };
}

/** A session of `user` ending at `end` (as the session service makes them, at the daily cut-off). */
function sessionUntil(end: Date, now: Date): Session {
  return { mac: MAC, user: 'alice', origin: 'enrollment', startedAt: new Date(now.getTime() - 60_000).toISOString(), endsAt: end.toISOString() };
}

/** The decision encoded by packet.ts and decoded back, as the router would read it. */
function onTheWire(d: AccessDecision): Record<string, unknown> {
  const secret = 'policy-test-secret-0123';
  const scan = scanPacket(macAuthRequest({ secret, userName: 'aa-bb-cc-dd-ee-f0' }));
  if (!scan.ok) throw new Error(scan.reason);
  const response = encodeResponse({ code: d.code, request: scan.packet, secret, attributes: d.attributes });
  const attrs = decodeAttributes(response, response.length);
  if (!attrs) throw new Error('response did not decode');
  return attrs;
}

const cisco = (airespace?: string) => nas('cisco-wlc', { answer: 'redirect', redirect_acl: 'ACL-PORTAL-ONLY', ...(airespace ? { airespace_acl: airespace } : {}) });

describe('decideAccess: vendor profiles, device without a session', () => {
  beforeAll(() => {
    loadDictionaries(DICTIONARY_DIR);
  });

  it('generic: reject by default, the registration VLAN (tag 0) when configured', () => {
    expect(decideAccess(MAC, undefined, nas('generic'), CTX)).toMatchObject({ code: Code.AccessReject, attributes: [], outcome: 'reject' });
    expect(decideAccess(MAC, undefined, nas('generic', { answer: 'vlan', vlan: 'guest-reg' }), CTX)).toMatchObject({
      code: Code.AccessAccept,
      outcome: 'registration_vlan',
      attributes: [
        ['Tunnel-Type', 0, 'VLAN'],
        ['Tunnel-Medium-Type', 0, 'IEEE-802'],
        ['Tunnel-Private-Group-Id', 0, 'guest-reg'],
      ],
    });
  });

  it('cisco-wlc with answer redirect: Access-Accept with url-redirect to the configured portal and url-redirect-acl', () => {
    const d = decideAccess(MAC, undefined, cisco(), CTX);
    expect(d).toMatchObject({ code: Code.AccessAccept, outcome: 'portal_redirect', mac: MAC });
    expect(d.user).toBeUndefined();
    expect(d.attributes).toEqual([
      ['Vendor-Specific', 9, [['Cisco-AVPair', `url-redirect=${PORTAL}`]]],
      ['Vendor-Specific', 9, [['Cisco-AVPair', 'url-redirect-acl=ACL-PORTAL-ONLY']]],
    ]);
    expect(onTheWire(d)).toMatchObject({ 'Vendor-Specific': { 'Cisco-AVPair': [`url-redirect=${PORTAL}`, 'url-redirect-acl=ACL-PORTAL-ONLY'] } });
  });

  it('cisco-wlc adds Airespace-ACL-Name (AireOS) when no_session.airespace_acl is set', () => {
    const d = decideAccess(MAC, undefined, cisco('PRE-AUTH'), CTX);
    expect(d.attributes).toEqual([
      ['Vendor-Specific', 9, [['Cisco-AVPair', `url-redirect=${PORTAL}`]]],
      ['Vendor-Specific', 9, [['Cisco-AVPair', 'url-redirect-acl=ACL-PORTAL-ONLY']]],
      ['Vendor-Specific', 14179, [['Airespace-ACL-Name', 'PRE-AUTH']]],
    ]);
    expect(onTheWire(d)).toMatchObject({ 'Vendor-Specific': { 'Airespace-ACL-Name': 'PRE-AUTH' } });
  });

  it('cisco-wlc redirects to whatever portal URL the context carries (from config), and to nothing else', () => {
    const other = decideAccess(MAC, undefined, cisco(), { ...CTX, portalUrl: 'https://wifi.campus.example/base/portal' });
    expect(other.attributes[0]).toEqual(['Vendor-Specific', 9, [['Cisco-AVPair', 'url-redirect=https://wifi.campus.example/base/portal']]]);
  });

  it('cisco-wlc with answer reject or vlan behaves like generic', () => {
    expect(decideAccess(MAC, undefined, nas('cisco-wlc'), CTX).outcome).toBe('reject');
    expect(decideAccess(MAC, undefined, nas('cisco-wlc', { answer: 'vlan', vlan: '99' }), CTX).outcome).toBe('registration_vlan');
  });

  it('aruba with answer role: Access-Accept with Aruba-User-Role = no_session.role', () => {
    const d = decideAccess(MAC, undefined, nas('aruba', { answer: 'role', role: 'unregistered' }), CTX);
    expect(d).toMatchObject({ code: Code.AccessAccept, outcome: 'unregistered_role', mac: MAC });
    expect(d.attributes).toEqual([['Vendor-Specific', 14823, [['Aruba-User-Role', 'unregistered']]]]);
    expect(onTheWire(d)).toMatchObject({ 'Vendor-Specific': { 'Aruba-User-Role': 'unregistered' } });
  });

  it.each(['coovachilli', 'mikrotik'] as const)('%s: reject (it shows its own portal), or the VLAN when configured', (profile) => {
    expect(decideAccess(MAC, undefined, nas(profile), CTX)).toEqual({ code: Code.AccessReject, attributes: [], outcome: 'reject', reason: 'no session', mac: MAC });
    expect(decideAccess(MAC, undefined, nas(profile, { answer: 'vlan', vlan: '30' }), CTX).attributes).toEqual([
      ['Tunnel-Type', 0, 'VLAN'],
      ['Tunnel-Medium-Type', 0, 'IEEE-802'],
      ['Tunnel-Private-Group-Id', 0, '30'],
    ]);
  });

  it('never sends one vendor the attributes of another, even if the schema were bypassed', () => {
    for (const profile of ['generic', 'coovachilli', 'mikrotik', 'aruba'] as const) {
      expect(decideAccess(MAC, undefined, nas(profile, { answer: 'redirect', redirect_acl: 'A' }), CTX).code).toBe(Code.AccessReject);
    }
    for (const profile of ['generic', 'coovachilli', 'mikrotik', 'cisco-wlc'] as const) {
      expect(decideAccess(MAC, undefined, nas(profile, { answer: 'role', role: 'r' }), CTX).code).toBe(Code.AccessReject);
    }
    expect(decideAccess(MAC, undefined, nas('cisco-wlc', { answer: 'redirect' }), CTX).code).toBe(Code.AccessReject);
  });
});

describe('decideAccess: vendor profiles, device with a session', () => {
  beforeAll(() => {
    loadDictionaries(DICTIONARY_DIR);
  });

  // 2026-03-10 12:00 UTC; the session ends at the 04:00 Berlin cut-off (CET, UTC+1) the next morning.
  const END = new Date('2026-03-11T03:00:00.000Z');
  const everything = { vlan: '20', role: 'employee', idle_timeout_seconds: 900, terminate_time: true };
  const NO_SESSION_ANSWER: Record<NasClient['profile'], NasClient['noSession']> = {
    generic: { answer: 'vlan', vlan: '99' },
    'cisco-wlc': { answer: 'redirect', redirect_acl: 'ACL-PORTAL-ONLY', airespace_acl: 'PRE-AUTH' },
    aruba: { answer: 'role', role: 'unregistered' },
    coovachilli: { answer: 'reject' },
    mikrotik: { answer: 'vlan', vlan: '99' },
  };

  it.each(['generic', 'cisco-wlc', 'aruba', 'coovachilli', 'mikrotik'] as const)(
    '%s: Session-Timeout, Idle-Timeout, the session VLAN, the role (aruba only) and WISPr-Session-Terminate-Time; no no-session attributes',
    (profile) => {
      const d = decideAccess(MAC, sessionUntil(END, NOW), nas(profile, NO_SESSION_ANSWER[profile], everything), CTX);
      expect(d).toMatchObject({ code: Code.AccessAccept, outcome: 'accept', user: 'alice', mac: MAC });
      expect(d.attributes).toEqual([
        ['Session-Timeout', 15 * 3600],
        ['Idle-Timeout', 900],
        ['Tunnel-Type', 0, 'VLAN'],
        ['Tunnel-Medium-Type', 0, 'IEEE-802'],
        ['Tunnel-Private-Group-Id', 0, '20'],
        ...(profile === 'aruba' ? [['Vendor-Specific', 14823, [['Aruba-User-Role', 'employee']]]] : []),
        ['Vendor-Specific', 14122, [['WISPr-Session-Terminate-Time', '2026-03-11T04:00:00+01:00']]],
      ]);
      const wire = onTheWire(d);
      expect(wire).toMatchObject({
        'Session-Timeout': 54_000,
        'Idle-Timeout': 900,
        'Tunnel-Private-Group-Id': [0, '20'],
        'Vendor-Specific': { 'WISPr-Session-Terminate-Time': '2026-03-11T04:00:00+01:00' },
      });
      const vendor = wire['Vendor-Specific'] as Record<string, unknown>;
      expect(vendor['Aruba-User-Role']).toBe(profile === 'aruba' ? 'employee' : undefined);
      expect(vendor['Cisco-AVPair']).toBeUndefined();
      expect(vendor['Airespace-ACL-Name']).toBeUndefined();
    },
  );

  it('with_session left at its defaults adds nothing to Session-Timeout, on any profile', () => {
    for (const profile of ['generic', 'cisco-wlc', 'aruba', 'coovachilli', 'mikrotik'] as const) {
      expect(decideAccess(MAC, sessionUntil(END, NOW), nas(profile, NO_SESSION_ANSWER[profile]), CTX).attributes).toEqual([['Session-Timeout', 54_000]]);
    }
  });

  it('each with_session setting alone adds only its own attribute', () => {
    const at = (w: Partial<NasClient['withSession']>, profile: NasClient['profile'] = 'generic') =>
      decideAccess(MAC, sessionUntil(END, NOW), nas(profile, undefined, w), CTX).attributes;
    expect(at({ idle_timeout_seconds: 600 })).toEqual([['Session-Timeout', 54_000], ['Idle-Timeout', 600]]);
    expect(at({ role: 'employee' })).toEqual([['Session-Timeout', 54_000]]);
    expect(at({ role: 'employee' }, 'aruba')).toEqual([['Session-Timeout', 54_000], ['Vendor-Specific', 14823, [['Aruba-User-Role', 'employee']]]]);
    expect(at({ terminate_time: true })).toEqual([
      ['Session-Timeout', 54_000],
      ['Vendor-Specific', 14122, [['WISPr-Session-Terminate-Time', '2026-03-11T04:00:00+01:00']]],
    ]);
  });
});

describe('WISPr-Session-Terminate-Time: YYYY-MM-DDThh:mm:ss±hh:mm in the configured zone', () => {
  const BERLIN = 'Europe/Berlin';
  const terminate = (now: Date, cutoff: string, timeZone = BERLIN) => {
    const end = nextCutoff(now, cutoff, timeZone);
    const d = decideAccess(MAC, sessionUntil(end, now), nas('generic', undefined, { terminate_time: true }), { now, timeZone, portalUrl: PORTAL });
    const vsa = d.attributes.find((a) => a[0] === 'Vendor-Specific') as [string, number, [[string, string]]];
    return { seconds: d.attributes[0]![1], time: vsa[2][0][1] };
  };

  it('the day before the spring change is CET (+01:00), the day of it CEST (+02:00), and Session-Timeout counts real seconds', () => {
    // 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST.
    expect(terminate(new Date('2026-03-27T12:00:00Z'), '04:00')).toEqual({ seconds: 15 * 3600, time: '2026-03-28T04:00:00+01:00' });
    // Saturday 12:00 CET to Sunday 04:00 CEST: 16 wall-clock hours, 15 real ones.
    expect(terminate(new Date('2026-03-28T11:00:00Z'), '04:00')).toEqual({ seconds: 15 * 3600, time: '2026-03-29T04:00:00+02:00' });
  });

  it('a cut-off inside the spring-forward gap (02:30) is written as the instant the clocks jump, 03:00+02:00', () => {
    expect(terminate(new Date('2026-03-28T11:00:00Z'), '02:30').time).toBe('2026-03-29T03:00:00+02:00');
  });

  it('the autumn change: 04:00 after fall-back is +01:00; 02:30 (twice that night) is the first one, +02:00', () => {
    // 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET. Saturday 12:00 CEST to Sunday 04:00 CET: 17 real hours.
    expect(terminate(new Date('2026-10-24T10:00:00Z'), '04:00')).toEqual({ seconds: 17 * 3600, time: '2026-10-25T04:00:00+01:00' });
    expect(terminate(new Date('2026-10-24T10:00:00Z'), '02:30').time).toBe('2026-10-25T02:30:00+02:00');
  });

  it('UTC is +00:00 (never "Z"), and milliseconds are cut like Session-Timeout', () => {
    expect(wisprTerminateTime(new Date('2026-03-29T04:00:00.999Z'), 'UTC')).toBe('2026-03-29T04:00:00+00:00');
    expect(wisprTerminateTime(new Date('2026-07-01T03:30:00Z'), 'America/St_Johns')).toBe('2026-07-01T01:00:00-02:30');
    expect(wisprTerminateTime(new Date('2026-07-01T03:30:00Z'), 'Asia/Kolkata')).toBe('2026-07-01T09:00:00+05:30');
  });
});

describe('rejectRequest', () => {
  it('is an Access-Reject carrying the reason and no attributes', () => {
    expect(rejectRequest('why')).toEqual({ code: Code.AccessReject, attributes: [], outcome: 'reject', reason: 'why' });
  });
});
