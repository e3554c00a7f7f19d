import type { StreamAdapter } from '@linkforge/stream';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import { EventBus } from '../events/event-bus.js';
import { OutboxRelay } from '../events/outbox-relay.js';
import type { Database } from '../infra/db/database.js';
import type { ClickSink } from '../links/click-buffer.js';
import { AnalyticsService } from './analytics-service.js';
import type { ClickMessage } from './click-message.js';
import { ClickPublisher } from './click-publisher.js';
import { BusClickSink } from './click-sinks.js';
import { ClickWorker } from './click-worker.js';
import { Enricher } from './enrich.js';
import { openClickStream } from './stream-factory.js';

export interface AnalyticsLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Everything the events and analytics features run inside one serving process. */
export interface AnalyticsRuntime {
  /** The typed in-process domain event bus. */
  readonly bus: EventBus;
  /** Where the redirect records clicks for analytics (as `link.clicked` events). */
  readonly sink: ClickSink;
  readonly stream: StreamAdapter<ClickMessage>;
  readonly publisher: ClickPublisher;
  readonly relay: OutboxRelay;
  /** The in-process worker (embedded default, or `ANALYTICS_WORKER=true`). */
  readonly worker: ClickWorker | undefined;
  readonly service: AnalyticsService;
  /** Flushes click events, stops the worker and the relay, closes the stream. */
  close(): Promise<void>;
}

/** Prometheus metrics of the analytics pipeline, in the app's registry. */
export function analyticsMetrics(registry: Registry) {
  return {
    published: new Counter({
      name: 'linkforge_click_events_published_total',
      help: 'Click events written to the stream',
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'linkforge_click_events_dropped_total',
      help: 'Click events dropped because the stream stayed unavailable and the buffer was full',
      registers: [registry],
    }),
    stored: new Counter({
      name: 'linkforge_click_events_stored_total',
      help: 'Click events written to analytics by this process',
      registers: [registry],
    }),
    lag: new Histogram({
      name: 'linkforge_click_ingest_lag_seconds',
      help: 'Time from the redirect to the rollup commit',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}

/**
 * Starts the event bus with its outbox relay, the click event publisher and (embedded
 * default) an in-process analytics worker.
 */
export async function startAnalytics(options: {
  readonly config: Config;
  readonly db: Database;
  readonly log: AnalyticsLogger;
  readonly registry: Registry;
}): Promise<AnalyticsRuntime> {
  const { config, db, log } = options;
  const m = analyticsMetrics(options.registry);
  const bus = new EventBus({
    onError: (err, event) => log.warn({ err, type: event.type }, 'event handler failed'),
  });
  const relay = new OutboxRelay(db, bus, {
    onError: (err) => log.warn({ err }, 'outbox relay round failed; retrying'),
    onGiveUp: (id, err) => log.error({ err, eventId: id }, 'domain event set aside after retries'),
  });
  const stream = openClickStream(config);
  let worker: ClickWorker | undefined;
  try {
    const publisher = new ClickPublisher(await stream.createProducer(), {
      batchSize: config.analytics.publishBatchSize,
      lingerMs: config.analytics.publishLingerMs,
      onError: (err) => log.warn({ err }, 'click events not written to the stream yet; retrying'),
      onDrop: (n) => {
        m.dropped.inc(n);
        log.error({ dropped: n }, 'click event buffer full: oldest events dropped');
      },
      onPublished: (n) => m.published.inc(n),
    });
    bus.on('link.clicked', (e) => publisher.push(e.id, e.data));
    if (config.analytics.inProcessWorker) {
      worker = await ClickWorker.start(db, stream, await Enricher.open(), {
        batchSize: config.analytics.workerBatchSize,
        consumers: 1,
        onError: (err) => log.warn({ err }, 'click batch failed; it will be delivered again'),
        onBatch: (s) => {
          m.stored.inc(s.stored);
          for (const lag of s.lagsMs) m.lag.observe(lag / 1000);
        },
      });
    }
    relay.start();
    let closed: Promise<void> | undefined;
    return {
      bus,
      sink: new BusClickSink(bus),
      stream,
      publisher,
      relay,
      worker,
      service: new AnalyticsService(db),
      close() {
        closed ??= (async () => {
          const results = await Promise.allSettled([publisher.close(), relay.close()]);
          // The worker drains after the publisher flushed, so an embedded shutdown leaves no
          // click unprocessed in memory.
          if (worker !== undefined) await waitDrained(stream, publisher, worker);
          await stream.close();
          const failed = results.find((r) => r.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
        })();
        return closed;
      },
    };
  } catch (err) {
    await worker?.close();
    await stream.close();
    throw err;
  }
}

async function waitDrained(
  stream: StreamAdapter<ClickMessage>,
  publisher: ClickPublisher,
  worker: ClickWorker,
): Promise<void> {
  if (stream.kind === 'in-process') {
    // In-process events exist only in this process: let the worker catch up (bounded) first.
    const until = Date.now() + 5_000;
    while (Date.now() < until && worker.handled < publisher.published) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await worker.close();
}
