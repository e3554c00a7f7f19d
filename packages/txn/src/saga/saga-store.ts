import type pg from 'pg';
import { SagaBusyError } from '../errors.js';
import { migrate } from '../pg-util.js';

export type SagaStatus =
  'running' | 'compensating' | 'completed' | 'compensated' | 'compensation_failed';
export type StepStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'compensating'
  | 'compensated'
  | 'compensation_failed';

/** An error as the log keeps it. */
export interface StoredError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

export interface StepRecord {
  readonly index: number;
  readonly name: string;
  readonly status: StepStatus;
  readonly attempts: number;
  readonly compensationAttempts: number;
  readonly result: unknown;
  readonly error: StoredError | null;
}

export interface SagaRecord {
  readonly id: string;
  readonly name: string;
  readonly status: SagaStatus;
  readonly input: unknown;
  readonly owner: string | null;
  /** The step that failed and made the saga compensate, if any. */
  readonly failure: (StoredError & { readonly step: string }) | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly steps: readonly StepRecord[];
}

interface SagaRaw {
  id: string;
  name: string;
  status: SagaStatus;
  input: unknown;
  owner: string | null;
  failure: (StoredError & { step: string }) | null;
  created_at: Date;
  updated_at: Date;
}

interface StepRaw {
  saga_id: string;
  idx: number;
  name: string;
  status: StepStatus;
  attempts: number;
  compensation_attempts: number;
  result: unknown;
  error: StoredError | null;
}

/** All SQL of the saga log. Every write checks that we still own the saga. */
export class SagaStore {
  private readonly sagas: string;
  private readonly steps: string;

  constructor(
    private readonly pool: pg.Pool,
    tablePrefix: string,
  ) {
    this.sagas = `${tablePrefix}s`;
    this.steps = `${tablePrefix}_steps`;
  }

  migrate(): Promise<void> {
    return migrate(this.pool, this.sagas, [
      `CREATE TABLE IF NOT EXISTS ${this.sagas} (
        id text PRIMARY KEY,
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'compensating', 'completed', 'compensated', 'compensation_failed')),
        input jsonb NOT NULL,
        owner text,
        failure jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX IF NOT EXISTS ${this.sagas}_open_idx ON ${this.sagas} (created_at)
        WHERE status IN ('running', 'compensating')`,
      `CREATE TABLE IF NOT EXISTS ${this.steps} (
        saga_id text NOT NULL REFERENCES ${this.sagas} (id) ON DELETE CASCADE,
        idx integer NOT NULL,
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'compensating', 'compensated', 'compensation_failed')),
        attempts integer NOT NULL DEFAULT 0,
        compensation_attempts integer NOT NULL DEFAULT 0,
        result jsonb,
        error jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (saga_id, idx)
      )`,
    ]);
  }

