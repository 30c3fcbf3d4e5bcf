import { describe, expect, it } from 'vitest';
import { hourChart, shareBars } from '../../../src/admin/charts.js';
import { may, PERMISSIONS, roleFor } from '../../../src/admin/roles.js';

describe('roles', () => {
  it('gives admin everything, helpdesk devices and sessions, auditors the audit trail only (issue 5)', () => {
    const of = (role: 'admin' | 'helpdesk' | 'auditor') => Object.keys(PERMISSIONS).filter((p) => may({ name: 'x', role }, p as keyof typeof PERMISSIONS)).sort();
    expect(of('admin')).toEqual(Object.keys(PERMISSIONS).sort());
    expect(of('helpdesk')).toEqual(['certificates.revoke', 'dashboard.view', 'devices.block', 'devices.unenroll', 'devices.view', 'nas.view', 'sessions.revoke', 'sessions.view']);
    expect(of('auditor')).toEqual(['audit.export', 'audit.view', 'dashboard.view']);
  });

  it('takes the strongest role of the person’s groups, matching names and DNs like the device policy', () => {
    const roles = { admin: ['net-admins'], helpdesk: ['cn=helpdesk,ou=groups,dc=example,dc=org'], auditor: ['auditors'] };
    expect(roleFor(['auditors', 'CN=Helpdesk, OU=groups, DC=example, DC=org'], roles)).toBe('helpdesk');
    expect(roleFor(['cn=Net-Admins,ou=groups,dc=example,dc=org', 'auditors'], roles)).toBe('admin');
    expect(roleFor(['wifi-users'], roles)).toBeUndefined();
    expect(roleFor(['net-admins'], { admin: [], helpdesk: [], auditor: [] })).toBeUndefined();
  });
});

describe('charts', () => {
  it('stacks rejects on accepts, scaled to the busiest hour, labelled in local time', () => {
    const hours = [
      { hour: '2026-11-26T07:00:00.000Z', accepts: 30, rejects: 10 },
      { hour: '2026-11-26T08:00:00.000Z', accepts: 0, rejects: 0 },
    ];
    const chart = hourChart(hours, 'Europe/Berlin');
    expect(chart.max).toBe(40);
    expect(chart.bars[0]).toMatchObject({ label: '08:00', acceptHeight: 90, acceptY: 30, rejectHeight: 30, rejectY: 0 });
    expect(chart.bars[1]).toMatchObject({ acceptHeight: 0, rejectHeight: 0 });
    expect(shareBars([{ os: 'iOS 17', count: 4 }, { os: 'Android 14', count: 2 }]).map((b) => b.width)).toEqual([300, 150]);
  });
});
