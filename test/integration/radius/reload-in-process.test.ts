import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { editConfig, startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { macAuth, radclient } from '../../helpers/radclient.js';

/**
 * Gateway.reload() with RADIUS in the main process (radius.workers: 1), asked with radclient:
 * the NAS table the RADIUS server, the CoA notifier and the portal share is the one replaced.
 * (With workers: test/integration/cli/reload.test.ts.)
 */

const NEW_SECRET = 'in-process-new-secret-0123456789';
const MAC = '02:00:00:00:18:71';

let t: TestGateway;

const rewrite = (change: (doc: Record<string, any>) => void) => editConfig(t.configFile, change);

async function audited(type: string): Promise<AuditRecord[]> {
  await t.gateway.audit.flush();
  const found: AuditRecord[] = [];
  queryAudit(t.config.audit.dir, { type }, (m) => void found.push(m.record));
  return found;
}

beforeAll(async () => {
  t = await startTestGateway({
    // An added language that lacks most texts: a warning at start (shown in English), and at each reload.
    configure: (doc) => {
      doc.portal.languages = { dir: 'languages' };
    },
    beforeStart: async (dir) => {
      await mkdir(join(dir, 'languages'));
      await writeFile(join(dir, 'languages', 'nl.yaml'), 'language:\n  name: Nederlands\n');
    },
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('Gateway.reload() in one process', () => {
  it('logs the warnings a start logs: here, the texts an added language lacks', async () => {
    const warned = () => t.logs.events().filter((l) => l.event === 'config.warning' && /languages\/nl\.yaml: \d+ keys missing, shown in English/.test(String(l.msg))).length;
    expect(warned()).toBe(1);
    expect((await t.gateway.reload()).ok).toBe(true);
    expect(warned()).toBe(2);
  });

  it('takes a new shared secret: the router with it is answered, with the old one dropped', async () => {
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(MAC))).reply).toBe('Access-Reject');
    await rewrite((doc) => {
      doc.radius.clients[0].secret = NEW_SECRET;
    });
    const outcome = await t.gateway.reload();
    expect(outcome).toMatchObject({ ok: true, message: 'applied: radius.clients', changes: { sections: ['radius'], restart: [] } });
    expect((await radclient(t.gateway.ports.auth, 'auth', NEW_SECRET, macAuth(MAC))).reply).toBe('Access-Reject');
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth(MAC))).reply).toBeUndefined();
    expect(t.logs.text()).toContain('"event":"config.reloaded"');
    expect(t.logs.text()).not.toContain(NEW_SECRET);
  });

  it('refuses a config that names a file that is not there, and runs on with the secret it has', async () => {
    await rewrite((doc) => {
      doc.portal.https.cert_file = 'certs/none-such.pem';
    });
    const outcome = await t.gateway.reload();
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/portal\.https\.cert_file: cannot read \S+none-such\.pem \(ENOENT\)/);
    expect((await radclient(t.gateway.ports.auth, 'auth', NEW_SECRET, macAuth(MAC))).reply).toBe('Access-Reject');
    expect(await audited('config.reload_failed')).toEqual([expect.objectContaining({ outcome: 'failure', reason: outcome.message })]);
  });
});
