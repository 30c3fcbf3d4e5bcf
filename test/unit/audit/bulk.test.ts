import { describe, expect, it } from 'vitest';
import { isBulk } from '../../../src/audit/audit-log.js';
import type { AuditEvent } from '../../../src/audit/events.js';

/** Which records wait for the 20 ms batch (docs/audit.md): RADIUS answers and accounting only. */
describe('isBulk', () => {
  it.each([
    ['radius.accepted', true],
    ['radius.rejected', true],
    ['eap.accepted', true],
    ['eap.rejected', true],
    ['accounting.started', true],
    ['accounting.stopped', true],
    ['login.succeeded', false],
    ['login.failed', false],
    ['device.enrolled', false],
    ['device.blocked', false],
    ['certificate.revoked', false],
    ['session.revoked', false],
    ['admin.logged_in', false],
    ['audit.exported', false],
  ])('%s: %s', (type, bulk) => {
    expect(isBulk({ type } as AuditEvent)).toBe(bulk);
  });
});