  /** Creates the saga and its pending steps; false when the id exists already. */
  async create(
    id: string,
    name: string,
    input: string,
    owner: string,
    stepNames: readonly string[],
  ): Promise<boolean> {
    // One statement: the saga and its pending steps appear together or not at all.
    const res = await this.pool.query(
      `WITH saga AS (
         INSERT INTO ${this.sagas} (id, name, status, input, owner) VALUES ($1, $2, 'running', $3::jsonb, $4)
         ON CONFLICT (id) DO NOTHING RETURNING id
       )
       INSERT INTO ${this.steps} (saga_id, idx, name, status)
       SELECT saga.id, s.i - 1, s.n, 'pending' FROM saga, unnest($5::text[]) WITH ORDINALITY AS s(n, i)`,
      [id, name, input, owner, stepNames],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    const { rows } = await this.pool.query<SagaRaw>(
      `SELECT id, name, status, input, owner, failure, created_at, updated_at FROM ${this.sagas} WHERE id = $1`,
      [id],
    );
    const saga = rows[0];
    if (!saga) return undefined;
    const steps = await this.pool.query<StepRaw>(
      `SELECT saga_id, idx, name, status, attempts, compensation_attempts, result, error
       FROM ${this.steps} WHERE saga_id = $1 ORDER BY idx`,
      [id],
    );
    return toRecord(saga, steps.rows);
  }

  async list(filter: { status?: readonly SagaStatus[]; limit: number }): Promise<SagaRecord[]> {
    const { rows } = await this.pool.query<SagaRaw>(
      `SELECT id, name, status, input, owner, failure, created_at, updated_at FROM ${this.sagas}
       WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
       ORDER BY created_at, id LIMIT $2`,
      [filter.status ?? null, filter.limit],
    );
    if (rows.length === 0) return [];
    const steps = await this.pool.query<StepRaw>(
      `SELECT saga_id, idx, name, status, attempts, compensation_attempts, result, error
       FROM ${this.steps} WHERE saga_id = ANY($1::text[]) ORDER BY saga_id, idx`,
      [rows.map((r) => r.id)],
    );
    return rows.map((r) =>
      toRecord(
        r,
        steps.rows.filter((s) => s.saga_id === r.id),
      ),
    );
  }

  /** Ids and kinds of the sagas that are not finished. */
  async open(): Promise<{ id: string; name: string }[]> {
    const { rows } = await this.pool.query<{ id: string; name: string }>(
      `SELECT id, name FROM ${this.sagas} WHERE status IN ('running', 'compensating') ORDER BY created_at, id`,
    );
    return rows;
  }

  /** Takes over a saga from `from` (a dead owner); false when someone else got it first. */
  async claim(id: string, from: string | null, to: string): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE ${this.sagas} SET owner = $3, updated_at = now()
       WHERE id = $1 AND owner IS NOT DISTINCT FROM $2 AND status IN ('running', 'compensating')`,
      [id, from, to],
    );
    return res.rowCount === 1;
  }

  /**
   * Not flushed before returning (`synchronous_commit = off`): if a crash loses it, the step
   * still shows as not done and runs again on resume, which at-least-once allows. Any later
   * durable write (succeeded, failed) flushes it too, since the WAL is written in order.
   */
  async stepStarted(id: string, owner: string, idx: number, compensation: boolean): Promise<void> {
    await this.updateStep(
      id,
      owner,
      idx,
      compensation
        ? `status = 'compensating', compensation_attempts = compensation_attempts + 1`
        : `status = 'running', attempts = attempts + 1`,
      [],
      false,
    );
  }

  async stepSucceeded(id: string, owner: string, idx: number, result: string): Promise<void> {
    await this.updateStep(
      id,
      owner,
      idx,
      `status = 'succeeded', result = $4::jsonb, error = NULL`,
      [result],
    );
  }

  async stepError(
    id: string,
    owner: string,
    idx: number,
    error: StoredError,
    status?: StepStatus,
  ): Promise<void> {
    await this.updateStep(id, owner, idx, `error = $4::jsonb, status = coalesce($5, status)`, [
      JSON.stringify(error),
      status ?? null,
    ]);
  }

  async stepCompensated(id: string, owner: string, idx: number): Promise<void> {
    await this.updateStep(id, owner, idx, `status = 'compensated'`, []);
  }

  /** Moves the saga to a new status, optionally recording the failure that caused it. */
  async setStatus(
    id: string,
    owner: string,
    status: SagaStatus,
    failure?: StoredError & { step: string },
  ): Promise<void> {
    const res = await this.pool.query(
      `UPDATE ${this.sagas} SET status = $3, failure = coalesce($4::jsonb, failure), updated_at = now(),
         owner = CASE WHEN $3 IN ('completed', 'compensated', 'compensation_failed') THEN NULL ELSE owner END
       WHERE id = $1 AND owner = $2`,
      [id, owner, status, failure ? JSON.stringify(failure) : null],
    );
    if (res.rowCount !== 1) throw new SagaBusyError(id);
  }

  /**
   * One autocommit statement per transition (one round trip, one commit). The share lock on
   * the saga row fences it: if another orchestrator claimed the saga first, the re-checked
   * owner no longer matches and nothing is written.
   */
  private async updateStep(
    id: string,
    owner: string,
    idx: number,
    set: string,
    params: readonly unknown[],
    durable = true,
  ): Promise<void> {
    // set_config(…, true) lasts until the end of this statement's own transaction, whose
    // commit then skips the flush: one round trip either way.
    const relax = durable ? '' : `relax AS (SELECT set_config('synchronous_commit', 'off', true)),`;
    const sql = `WITH ${relax} fence AS (SELECT 1 FROM ${this.sagas} WHERE id = $1 AND owner = $2 FOR SHARE)
       UPDATE ${this.steps} SET ${set}, updated_at = now()
       WHERE saga_id = $1 AND idx = $3 AND EXISTS (SELECT 1 FROM fence)
       ${durable ? '' : 'AND EXISTS (SELECT 1 FROM relax)'}`;
    const { rowCount } = await this.pool.query(sql, [id, owner, idx, ...params]);
    if (rowCount !== 1) throw new SagaBusyError(id);
  }
}

function toRecord(saga: SagaRaw, steps: readonly StepRaw[]): SagaRecord {
  return {
    id: saga.id,
    name: saga.name,
    status: saga.status,
    input: saga.input,
    owner: saga.owner,
    failure: saga.failure,
    createdAt: saga.created_at,
    updatedAt: saga.updated_at,
    steps: steps.map((s) => ({
      index: s.idx,
      name: s.name,
      status: s.status,
      attempts: s.attempts,
      compensationAttempts: s.compensation_attempts,
      result: s.result,
      error: s.error,
    })),
  };
}
