import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LoginTokenStore } from '../../../src/devices/login-token-store.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics.js';
import type { RadiusRequest } from '../../../src/radius/request.js';
import { TokenLogins } from '../../../src/radius/token-login.js';
import type { SessionService } from '../../../src/sessions/session-service.js';
import { silentKeyv } from '../../helpers/silent-keyv.js';

/**
 * A UAM router redeeming a one-time login while the state store hangs: refused after
 * radius.store_deadline_ms, as with a store that is down, never left waiting (it would
 * hold a place in radius.max_in_flight for as long as the store stays silent).
 */
describe('TokenLogins on a store that does not answer', () => {
  it('refuses the login after storeDeadlineMs, logged and counted as a store failure', async () => {
    const hung = silentKeyv();
    let logged = '';
    const out = new PassThrough();
    out.on('data', (d: Buffer) => (logged += d.toString()));
    const metrics = new Metrics();
    const logins = new TokenLogins({
      tokens: new LoginTokenStore(hung),
      sessions: {} as SessionService,
      clock: { now: () => new Date('2026-12-07T09:00:00Z') },
      log: createLogger('info', out),
      metrics,
      timeZone: 'UTC',
      portalUrl: 'https://portal.example.org/',
      storeDeadlineMs: 30,
    });
    // What redeem reads before the store answers: the NAS and the Calling-Station-Id.
    const request = { nas: { name: 'chilli' } } as unknown as RadiusRequest;
    const decision = await logins.redeem(request, { 'Calling-Station-Id': '02-00-00-00-00-01' }, 'uam-0123456789abcdef');
    expect(decision).toMatchObject({ outcome: 'reject', reason: 'state store unavailable' });
    expect(logged).toContain('"event":"radius.store_failed"');
    expect(logged).toContain('the state store did not answer within 30 ms');
    expect((await metrics.radiusStoreErrors.get()).values).toEqual([expect.objectContaining({ labels: { kind: 'token' }, value: 1 })]);
  });
});
