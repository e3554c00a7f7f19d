import type { StreamAdapter, StreamConsumer, StreamMessage } from '@linkforge/stream';
import type { Database } from '../infra/db/database.js';
import { parseClickMessage, type ClickMessage } from './click-message.js';
import {
  ensurePartitions,
  pruneVisitorState,
  saltsFor,
  storeClicks,
  utcDay,
  workspacesOf,
  type StoreResult,
  type StoreTimings,
  type StoredClick,
} from './click-store.js';
import type { Enricher } from './enrich.js';
import { ANALYTICS_GROUP } from './stream-factory.js';

const DAY_MS = 86_400_000;
/** Clicks older than this or further than a day ahead are refused as malformed. */
const MAX_AGE_MS = 400 * DAY_MS;

export interface BatchStats {
  /** Messages in the batch. */
  readonly received: number;
  /** Clicks newly written (the rest were redeliveries or malformed). */
  readonly stored: number;
  /** Messages refused as malformed or for an unknown link (acked, not retried). */
  readonly rejected: number;
  /** Milliseconds from the click to its rollup commit, for each stored click. */
  readonly lagsMs: readonly number[];
  /** Milliseconds spent enriching the batch (GeoIP, user agent, visitor hash). */
  readonly enrichMs: number;
  /** Milliseconds of the committed attempt: parameters built, then the statement. */
  readonly timings: StoreTimings;
  /** Milliseconds of the whole transaction, commit included (all attempts). */
  readonly transactionMs: number;
}

export interface ClickWorkerOptions {
  /**
   * Most events per batch. Default 10,000. A batch is what the stream has ready, up to this:
   * small under light load (low lag), full under heavy load (fewer, larger statements).
   */
  readonly batchSize?: number;
  /** Consumers (group members) in this process. Default 1. */
  readonly consumers?: number;
  /** Name prefix of the consumers inside the group (a restart reusing it resumes its pending events at once). */
  readonly name?: string;
  readonly onBatch?: (stats: BatchStats) => void;
  readonly onError?: (err: unknown) => void;
  readonly onReject?: (reason: string, message: StreamMessage<unknown>) => void;
}

const RETRYABLE = new Set(['40P01', '40001']);

/**
 * The analytics worker: consumes click events in batches from the stream's `analytics`
 * consumer group, enriches them, and writes raw clicks plus rollups in one transaction per
 * batch before acknowledging it. Delivery is at-least-once; the writes are idempotent by event
 * id, so counts are exact however often a batch is delivered. Several workers (processes or
 * consumers) share the group's events.
 *
 * @example
 * const worker = await ClickWorker.start(db, stream, await Enricher.open(), { batchSize: 10_000 });
 * process.once('SIGTERM', () => void worker.close());
 */
export class ClickWorker {
  readonly #salts = new Map<string, Buffer>();
  readonly #workspaces = new Map<number, number>();
  readonly #months = new Set<string>();
  #consumers: StreamConsumer<ClickMessage>[] = [];
  #runs: Promise<void>[] = [];
  #maintenance: NodeJS.Timeout | undefined;
  #closed = false;
  #handled = 0;

  private constructor(
    private readonly db: Database,
    private readonly enricher: Enricher,
    private readonly options: ClickWorkerOptions,
  ) {}

