import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../helpers/http.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { startSlapd, type Slapd } from '../../helpers/slapd.js';
import { DIRECTORY_CHECK_TTL_MS } from '../../../src/portal/readiness.js';

/**
 * /readyz with a real slapd as the directory. The directory's answer is remembered for
 * DIRECTORY_CHECK_TTL_MS: slapd is stopped after the first probe, and the next probe
 * still says ready (it asked nobody), until the gateway's clock has moved past that
 * time. Why the directory is down (a message with its address) is for the machine
 * itself; a client elsewhere (trust_proxy: X-Forwarded-For is the client address) reads
 * "unavailable".
 */

let slapd: Slapd;
let t: TestGateway;
let slapdStopped = false;
/** How far the gateway's clock is ahead of the real one. */
let aheadMs = 0;

beforeAll(async () => {
  slapd = await startSlapd();
  t = await startTestGateway({
    clock: { now: () => new Date(Date.now() + aheadMs) },
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.directory = {
        kind: 'ldap',
        ldap: { url: slapd.ldapsUrl, ca_file: 'ldap-ca.pem', bind_dn: slapd.bindDn, bind_password: { env: 'EG_READYZ_LDAP_BIND' }, base_dn: slapd.baseDn, connect_timeout_ms: 1000, timeout_ms: 1000 },
      };
    },
    beforeStart: async (dir) => {
      process.env.EG_READYZ_LDAP_BIND = slapd.bindPassword;
      await writeFile(join(dir, 'ldap-ca.pem'), slapd.ca);
    },
  });
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (!slapdStopped) await slapd?.stop();
});

const readyz = async (ip?: string) => {
  const r = await call(t.httpUrl, 'GET', '/readyz', ip ? { ip } : {});
  return { status: r.status, body: r.body, json: JSON.parse(r.body) as { status: string; checks: Record<string, string> } };
};

describe('/readyz', () => {
  it('remembers the directory check for a few seconds, then asks again', async () => {
    expect((await readyz()).json).toEqual({ status: 'ready', checks: { store: 'ok', directory: 'ok' } });
    await slapd.stop();
    slapdStopped = true;
    // slapd is gone: only a remembered answer can say ok.
    expect((await readyz()).json).toEqual({ status: 'ready', checks: { store: 'ok', directory: 'ok' } });
    expect((await readyz('10.1.0.2')).status).toBe(200);
    aheadMs = DIRECTORY_CHECK_TTL_MS;
    const local = await readyz();
    expect(local.status).toBe(503);
    expect(local.json.checks.store).toBe('ok');
    // The machine's admin reads why: the directory's address and what failed.
    expect(local.json.checks.directory).toContain(new URL(slapd.ldapsUrl).host);
  });

  it('tells a client elsewhere that the directory is unavailable, not where it is', async () => {
    const other = await readyz('10.1.0.2');
    expect(other.status).toBe(503);
    expect(other.json).toEqual({ status: 'not ready', checks: { store: 'ok', directory: 'unavailable' } });
    expect(other.body).not.toContain(new URL(slapd.ldapsUrl).port);
    // One check per remembered period: the failure was logged once, not per probe.
    const failures = t.logs.events().filter((e) => e.event === 'readiness.failed');
    expect(failures).toHaveLength(1);
  });
});
