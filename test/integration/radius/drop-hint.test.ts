import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * A router with the wrong shared secret: its packets are dropped unanswered, and the log
 * line says what the admin most likely has to fix (radclient as the misconfigured router).
 */

const WRONG_SECRET = 'typo-in-the-router-secret-42';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
});

function dropLine(reason: string): Record<string, unknown> | undefined {
  return t.logs.events().find((e) => e.event === 'radius.dropped' && e.reason === reason);
}

describe('a drop for a wrong shared secret', () => {
  it('names the wrong secret on the NAS as the likely cause (Message-Authenticator, Access-Request)', async () => {
    const r = await radclient(t.gateway.ports.auth, 'auth', WRONG_SECRET, macAuth('02:00:00:00:0d:01'));
    expect(r.reply).toBeUndefined();
    await expect.poll(() => dropLine('bad_message_authenticator')).toBeDefined();
    expect(dropLine('bad_message_authenticator')).toMatchObject({
      nas: 'test-nas',
      hint: "wrong shared secret on NAS test-nas? The packet's Message-Authenticator does not match the secret configured for it",
    });
  });

  it('names it for accounting too (Request Authenticator)', async () => {
    const r = await radclient(t.gateway.ports.acct, 'acct', WRONG_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "hint-1"', 'Calling-Station-Id = "02-00-00-00-0d-02"']);
    expect(r.reply).toBeUndefined();
    await expect.poll(() => dropLine('bad_authenticator')).toBeDefined();
    expect(dropLine('bad_authenticator')).toMatchObject({
      nas: 'test-nas',
      hint: "wrong shared secret on NAS test-nas? The packet's Request Authenticator does not match the secret configured for it",
    });
  });

  it('gives no such hint for a drop with another cause, and never logs either secret', async () => {
    // No Message-Authenticator at all: a router setting, not a secret (require_message_authenticator).
    const r = await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth('02:00:00:00:0d:03').filter((l) => !l.startsWith('Message-Authenticator')));
    expect(r.reply).toBeUndefined();
    await expect.poll(() => dropLine('missing_message_authenticator')).toBeDefined();
    expect(dropLine('missing_message_authenticator')).not.toHaveProperty('hint');
    expect(t.logs.text()).not.toContain(WRONG_SECRET);
    expect(t.logs.text()).not.toContain(TEST_NAS_SECRET);
  });
});
