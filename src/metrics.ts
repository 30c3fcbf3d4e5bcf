import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, on one registry built at start-up. */
export class Metrics {
  readonly registry = new Registry();

  readonly radiusRequests = new Counter({
    name: 'enrollgate_radius_requests_total',
    help: 'RADIUS requests answered, by NAS, request type and outcome',
    labelNames: ['nas', 'type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly radiusDrops = new Counter({
    name: 'enrollgate_radius_drops_total',
    help: 'RADIUS packets dropped without an answer, by NAS ("unknown" for unknown sources) and reason',
    labelNames: ['nas', 'reason'] as const,
    registers: [this.registry],
  });

  readonly radiusRetransmissions = new Counter({
    name: 'enrollgate_radius_retransmissions_total',
    help: 'RADIUS retransmissions (RFC 5080): answered from the cache, or dropped while the original was still being worked on',
    labelNames: ['nas', 'handled'] as const,
    registers: [this.registry],
  });

  readonly radiusLatency = new Histogram({
    name: 'enrollgate_radius_request_duration_seconds',
    help: 'Time from receiving a RADIUS request to sending the answer',
    labelNames: ['type'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });

  readonly portalLogins = new Counter({
    name: 'enrollgate_portal_logins_total',
    help: 'Portal logins by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly enrollments = new Counter({
    name: 'enrollgate_enrollments_total',
    help: 'Devices enrolled, by platform',
    labelNames: ['platform'] as const,
    registers: [this.registry],
  });

  readonly dynamicAuthorization = new Counter({
    name: 'enrollgate_dynamic_authorization_total',
    help: 'RFC 5176 requests to routers, by NAS, kind (coa, disconnect) and result (ack, nak, timeout, error)',
    labelNames: ['nas', 'kind', 'result'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'enrollgate_' });
  }
}
