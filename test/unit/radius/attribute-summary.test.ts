import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Mac } from '../../../src/mac.js';
import { attributeSummary } from '../../../src/radius/attribute-summary.js';
import { accessAuditEvent } from '../../../src/radius/audit-records.js';
import type { NasClient } from '../../../src/radius/clients.js';
import { decideAccess, rejectRequest, type AccessContext } from '../../../src/radius/policy.js';
import type { AttributeTuple } from '../../../src/radius/radius-lib.js';
import type { Session } from '../../../src/sessions/session.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const MAC = 'aa:bb:cc:dd:ee:f0' as Mac;
const CTX: AccessContext = { now: NOW, timeZone: 'Europe/Berlin', portalUrl: 'https://portal.example.org/portal' };
const SECRET = 'x'.repeat(16);

function nas(profile: NasClient['profile'], noSession: NasClient['noSession'], withSession: NasClient['withSession'] = { terminate_time: false }): NasClient {
  return { name: 'ap', secret: SECRET, requireMessageAuthenticator: true, profile, noSession, withSession };
}
const session: Session = { mac: MAC, user: 'alice', origin: 'enrollment', startedAt: NOW.toISOString(), endsAt: new Date(NOW.getTime() + 3_600_000).toISOString() };

describe('attributeSummary: what an answer carried, for the audit trail', () => {
  it('names each attribute of a session accept with its value, in the order sent (tag 0 left out)', () => {
    const d = decideAccess(MAC, session, nas('generic', { answer: 'reject' }, { terminate_time: true, vlan: '10', idle_timeout_seconds: 600 }), CTX);
    expect(attributeSummary(d.attributes)).toBe(
      'Session-Timeout=3600, Idle-Timeout=600, Tunnel-Type=VLAN, Tunnel-Medium-Type=IEEE-802, Tunnel-Private-Group-Id=10, WISPr-Session-Terminate-Time=2026-03-10T14:00:00+01:00',
    );
  });

  it('shows a vendor attribute by its own name, and a tag other than 0', () => {
    expect(attributeSummary(decideAccess(MAC, undefined, nas('aruba', { answer: 'role', role: 'guest-logon' }), CTX).attributes)).toBe('Aruba-User-Role=guest-logon');
    expect(attributeSummary(decideAccess(MAC, undefined, nas('cisco-wlc', { answer: 'redirect', redirect_acl: 'ACL-PORTAL' }), CTX).attributes)).toBe(
      'Cisco-AVPair=url-redirect=https://portal.example.org/portal, Cisco-AVPair=url-redirect-acl=ACL-PORTAL',
    );
    expect(attributeSummary([['Tunnel-Private-Group-Id', 2, '20']])).toBe('Tunnel-Private-Group-Id:2=20');
  });

  it('has nothing to say of a reject (no attributes)', () => {
    expect(attributeSummary(decideAccess(MAC, undefined, nas('generic', { answer: 'reject' }), CTX).attributes)).toBeUndefined();
    expect(accessAuditEvent(nas('generic', { answer: 'reject' }), rejectRequest('no session'))).not.toHaveProperty('attributes');
  });

  it('never shows the MS-MPPE keys, Message-Authenticator, EAP-Message, State or a hidden password', () => {
    const key = randomBytes(32);
    const list: AttributeTuple[] = [
      ['Session-Timeout', 60],
      ['Vendor-Specific', 311, [['MS-MPPE-Send-Key', key], ['MS-MPPE-Recv-Key', key]]],
      ['Message-Authenticator', key],
      ['EAP-Message', key],
      ['State', key],
      ['Tunnel-Password', 0, 'tunnel-secret'],
      ['User-Password', 'user-secret'],
    ];
    const summary = attributeSummary(list)!;
    expect(summary).toBe('Session-Timeout=60');
    for (const secret of [key.toString('hex'), 'MPPE', 'tunnel-secret', 'user-secret']) expect(summary).not.toContain(secret);
  });

  it('is built once per list: the same list is found again by identity, and policy hands out the same list for the same answer', () => {
    const n = nas('generic', { answer: 'vlan', vlan: '99' }, { terminate_time: false, vlan: '10' });
    const first = decideAccess(MAC, session, n, CTX);
    const again = decideAccess('aa:bb:cc:dd:ee:f1' as Mac, { ...session, user: 'bob' }, n, CTX);
    expect(again.attributes).toBe(first.attributes);
    expect(decideAccess(MAC, undefined, n, CTX).attributes).toBe(decideAccess(MAC, undefined, n, CTX).attributes);
    const aruba = nas('aruba', { answer: 'role', role: 'guest-logon' });
    expect(decideAccess(MAC, undefined, aruba, CTX).attributes).toBe(decideAccess(MAC, undefined, aruba, CTX).attributes);
    // A list changed after its summary was made keeps that summary: proof the summary is remembered, not rebuilt.
    const list: AttributeTuple[] = [['Session-Timeout', 60]];
    expect(attributeSummary(list)).toBe('Session-Timeout=60');
    list.push(['Idle-Timeout', 5]);
    expect(attributeSummary(list)).toBe('Session-Timeout=60');
  });

  it('goes into radius.accepted, for a session accept and a registration VLAN accept alike', () => {
    const n = nas('generic', { answer: 'vlan', vlan: '99' });
    expect(accessAuditEvent(n, decideAccess(MAC, session, n, CTX))).toMatchObject({ type: 'radius.accepted', attributes: 'Session-Timeout=3600' });
    expect(accessAuditEvent(n, decideAccess(MAC, undefined, n, CTX))).toMatchObject({
      type: 'radius.accepted',
      reason: 'no session: registration VLAN',
      attributes: 'Tunnel-Type=VLAN, Tunnel-Medium-Type=IEEE-802, Tunnel-Private-Group-Id=99',
    });
  });
});
