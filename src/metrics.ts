import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric, type MetricValueWithName } from 'prom-client';

const PREFIX = 'enrollgate_';

/**
 * prom-client's default metrics name three gauges *_total, which `promtool check metrics`
 * refuses (the suffix is for counters). They are served under these names instead; each
 * is also the sum over `type` of the gauge without the suffix (nodejs_active_handles{type}).
 */
const RENAMED_DEFAULT_GAUGES = {
  nodejs_active_handles_total: { name: 'nodejs_active_handles_all', help: 'Active libuv handles, all types together' },
  nodejs_active_requests_total: { name: 'nodejs_active_requests_all', help: 'Active libuv requests, all types together' },
  nodejs_active_resources_total: { name: 'nodejs_active_resources_all', help: 'Active resources keeping the event loop alive, all types together' },
} as const;

/** Which metrics a process keeps: RADIUS workers keep only theirs, so their registries and the main one never overlap. */
export type MetricsPart = 'radius' | 'portal' | 'process';

/** The gateway's Prometheus metrics, on one registry built at start-up. */
export class Metrics {
  private readonly radiusRegistry = new Registry();
  private readonly portalRegistry = new Registry();
  /** What /metrics shows: the parts this process keeps. */
  readonly registry: Registry;

  /** Counted through radiusAnswered (its counts are added when the counter is read). */
  readonly radiusRequests = new Counter({
    name: 'enrollgate_radius_requests_total',
    help: 'RADIUS requests answered, by NAS, request type and outcome',
    labelNames: ['nas', 'type', 'outcome'] as const,
    registers: [this.radiusRegistry],
    collect: () => this.addPendingAnswers(),
  });

  readonly radiusDrops = new Counter({
    name: 'enrollgate_radius_drops_total',
    help: 'RADIUS packets dropped without an answer, by NAS ("unknown" for unknown sources) and reason',
    labelNames: ['nas', 'reason'] as const,
    registers: [this.radiusRegistry],
  });

  readonly radiusRetransmissions = new Counter({
    name: 'enrollgate_radius_retransmissions_total',
    help: 'RADIUS retransmissions (RFC 5080): answered from the cache, or dropped while the original was still being worked on',
    labelNames: ['nas', 'handled'] as const,
    registers: [this.radiusRegistry],
  });

  readonly radiusStoreErrors = new Counter({
    name: 'enrollgate_radius_store_errors_total',
    help: 'State store failures met by RADIUS, by request kind (access: answered reject; accounting: not answered, the NAS retries; token; eap: the conversation rejected)',
    labelNames: ['kind'] as const,
    registers: [this.radiusRegistry],
  });

  readonly eapConversations = new Counter({
    name: 'enrollgate_eap_conversations_total',
    help: '802.1X (EAP) conversations ended, by method (tls, ttls, peap; none before one was chosen), outcome (accept, reject) and reason (a short code)',
    labelNames: ['method', 'outcome', 'reason'] as const,
    registers: [this.radiusRegistry],
  });

  readonly eapInProgress = new Gauge({
    name: 'enrollgate_eap_conversations_in_progress',
    help: '802.1X (EAP) conversations begun and not yet ended or expired (summed over RADIUS workers)',
    registers: [this.radiusRegistry],
  });

  readonly eapHandoffs = new Counter({
    name: 'enrollgate_eap_handoffs_total',
    help: "802.1X (EAP) requests that reached a RADIUS worker other than the one holding their conversation: sent (to that worker), received (from another), no_owner (that worker has exited: answered here, with a Reject), forged (a hand-off that is not signed: dropped)",
    labelNames: ['result'] as const,
    registers: [this.radiusRegistry],
  });

  readonly radiusLastPacket = new Gauge({
    name: 'enrollgate_radius_last_answer_timestamp_seconds',
    help: 'When each NAS was last answered (Unix time): a router that has gone quiet shows here',
    labelNames: ['nas'] as const,
    // Several RADIUS workers: the latest of theirs, not the sum.
    aggregator: 'max',
    registers: [this.radiusRegistry],
  });

  /** Observed through radiusAnswered. */
  readonly radiusLatency = new OneLabelHistogram({
    name: 'enrollgate_radius_request_duration_seconds',
    help: 'Time from receiving a RADIUS request to sending the answer',
    labelName: 'type',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registry: this.radiusRegistry,
  });

  /** Answers counted since radiusRequests was last read, by NAS, type and outcome. */
  private readonly pendingAnswers = new Map<string, { labels: { nas: string; type: string; outcome: string }; count: number }>();

  /**
   * One RADIUS answer: counted in radiusRequests and its time in radiusLatency. Called at
   * every answer, tens of thousands a second: prom-client checks and hashes the labels of
   * each inc() and observe(), which was a tenth of a MAC authentication's CPU
   * (bench:radius-cpu); here it is a map lookup, and the counter gets the sums when read.
   */
  radiusAnswered(nas: string, type: string, outcome: string, seconds: number): void {
    const key = `${nas}\u0000${type}\u0000${outcome}`;
    const pending = this.pendingAnswers.get(key);
    if (pending) pending.count++;
    else this.pendingAnswers.set(key, { labels: { nas, type, outcome }, count: 1 });
    this.radiusLatency.observe(type, seconds);
  }

