import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { migrate } from '../infra/db/migrate.js';
import { openDatabase } from '../infra/runtime.js';
import { ClickWorker } from './click-worker.js';
import { Enricher } from './enrich.js';
import { openClickStream } from './stream-factory.js';

export const WORKER_USAGE = `Usage: linkforge worker [--consumers N] [--batch-size N] [--name NAME]

Consumes click events from the stream (STREAM_ADAPTER), enriches them and writes raw clicks and
rollups to the database. Run as many as the load needs: they share the events.`;

function positive(name: string, raw: string | undefined, def: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > max) throw new Error(`--${name} must be 1–${max}`);
  return n;
}

/** `linkforge worker`: runs until SIGTERM/SIGINT, then drains its batches and exits. */
export async function runWorker(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      consumers: { type: 'string' },
      'batch-size': { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(WORKER_USAGE);
    return 0;
  }
  if (config.stream.adapter === 'memory') {
    console.error(
      'linkforge worker needs a shared stream (STREAM_ADAPTER=redis, nats or kafka): the in-process stream is consumed inside "linkforge serve".',
    );
    return 2;
  }
  const consumers = positive('consumers', values.consumers, config.analytics.workerConsumers, 64);
  const batchSize = positive(
    'batch-size',
    values['batch-size'],
    config.analytics.workerBatchSize,
    10_000,
  );
  if (values.name !== undefined && !/^[A-Za-z0-9_-]{1,48}$/.test(values.name)) {
    throw new Error('--name must be 1–48 characters of A-Z a-z 0-9 _ -');
  }

  const { db, release } = await openDatabase(config);
  const stream = openClickStream(config);
  let worker: ClickWorker | undefined;
  let stored = 0;
  // Where the time went since the last report: logged every 10 s while batches flow.
  const totals = {
    batches: 0,
    received: 0,
    stored: 0,
    enrich: 0,
    prepare: 0,
    statement: 0,
    tx: 0,
  };
  const report = () => {
    if (totals.batches === 0) return;
    const ms = (v: number) => Math.round(v);
    console.log(
      JSON.stringify({
        msg: 'worker stats',
        batches: totals.batches,
        received: totals.received,
        stored: totals.stored,
        enrichMs: ms(totals.enrich),
        prepareMs: ms(totals.prepare),
        statementMs: ms(totals.statement),
        transactionMs: ms(totals.tx),
      }),
    );
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] = 0;
  };
  const reporter = setInterval(report, 10_000);
  reporter.unref();
  try {
    await migrate(db);
    worker = await ClickWorker.start(db, stream, await Enricher.open(), {
      consumers,
      batchSize,
      ...(values.name !== undefined ? { name: values.name } : {}),
      onBatch: (s) => {
        stored += s.stored;
        totals.batches++;
        totals.received += s.received;
        totals.stored += s.stored;
        totals.enrich += s.enrichMs;
        totals.prepare += s.timings.prepare;
        totals.statement += s.timings.statement;
        totals.tx += s.transactionMs;
      },
      onError: (err) =>
        console.error(`click batch failed (it will be delivered again): ${String(err)}`),
      onReject: (reason, m) => console.error(`${reason}: event ${JSON.stringify(m.id)} skipped`),
    });
    console.log(
      JSON.stringify({
        msg: 'worker ready',
        adapter: config.stream.adapter,
        stream: config.stream.name,
        consumers,
        batchSize,
      }),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    console.log(JSON.stringify({ msg: 'worker stopping', stored }));
    return 0;
  } finally {
    await worker?.close();
    clearInterval(reporter);
    report();
    await stream.close();
    await db.close();
    await release();
  }
}
