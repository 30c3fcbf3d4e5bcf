import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics, OneLabelHistogram } from '../../src/metrics.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
/** On and beside every bound, zero, tiny and past the last bound. */
const VALUES = [0, 1e-9, 0.0005, 0.00050001, 0.001, 0.002, 0.0025, 0.005, 0.0099, 0.01, 0.03, 0.05, 0.1, 0.49, 0.5, 0.51, 7];

function pair(): { ours: OneLabelHistogram; theirs: Histogram<'type'>; oursRegistry: Registry; theirsRegistry: Registry } {
  const oursRegistry = new Registry();
  const theirsRegistry = new Registry();
  const ours = new OneLabelHistogram({ name: 'h_seconds', help: 'help text', labelName: 'type', buckets: BUCKETS, registry: oursRegistry });
  const theirs = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['type'] as const, buckets: BUCKETS, registers: [theirsRegistry] });
  return { ours, theirs, oursRegistry, theirsRegistry };
}

describe('OneLabelHistogram reads out as prom-client Histogram', () => {
  it('as Prometheus text and as JSON, for several label values', async () => {
    const { ours, theirs, oursRegistry, theirsRegistry } = pair();
    for (const [i, v] of VALUES.entries()) {
      const type = i % 3 === 0 ? 'Access-Request' : i % 3 === 1 ? 'Accounting-Request' : 'a "quoted"\\label';
      ours.observe(type, v);
      theirs.observe({ type }, v);
    }
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    expect(await oursRegistry.getMetricsAsJSON()).toEqual(await theirsRegistry.getMetricsAsJSON());
  });

  it('summed across RADIUS workers as prom-client sums its own', async () => {
    const a = pair();
    const b = pair();
    for (const v of VALUES) {
      a.ours.observe('Access-Request', v);
      a.theirs.observe({ type: 'Access-Request' }, v);
      b.ours.observe('Access-Request', v * 2);
      b.theirs.observe({ type: 'Access-Request' }, v * 2);
    }
    const ours = AggregatorRegistry.aggregate([await a.oursRegistry.getMetricsAsJSON(), await b.oursRegistry.getMetricsAsJSON()]);
    const theirs = AggregatorRegistry.aggregate([await a.theirsRegistry.getMetricsAsJSON(), await b.theirsRegistry.getMetricsAsJSON()]);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('is empty until observed, and refuses a value that is not a number', async () => {
    const { ours, oursRegistry, theirsRegistry } = pair();
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    expect(() => ours.observe('x', Number.NaN)).toThrow(/not a number/);
  });
});

describe('Metrics.radiusAnswered', () => {
  it('counts every answer by NAS, type and outcome, exactly, at each read and across reads', async () => {
    const metrics = new Metrics({ parts: ['radius'] });
    for (let i = 0; i < 5; i++) metrics.radiusAnswered('nas-a', 'Access-Request', 'accept', 0.001);
    metrics.radiusAnswered('nas-a', 'Access-Request', 'reject', 0.002);
    metrics.radiusAnswered('nas-b', 'Accounting-Request', 'ok', 0.0001);
    const count = (text: string, labels: string) => Number(new RegExp(`enrollgate_radius_requests_total\\{${labels}\\} (\\d+)`).exec(text)?.[1]);
    let text = await metrics.registry.metrics();
    expect(count(text, 'nas="nas-a",type="Access-Request",outcome="accept"')).toBe(5);
    expect(count(text, 'nas="nas-a",type="Access-Request",outcome="reject"')).toBe(1);
    expect(count(text, 'nas="nas-b",type="Accounting-Request",outcome="ok"')).toBe(1);
    expect(text).toContain('enrollgate_radius_request_duration_seconds_count{type="Access-Request"} 6');
    // Read twice: nothing is added again; answers since the last read are.
    text = await metrics.registry.metrics();
    expect(count(text, 'nas="nas-a",type="Access-Request",outcome="accept"')).toBe(5);
    metrics.radiusAnswered('nas-a', 'Access-Request', 'accept', 0.001);
    text = await metrics.registry.metrics();
    expect(count(text, 'nas="nas-a",type="Access-Request",outcome="accept"')).toBe(6);
    expect(text).toContain('enrollgate_radius_request_duration_seconds_bucket{le="0.001",type="Access-Request"} 6');
  });
});