  private addPendingAnswers(): void {
    for (const pending of this.pendingAnswers.values()) {
      if (pending.count > 0) this.radiusRequests.inc(pending.labels, pending.count);
      pending.count = 0;
    }
    // Bounded by the configured NAS names, types and outcomes; emptied all the same if ever large.
    if (this.pendingAnswers.size > 10_000) this.pendingAnswers.clear();
  }

  readonly portalLogins = new Counter({
    name: 'enrollgate_portal_logins_total',
    help: 'Portal logins by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.portalRegistry],
  });

  readonly enrollments = new Counter({
    name: 'enrollgate_enrollments_total',
    help: 'Devices enrolled, by platform',
    labelNames: ['platform'] as const,
    registers: [this.portalRegistry],
  });

  private sessionCount: (() => Promise<number>) | undefined;

  readonly sessionsLive: Gauge = new Gauge({
    name: 'enrollgate_sessions_live',
    help: 'Devices with a live session now (counted in the store at each scrape)',
    registers: [this.portalRegistry],
    // Called by prom-client before each read; a failed count keeps the last value.
    collect: async () => {
      if (!this.sessionCount) return;
      try {
        this.sessionsLive.set(await this.sessionCount());
      } catch {
        this.storeErrors.inc({ where: 'metrics' });
      }
    },
  });

  readonly directoryLatency = new Histogram({
    name: 'enrollgate_directory_request_duration_seconds',
    help: 'Directory (LDAP or users file) calls by operation and outcome (ok, invalid_credentials, not_allowed, unavailable)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.portalRegistry],
  });

  readonly storeErrors = new Counter({
    name: 'enrollgate_store_errors_total',
    help: 'State store failures met by the portal, the agent and admin APIs and the purge (RADIUS: enrollgate_radius_store_errors_total)',
    labelNames: ['where'] as const,
    registers: [this.portalRegistry],
  });

  readonly dynamicAuthorization = new Counter({
    name: 'enrollgate_dynamic_authorization_total',
    help: 'RFC 5176 requests to routers, by NAS, kind (coa, disconnect) and result (ack, nak, timeout, error)',
    labelNames: ['nas', 'kind', 'result'] as const,
    registers: [this.portalRegistry],
  });

  /** Counts live sessions at each scrape with `count` (the store, wired in main.ts). */
  countSessionsWith(count: () => Promise<number>): void {
    this.sessionCount = count;
  }

  constructor(options: { parts?: readonly MetricsPart[] } = {}) {
    const parts = new Set(options.parts ?? ['radius', 'portal', 'process']);
    const chosen: Registry[] = [];
    if (parts.has('radius')) chosen.push(this.radiusRegistry);
    if (parts.has('portal')) chosen.push(this.portalRegistry);
    if (parts.has('process')) {
      const processRegistry = new Registry();
      collectDefaultMetrics({ register: processRegistry, prefix: PREFIX });
      renameDefaultGauges(processRegistry);
      chosen.push(processRegistry);
    }
    this.registry = Registry.merge(chosen);
  }
}

/** One series of a OneLabelHistogram: observations per bucket (the last is +Inf), their sum and count. */
interface HistogramSeries {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram with one label, for what is observed at every RADIUS answer: an observation
 * is a bucket search and three additions. It reads out as prom-client's Histogram does
 * (the same values, labels and order, in text and as JSON for the RADIUS workers'
 * aggregation), registered as a metric of `registry`.
 */
export class OneLabelHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelName: string;
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(o: { name: string; help: string; labelName: string; buckets: readonly number[]; registry: Registry }) {
    this.name = o.name;
    this.help = o.help;
    this.labelName = o.labelName;
    this.bounds = [...o.buckets].sort((a, b) => a - b);
    o.registry.registerMetric(this as unknown as Metric);
  }

  observe(label: string, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: not a number: ${value}`);
    let series = this.series.get(label);
    if (!series) this.series.set(label, (series = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
    // prom-client's: the first bucket whose bound is at least the value.
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** The values as prom-client's Histogram.get() gives them: cumulative buckets, +Inf, _sum and _count per label value. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; values: Array<MetricValueWithName<string> & { exemplar?: null }>; aggregator: 'sum' }> {
    const values: Array<MetricValueWithName<string> & { exemplar?: null }> = [];
    for (const [label, s] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, [this.labelName]: label }, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: '+Inf', [this.labelName]: label }, value: s.count, metricName: `${this.name}_bucket`, exemplar: null });
      values.push({ labels: { [this.labelName]: label }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { [this.labelName]: label }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.series.clear();
  }
}

/** Serves prom-client's *_total gauges under RENAMED_DEFAULT_GAUGES' names, reading prom-client's own collectors. */
function renameDefaultGauges(registry: Registry): void {
  for (const [old, renamed] of Object.entries(RENAMED_DEFAULT_GAUGES)) {
    const original = registry.getSingleMetric(PREFIX + old) as Gauge | undefined;
    // Missing when Node no longer has what it counts (prom-client skips the collector then).
    if (!original) continue;
    registry.removeSingleMetric(PREFIX + old);
    new Gauge({
      name: PREFIX + renamed.name,
      help: renamed.help,
      registers: [registry],
      async collect() {
        this.set((await original.get()).values[0]?.value ?? 0);
      },
    });
  }
}
