import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/audit/events.js';
import { LoginThrottle } from '../../../src/directory/login-throttle.js';
import { StoreUnavailableError, TooManyAttemptsError } from '../../../src/errors.js';
import { silentKeyv } from '../../helpers/silent-keyv.js';

function setup() {
  let now = Date.parse('2026-11-26T08:00:00Z');
  const events: AuditEvent[] = [];
  const throttle = new LoginThrottle(new Keyv(), { clock: { now: () => new Date(now) }, audit: { record: (e) => events.push(e) } });
  return { throttle, events, advance: (ms: number) => (now += ms) };
}

const refusal = async (p: Promise<void>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  return err instanceof TooManyAttemptsError ? err.retryAfterSeconds : undefined;
};

describe('LoginThrottle', () => {
  it('allows five wrong passwords per person and address, then locks 1 s, 2 s, 4 s …', async () => {
    const { throttle, events, advance } = setup();
    for (let i = 0; i < 5; i++) {
      await throttle.check('alice', '10.0.0.9');
      await throttle.failed('alice', '10.0.0.9');
    }
    expect(await refusal(throttle.check('alice', '10.0.0.9'))).toBeUndefined();
    await throttle.failed('alice', '10.0.0.9');
    expect(await refusal(throttle.check('alice', '10.0.0.9'))).toBe(1);
    expect(await refusal(throttle.check('ALICE', '10.0.0.9'))).toBe(1);
    advance(1000);
    await throttle.failed('alice', '10.0.0.9');
    expect(await refusal(throttle.check('alice', '10.0.0.9'))).toBe(2);
    advance(2000);
    await throttle.failed('alice', '10.0.0.9');
    expect(await refusal(throttle.check('alice', '10.0.0.9'))).toBe(4);
    expect(events.filter((e) => e.type === 'login.throttled')).toHaveLength(3);
    expect(events[0]).toMatchObject({ type: 'login.throttled', user: 'alice', ip: '10.0.0.9', scope: 'user_and_address', failures: 6 });
  });

  it('counts every spelling a directory takes for one account against one budget: width, case, ignorable characters, spaces', async () => {
    const { throttle, events } = setup();
    // LDAP binds ＡＬＩＣＥ (full width) as alice, and folds ß to ss (RFC 4518).
    const spellings = ['ＡＬＩＣＥ', 'Alice', 'ALICE', 'al\u00adice', ' alice\u200b', 'ａｌｉｃｅ'];
    for (const user of spellings) {
      expect(await refusal(throttle.check(user, '10.0.0.9')), user).toBeUndefined();
      await throttle.failed(user, '10.0.0.9');
    }
    // The sixth wrong password, whatever its spelling, locked all of them.
    for (const user of [...spellings, 'alice']) expect(await refusal(throttle.check(user, '10.0.0.9')), user).toBe(1);
    expect(events).toMatchObject([{ type: 'login.throttled', user: 'ａｌｉｃｅ', scope: 'user_and_address', failures: 6 }]);
    // Somebody else at that address is not locked (the address has 20 free failures).
    expect(await refusal(throttle.check('bob', '10.0.0.9'))).toBeUndefined();

    const other = setup().throttle;
    for (const user of ['STRASSE', 'straße', 'Strasse', 'ＳＴＲＡＳＳＥ', 'strasse', 'STRAẞE']) await other.failed(user, '10.0.0.9');
    expect(await refusal(other.check('straße', '10.0.0.9'))).toBe(1);
  });

  it('never locks the person out from another address, and a success clears the counter', async () => {
    const { throttle, advance } = setup();
    for (let i = 0; i < 10; i++) await throttle.failed('alice', '10.0.0.9');
    expect(await refusal(throttle.check('alice', '10.0.0.9'))).toBeGreaterThan(0);
    expect(await refusal(throttle.check('alice', '10.0.0.10'))).toBeUndefined();
    await throttle.succeeded('alice', '10.0.0.10');
    advance(15 * 60_000);
    await throttle.succeeded('alice', '10.0.0.9');
    expect(await refusal(throttle.check('alice', '10.0.0.9'))).toBeUndefined();
  });

  it('locks an address that sprays many accounts after twenty failures, and caps locks at 15 minutes', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 20; i++) await throttle.failed(`user${i}`, '10.0.0.66');
    expect(await refusal(throttle.check('somebody-new', '10.0.0.66'))).toBeUndefined();
    await throttle.failed('user20', '10.0.0.66');
    expect(await refusal(throttle.check('somebody-new', '10.0.0.66'))).toBe(1);
    for (let i = 0; i < 40; i++) await throttle.failed('user0', '10.0.0.66');
    expect(await refusal(throttle.check('user0', '10.0.0.66'))).toBe(15 * 60);
  });

  it('with a store deadline (802.1X): a store that does not answer is a StoreUnavailableError in time, never a wait without end', async () => {
    const hung = silentKeyv();
    const throttle = new LoginThrottle(hung, { clock: { now: () => new Date() }, audit: { record: () => {} }, storeDeadlineMs: 30 });
    for (const call of [throttle.check('alice', '10.0.0.9'), throttle.failed('alice', '10.0.0.9'), throttle.succeeded('alice', '10.0.0.9')]) {
      await expect(call).rejects.toThrow(StoreUnavailableError);
    }
  });
});