  /** Joins the consumer group with `options.consumers` consumers and starts consuming. */
  static async start(
    db: Database,
    stream: StreamAdapter<ClickMessage>,
    enricher: Enricher,
    options: ClickWorkerOptions = {},
  ): Promise<ClickWorker> {
    const worker = new ClickWorker(db, enricher, options);
    await worker.maintain();
    const n = options.consumers ?? 1;
    for (let i = 0; i < n; i++) {
      const consumer = await stream.createConsumer({
        group: ANALYTICS_GROUP,
        ...(options.name !== undefined
          ? { name: n === 1 ? options.name : `${options.name}-${i}` }
          : {}),
        batchSize: options.batchSize ?? 10_000,
        waitMs: 200,
      });
      worker.#consumers.push(consumer);
      worker.#runs.push(
        consumer.run((batch) => worker.handle(batch), {
          retryDelayMs: 500,
          onError: (err) => options.onError?.(err),
        }),
      );
    }
    worker.#maintenance = setInterval(() => {
      worker.maintain().catch((err: unknown) => options.onError?.(err));
    }, 3_600_000);
    worker.#maintenance.unref();
    return worker;
  }

  /**
   * Creates the partitions of this month and the next two ahead of time and prunes visitor
   * salts past retention. Runs at start and hourly.
   */
  async maintain(now = Date.now()): Promise<void> {
    const months = [now, now + 31 * DAY_MS, now + 62 * DAY_MS];
    await ensurePartitions(this.db, months);
    for (const ms of months) this.#months.add(utcDay(ms).slice(0, 7));
    await pruneVisitorState(this.db, now);
    for (const day of this.#salts.keys())
      if (day < utcDay(now - 3 * DAY_MS)) this.#salts.delete(day);
  }

  /** Messages this worker has processed (committed) so far, duplicates and rejects included. */
  get handled(): number {
    return this.#handled;
  }

  /** Processes one batch: resolves once its effects are committed (then it may be acked). */
  async handle(batch: readonly StreamMessage<ClickMessage>[]): Promise<void> {
    const now = Date.now();
    const valid: { id: string; m: ClickMessage }[] = [];
    let rejected = 0;
    for (const msg of batch) {
      const m = parseClickMessage(msg.payload);
      if (m === undefined || m.at < now - MAX_AGE_MS || m.at > now + DAY_MS) {
        rejected++;
        this.options.onReject?.('malformed click event', msg);
        continue;
      }
      valid.push({ id: msg.id, m });
    }

    const missingDays = [...new Set(valid.map((v) => utcDay(v.m.at)))].filter(
      (d) => !this.#salts.has(d),
    );
    if (missingDays.length > 0) {
      for (const [day, salt] of await saltsFor(this.db, missingDays)) this.#salts.set(day, salt);
    }
    const missingLinks = [...new Set(valid.map((v) => v.m.linkId))].filter(
      (id) => !this.#workspaces.has(id),
    );
    if (missingLinks.length > 0) {
      for (const [id, ws] of await workspacesOf(this.db, missingLinks))
        this.#workspaces.set(id, ws);
    }
    const newMonths = valid.filter((v) => !this.#months.has(utcDay(v.m.at).slice(0, 7)));
    if (newMonths.length > 0) {
      await ensurePartitions(
        this.db,
        newMonths.map((v) => v.m.at),
      );
      for (const v of newMonths) this.#months.add(utcDay(v.m.at).slice(0, 7));
    }

    const enrichStart = performance.now();
    const rows: StoredClick[] = [];
    for (const { id, m } of valid) {
      const workspaceId = this.#workspaces.get(m.linkId);
      if (workspaceId === undefined) {
        rejected++;
        continue;
      }
      const salt = this.#salts.get(utcDay(m.at))!;
      rows.push(this.enricher.enrich(id, m, salt, workspaceId));
    }

    const enrichMs = performance.now() - enrichStart;

    const txStart = performance.now();
    let result: StoreResult = { stored: 0, timings: { prepare: 0, statement: 0 } };
    for (let attempt = 0; rows.length > 0; attempt++) {
      try {
        result = await this.db.transaction((tx) => storeClicks(tx, rows));
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 4 || code === undefined || !RETRYABLE.has(code)) throw err;
        await new Promise((r) => setTimeout(r, 20 * 2 ** attempt + Math.random() * 20));
      }
    }
    const transactionMs = performance.now() - txStart;
    const done = Date.now();
    this.#handled += batch.length;
    this.options.onBatch?.({
      received: batch.length,
      stored: result.stored,
      rejected,
      lagsMs: rows.map((r) => done - r.clickedAt),
      enrichMs,
      timings: result.timings,
      transactionMs,
    });
  }

  /** Stops consuming: the batches under way finish and are acked, the rest is left for others. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#maintenance !== undefined) clearInterval(this.#maintenance);
    await Promise.all(this.#consumers.map((c) => c.close()));
    await Promise.allSettled(this.#runs);
  }
}
