import type pg from 'pg';
import { migrate } from '../pg-util.js';

/** States of a transaction in the coordinator log. */
export type LogState = 'preparing' | 'committing' | 'aborting' | 'committed' | 'aborted';

export interface LogParticipant {
  readonly name: string;
  readonly gid: string;
}

export interface LogRow {
  readonly txid: string;
  readonly owner: string;
  readonly state: LogState;
  readonly participants: readonly LogParticipant[];
  readonly createdAt: Date;
  readonly decidedAt: Date | null;
}

interface RawRow {
  txid: string;
  owner: string;
  state: LogState;
  participants: LogParticipant[];
  created_at: Date;
  decided_at: Date | null;
}

function toRow(r: RawRow): LogRow {
  return {
    txid: r.txid,
    owner: r.owner,
    state: r.state,
    participants: r.participants,
    createdAt: r.created_at,
    decidedAt: r.decided_at,
  };
}

/** All SQL of the coordinator log lives here. Every write is its own autocommit statement. */
export class LogStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private readonly prefix: string,
  ) {}

  migrate(): Promise<void> {
    const t = this.table;
    return migrate(this.pool, t, [
      `CREATE TABLE IF NOT EXISTS ${t} (
        txid uuid PRIMARY KEY,
        gid_prefix text NOT NULL,
        owner text NOT NULL,
        state text NOT NULL CHECK (state IN ('preparing', 'committing', 'aborting', 'committed', 'aborted')),
        participants jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        decided_at timestamptz,
        finished_at timestamptz
      )`,
      `CREATE INDEX IF NOT EXISTS ${t}_open_idx ON ${t} (gid_prefix)
        WHERE state IN ('preparing', 'committing', 'aborting')`,
    ]);
  }

  /** Writes the "about to prepare" record; must be durable before the first PREPARE. */
  async begin(txid: string, owner: string, participants: readonly LogParticipant[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (txid, gid_prefix, owner, state, participants)
       VALUES ($1, $2, $3, 'preparing', $4::jsonb)`,
      [txid, this.prefix, owner, JSON.stringify(participants)],
    );
  }

  /**
   * Records the decision with a compare-and-set from `preparing`: whoever flips the row first
   * (the live coordinator, recovery, or an operator) decides, and everyone else obeys.
   * Returns the state after the attempt.
   */
  async decide(
    txid: string,
    decision: 'committing' | 'aborting',
    owner: string,
  ): Promise<LogState | undefined> {
    const { rows } = await this.pool.query<{ state: LogState }>(
      `UPDATE ${this.table} SET state = $2, owner = $3, decided_at = now()
       WHERE txid = $1 AND state = 'preparing' RETURNING state`,
      [txid, decision, owner],
    );
    if (rows[0]) return rows[0].state;
    return (await this.get(txid))?.state;
  }

  /** Inserts a presumed-abort record for a prepared transaction the log never saw. */
  async presumeAbort(
    txid: string,
    owner: string,
    participants: readonly LogParticipant[],
  ): Promise<LogRow | undefined> {
    await this.pool.query(
      `INSERT INTO ${this.table} (txid, gid_prefix, owner, state, participants, decided_at)
       VALUES ($1, $2, $3, 'aborting', $4::jsonb, now()) ON CONFLICT (txid) DO NOTHING`,
      [txid, this.prefix, owner, JSON.stringify(participants)],
    );
    return this.get(txid);
  }

  /**
   * Marks the outcome applied everywhere. Not flushed to disk before returning
   * (`synchronous_commit = off`): losing this write in a crash only makes recovery look at the
   * transaction once more, find nothing prepared and mark it again.
   */
  async finish(txid: string, state: 'committed' | 'aborted'): Promise<void> {
    const from = state === 'committed' ? 'committing' : 'aborting';
    // set_config(…, true) lasts until the end of this statement's own transaction, whose
    // commit then skips the flush.
    await this.pool.query(
      `WITH relax AS (SELECT set_config('synchronous_commit', 'off', true))
       UPDATE ${this.table} SET state = $2, finished_at = now()
       WHERE txid = $1 AND state = $3 AND EXISTS (SELECT 1 FROM relax)`,
      [txid, state, from],
    );
  }

  async get(txid: string): Promise<LogRow | undefined> {
    const { rows } = await this.pool.query<RawRow>(
      `SELECT txid, owner, state, participants, created_at, decided_at FROM ${this.table}
       WHERE txid = $1 AND gid_prefix = $2`,
      [txid, this.prefix],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async getMany(txids: readonly string[]): Promise<LogRow[]> {
    if (txids.length === 0) return [];
    const { rows } = await this.pool.query<RawRow>(
      `SELECT txid, owner, state, participants, created_at, decided_at FROM ${this.table}
       WHERE txid = ANY($1::uuid[]) AND gid_prefix = $2`,
      [txids, this.prefix],
    );
    return rows.map(toRow);
  }

  /** Every transaction of this prefix whose outcome has not been applied everywhere yet. */
  async open(): Promise<LogRow[]> {
    const { rows } = await this.pool.query<RawRow>(
      `SELECT txid, owner, state, participants, created_at, decided_at FROM ${this.table}
       WHERE gid_prefix = $1 AND state IN ('preparing', 'committing', 'aborting')
       ORDER BY created_at`,
      [this.prefix],
    );
    return rows.map(toRow);
  }

  /** Deletes finished records older than `olderThanMs`; returns how many. */
  async prune(olderThanMs: number): Promise<number> {
    const res = await this.pool.query(
      `DELETE FROM ${this.table} WHERE gid_prefix = $1 AND state IN ('committed', 'aborted')
       AND finished_at < now() - make_interval(secs => $2::double precision / 1000)`,
      [this.prefix, olderThanMs],
    );
    return res.rowCount ?? 0;
  }
}
