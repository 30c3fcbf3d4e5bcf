import type { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { storeCallWithin } from '../../../../src/deadline.js';
import type { Device } from '../../../../src/devices/device.js';
import { StoreUnavailableError } from '../../../../src/errors.js';
import type { Mac } from '../../../../src/mac.js';
import type { NasClient } from '../../../../src/radius/clients.js';
import { authorizeCertificate, authorizeCredentials, type EapAuthorizationDeps, type EapDevices } from '../../../../src/radius/eap/authorize.js';
import type { AccessContext } from '../../../../src/radius/policy.js';
import type { Session } from '../../../../src/sessions/session.js';
import { never } from '../../../helpers/silent-keyv.js';

/**
 * The 802.1X decision when the state store fails or does not answer: a Reject with the
 * reason, never an Accept unchecked and never a request left waiting (wiring.ts bounds
 * each store call with radius.store_deadline_ms; here, storeCallWithin with a short one).
 */
const MAC = '02:00:00:00:00:01' as Mac;
const nas: NasClient = { name: 'ap', secret: 'x'.repeat(16), requireMessageAuthenticator: true, profile: 'generic', noSession: { answer: 'reject' }, withSession: { terminate_time: false } };
const context: AccessContext = { now: new Date('2026-12-07T09:00:00Z'), timeZone: 'UTC', portalUrl: 'https://portal.example.org/' };
const device: Device = { mac: MAC, owner: 'alice', platform: 'android', enrolledAt: '2026-12-01T09:00:00Z', certificateSerials: ['0a'] };
const session: Session = { mac: MAC, user: 'alice', startedAt: '2026-12-07T08:00:00Z', endsAt: '2026-12-08T04:00:00Z', origin: 'login' };
const certificate = { ok: true as const, mac: MAC, serial: '0a', user: 'alice', notAfter: new Date('2027-12-01T00:00:00Z') };

function deps(devices: Partial<EapDevices> = {}, more: Partial<EapAuthorizationDeps> = {}): EapAuthorizationDeps {
  return {
    // The CA is the certificate check's (device-certificate.ts), done before: not read here.
    ca: {} as X509Certificate,
    devices: {
      get: async () => device,
      blocked: async () => undefined,
      listByOwner: async () => [device],
      revocations: { status: async () => undefined },
      ...devices,
    },
    live: () => session,
    nextMorning: 'renew',
    ...more,
  };
}

describe('authorizeCertificate with a store that fails', () => {
  it('accepts when the store answers (the baseline the cases below depart from)', async () => {
    expect(await authorizeCertificate(deps(), certificate, nas, context)).toMatchObject({ ok: true, mac: MAC, serial: '0a' });
  });

  it.each([
    ['the block list', { blocked: storeCallWithin(30, never) }],
    ['the revocation list', { revocations: { status: storeCallWithin(30, never) } }],
    ['the device', { get: storeCallWithin(30, never) }],
  ] as const)('rejects, saying the store did not answer, when %s is not read in time', async (_what, devices) => {
    expect(await authorizeCertificate(deps(devices as Partial<EapDevices>), certificate, nas, context)).toEqual({
      ok: false,
      code: 'store_unavailable',
      reason: 'the state store is unavailable (the state store did not answer within 30 ms)',
      serial: '0a',
      mac: MAC,
      user: 'alice',
    });
  });

  it('rejects when the session cannot be read or renewed in time', async () => {
    const hung = deps({}, { live: () => storeCallWithin(30, never<Session | undefined>)() });
    expect(await authorizeCertificate(hung, certificate, nas, context)).toMatchObject({ ok: false, code: 'store_unavailable' });
    const renewalHangs = deps({}, { live: () => undefined, renew: storeCallWithin(30, never<{ session: Session }>) });
    expect(await authorizeCertificate(renewalHangs, certificate, nas, context)).toMatchObject({ ok: false, code: 'store_unavailable' });
  });

  it('lets any other failure through (the handler answers it as a server failure), not as the store', async () => {
    const broken = deps({ get: () => Promise.reject(new TypeError('a bug')) });
    await expect(authorizeCertificate(broken, certificate, nas, context)).rejects.toThrow(TypeError);
  });
});

describe('authorizeCredentials (TTLS) with a store that fails', () => {
  const credentials = { username: 'alice', password: 'pw' };
  const people = (more: Partial<EapAuthorizationDeps>, devices: Partial<EapDevices> = {}) =>
    deps(devices, { authenticate: async () => ({ username: 'alice', groups: [] }), issue: async () => session, ...more });

  it('accepts when the store answers', async () => {
    expect(await authorizeCredentials(people({}), credentials, MAC, nas, context)).toMatchObject({ ok: true, user: 'alice' });
  });

  it('rejects when the throttle cannot read its counters (the password is never checked then)', async () => {
    const throttled = people({ authenticate: () => Promise.reject(new StoreUnavailableError('the state store did not answer within 30 ms')) });
    expect(await authorizeCredentials(throttled, credentials, MAC, nas, context)).toEqual({
      ok: false,
      code: 'store_unavailable',
      reason: 'the state store is unavailable (the state store did not answer within 30 ms)',
      user: 'alice',
      mac: MAC,
    });
  });

  it('rejects when the enrollments or the new session are not read or written in time', async () => {
    expect(await authorizeCredentials(people({}, { listByOwner: storeCallWithin(30, never<Device[]>), get: async () => undefined }), credentials, MAC, nas, context)).toMatchObject({
      ok: false,
      code: 'store_unavailable',
      user: 'alice',
    });
    expect(await authorizeCredentials(people({ live: () => undefined, issue: storeCallWithin(30, never<Session>) }), credentials, MAC, nas, context)).toMatchObject({ ok: false, code: 'store_unavailable' });
  });
});
