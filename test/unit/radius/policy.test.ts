import { describe, expect, it } from 'vitest';
import type { Mac } from '../../../src/devices/mac.js';
import type { NasClient } from '../../../src/radius/clients.js';
import { Code, decodeAttributes, encodeResponse, scanPacket } from '../../../src/radius/packet.js';
import { decideAccess, rejectRequest, requestedMac } from '../../../src/radius/policy.js';
import type { Session } from '../../../src/sessions/session.js';
import { A, attr, macAuthRequest } from './radius-bytes.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const MAC = 'aa:bb:cc:dd:ee:f0' as Mac;

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
    const d = decideAccess(MAC, session(3_600_999), rejectNas, NOW);
    expect(d).toMatchObject({ code: Code.AccessAccept, outcome: 'accept', mac: MAC, user: 'alice' });
    expect(d.attributes).toEqual([['Session-Timeout', 3600]]);
  });

  it('gives exactly 1 second when 1.0 s is left', () => {
    expect(decideAccess(MAC, session(1000), rejectNas, NOW).attributes).toEqual([['Session-Timeout', 1]]);
  });

  it.each([999, 1, 0, -1, -86_400_000])('treats a session ending in %i ms as none (never Session-Timeout 0)', (ms) => {
    const d = decideAccess(MAC, session(ms), rejectNas, NOW);
    expect(d).toMatchObject({ code: Code.AccessReject, outcome: 'reject', attributes: [] });
    const v = decideAccess(MAC, session(ms), vlanNas, NOW);
    expect(v.outcome).toBe('registration_vlan');
    expect(v.attributes.some((a) => a[0] === 'Session-Timeout')).toBe(false);
  });

  it('rejects a device without a session on a reject NAS', () => {
    const d = decideAccess(MAC, undefined, rejectNas, NOW);
    expect(d).toEqual({ code: Code.AccessReject, attributes: [], outcome: 'reject', reason: 'no session', mac: MAC });
  });

  it('accepts a device without a session into the registration VLAN on a vlan NAS (RFC 3580 tunnel attributes)', () => {
    const d = decideAccess(MAC, undefined, vlanNas, NOW);
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
    const d = decideAccess(MAC, session(60_000), vlanNas, NOW);
    expect(d.outcome).toBe('accept');
    expect(d.attributes).toEqual([['Session-Timeout', 60]]);
  });

  it('its answer survives encoding: the VLAN decision decodes back to the same attributes', () => {
    const request = macAuthRequest({ secret: vlanNas.secret, userName: 'aa-bb-cc-dd-ee-f0' });
    const scan = scanPacket(request);
    if (!scan.ok) throw new Error(scan.reason);
    const d = decideAccess(MAC, undefined, vlanNas, NOW);
    const response = encodeResponse({ code: d.code, request: scan.packet, secret: vlanNas.secret, attributes: d.attributes });
    expect(decodeAttributes(response, response.length)).toMatchObject({
      'Tunnel-Type': [0, 'VLAN'],
      'Tunnel-Medium-Type': [0, 'IEEE-802'],
      'Tunnel-Private-Group-Id': [0, '99'],
    });
  });
});

describe('rejectRequest', () => {
  it('is an Access-Reject carrying the reason and no attributes', () => {
    expect(rejectRequest('why')).toEqual({ code: Code.AccessReject, attributes: [], outcome: 'reject', reason: 'why' });
  });
});
