import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../helpers/gateway.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { macAuth, radclient } from '../helpers/radclient.js';

/**
 * What a real gateway's /metrics serves (RADIUS in this process, radius.workers 1),
 * after some traffic so that the labelled series exist, passes Prometheus's own lint:
 * `promtool check metrics` exits 0 and says nothing. (With workers, whose metrics are
 * gathered into the same answer: test/integration/radius/workers.test.ts.)
 */
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => t?.close());

describe('/metrics', () => {
  it('passes promtool check metrics, counters ending in _total and nothing else', async () => {
    expect((await radclient(t.gateway.ports.auth, 'auth', TEST_NAS_SECRET, macAuth('02:00:00:00:09:01'))).reply).toBe('Access-Reject');
    const acct = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "m-1"', 'Calling-Station-Id = "02-00-00-00-09-01"', 'Framed-IP-Address = 10.9.0.1']);
    expect(acct.reply).toBe('Accounting-Response');
    const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(text).toContain('enrollgate_radius_requests_total{');
    const lint = await promtoolCheckMetrics(text);
    expect(lint).toEqual({ code: 0, output: '' });
    // The three default gauges promtool refused as *_total are there under their new names.
    for (const name of ['handles', 'requests', 'resources']) {
      expect(text).toMatch(new RegExp(`^enrollgate_nodejs_active_${name}_all \\d+$`, 'm'));
      expect(text).not.toContain(`enrollgate_nodejs_active_${name}_total`);
    }
  });
});
