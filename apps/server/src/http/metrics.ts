import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one app instance (its own registry: no global state). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'linkforge_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly redirects = new Counter({
    name: 'linkforge_redirects_total',
    help: 'Short link lookups by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly cacheLookups = new Counter({
    name: 'linkforge_link_cache_lookups_total',
    help: 'Link cache lookups by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly linksCreated = new Counter({
    name: 'linkforge_links_created_total',
    help: 'Links created',
    registers: [this.registry],
  });
  readonly clicksFlushed = new Counter({
    name: 'linkforge_clicks_flushed_total',
    help: 'Clicks written to the database by the click buffer',
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'linkforge_rate_limited_total',
    help: 'Requests refused by the rate limiter',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'linkforge_' });
  }
}
