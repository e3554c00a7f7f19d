import { randomUUID } from 'node:crypto';
import { linkSnapshot } from '../events/link-events.js';
import type { BatchedLink } from '../events/outbox.js';
import type { Queryable } from '../infra/db/database.js';
import type { Link, RedirectType } from './link.js';

interface LinkRow {
  id: number;
  workspace_id: number;
  code: string;
  is_alias: boolean;
  url: string;
  redirect_type: number;
  title: string | null;
  tags: string[];
  expires_at: Date | null;
  max_clicks: number | null;
  clicks: number;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

const COLUMNS = `id, workspace_id, code, is_alias, url, redirect_type, title, tags, expires_at,
  max_clicks, clicks, created_at, updated_at, deleted_at`;

function fromRow(r: LinkRow): Link {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    code: r.code,
    isAlias: r.is_alias,
    url: r.url,
    redirectType: r.redirect_type as RedirectType,
    title: r.title,
    tags: r.tags,
    expiresAt: r.expires_at,
    maxClicks: r.max_clicks,
    clicks: r.clicks,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deletedAt: r.deleted_at,
  };
}

export interface NewLinkRow {
  id: number;
  workspaceId: number;
  code: string;
  isAlias: boolean;
  url: string;
  redirectType: RedirectType;
  title: string | null;
  tags: readonly string[];
  expiresAt: Date | null;
  maxClicks: number | null;
}

/** Draws `n` fresh ids from the link sequence in one round trip. */
export async function allocateIds(q: Queryable, n: number): Promise<number[]> {
  const rows = await q.query<{ id: number }>(
    `SELECT nextval('link_ids') AS id FROM generate_series(1, $1)`,
    [n],
  );
  return rows.map((r) => r.id);
}

/**
 * Inserts the rows whose code is free and, in the same statement (one round trip, atomic even
 * outside a transaction), the `link.created` events of the rows inserted: one outbox row for
 * all of them, whose payload is the links as sent here (snapshots, each with its event id; see
 * migration 066). Returns the inserted links; a row missing from the result lost its code to an
 * existing link, and no event was written for it.
 */
export async function insertLinks(q: Queryable, rows: readonly NewLinkRow[]): Promise<Link[]> {
  if (rows.length === 0) return [];
  const items: BatchedLink[] = rows.map((r) => ({
    eventId: randomUUID(),
    ...linkSnapshot(r),
  }));
  // All rows of a statement share created_at (the transaction's start): it comes back once.
  const [result] = await q.query<{ ids: string | null; created_at: Date | null }>(
    `WITH ins AS (
       INSERT INTO links (id, workspace_id, code, is_alias, url, redirect_type, title, tags,
                          expires_at, max_clicks)
       SELECT r.id, r."workspaceId", r.code, r."isAlias", r.url, r."redirectType", r.title,
              coalesce(r.tags, '{}'), r."expiresAt", r."maxClicks"
       FROM json_to_recordset($1::json) AS r(id bigint, "workspaceId" bigint, code text,
            "isAlias" boolean, url text, "redirectType" smallint, title text, tags text[],
            "expiresAt" timestamptz, "maxClicks" bigint)
       ON CONFLICT (code) DO NOTHING
       RETURNING id, created_at
     ), outbox AS (
       INSERT INTO event_outbox (event_id, type, payload, occurred_at, batch, event_count)
       SELECT gen_random_uuid(), 'link.created',
              CASE WHEN count(*) = $2 THEN $1::json
                   ELSE (SELECT json_agg(e.item ORDER BY e.n)
                           FROM json_array_elements($1::json) WITH ORDINALITY AS e(item, n)
                          WHERE (e.item->>'id')::bigint IN (SELECT id FROM ins)) END,
              min(created_at), true, count(*)
       FROM ins
       HAVING count(*) > 0
     )
     SELECT string_agg(id::text, ',') AS ids, min(created_at) AS created_at FROM ins`,
    [JSON.stringify(items), rows.length],
  );
  if (result?.ids == null || result.created_at === null) return [];
  const createdAt = result.created_at;
  const inserted = new Set(result.ids.split(',').map(Number));
  return rows
    .filter((r) => inserted.has(r.id))
    .map((r) => ({
      id: r.id,
      workspaceId: r.workspaceId,
      code: r.code,
      isAlias: r.isAlias,
      url: r.url,
      redirectType: r.redirectType,
      title: r.title,
      tags: [...r.tags],
      expiresAt: r.expiresAt,
      maxClicks: r.maxClicks,
      clicks: 0,
      createdAt,
      updatedAt: createdAt,
      deletedAt: null,
    }));
}

/** Any link with this code, deleted or not (the redirect path decides what to answer). */
export async function findByCode(q: Queryable, code: string): Promise<Link | undefined> {
  const rows = await q.query<LinkRow>(`SELECT ${COLUMNS} FROM links WHERE code = $1`, [code]);
  return rows[0] === undefined ? undefined : fromRow(rows[0]);
}

/** A live link of one workspace. */
export async function findInWorkspace(
  q: Queryable,
  workspaceId: number,
  code: string,
): Promise<Link | undefined> {
  const rows = await q.query<LinkRow>(
    `SELECT ${COLUMNS} FROM links WHERE code = $1 AND workspace_id = $2 AND deleted_at IS NULL`,
    [code, workspaceId],
  );
  return rows[0] === undefined ? undefined : fromRow(rows[0]);
}

export interface ListFilter {
  readonly workspaceId: number;
  /** Keyset cursor: only links with a smaller id (newest first). */
  readonly beforeId?: number;
  readonly limit: number;
  /** Case-insensitive substring of the code, URL or title. */
  readonly search?: string;
  readonly tag?: string;
  readonly status?: 'active' | 'expired';
}

export async function listLinks(q: Queryable, f: ListFilter): Promise<Link[]> {
  const where = ['workspace_id = $1', 'deleted_at IS NULL'];
  const params: unknown[] = [f.workspaceId];
  if (f.beforeId !== undefined) {
    params.push(f.beforeId);
    where.push(`id < $${params.length}`);
  }
  if (f.search !== undefined) {
    params.push(`%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const p = `$${params.length}`;
    where.push(`(code ILIKE ${p} OR url ILIKE ${p} OR title ILIKE ${p})`);
  }
  if (f.tag !== undefined) {
    params.push([f.tag]);
    // The first condition lets the planner use the partial tags index (links with tags only).
    where.push(`tags <> '{}' AND tags @> $${params.length}::text[]`);
  }
  if (f.status === 'expired') where.push('expires_at IS NOT NULL AND expires_at <= now()');
  if (f.status === 'active') where.push('(expires_at IS NULL OR expires_at > now())');
  params.push(f.limit);
  const rows = await q.query<LinkRow>(
    `SELECT ${COLUMNS} FROM links WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(fromRow);
}

export interface LinkPatch {
  url?: string;
  redirectType?: RedirectType;
  title?: string | null;
  tags?: readonly string[];
  expiresAt?: Date | null;
  maxClicks?: number | null;
}

const PATCH_COLUMNS: Record<keyof LinkPatch, string> = {
  url: 'url',
  redirectType: 'redirect_type',
  title: 'title',
  tags: 'tags',
  expiresAt: 'expires_at',
  maxClicks: 'max_clicks',
};

export async function updateLink(
  q: Queryable,
  workspaceId: number,
  code: string,
  patch: LinkPatch,
): Promise<Link | undefined> {
  const sets = ['updated_at = now()'];
  const params: unknown[] = [code, workspaceId];
  for (const [key, column] of Object.entries(PATCH_COLUMNS) as [keyof LinkPatch, string][]) {
    if (!(key in patch)) continue;
    params.push(patch[key]);
    sets.push(`${column} = $${params.length}`);
  }
  const rows = await q.query<LinkRow>(
    `UPDATE links SET ${sets.join(', ')}
     WHERE code = $1 AND workspace_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    params,
  );
  return rows[0] === undefined ? undefined : fromRow(rows[0]);
}

/** Marks a live link deleted; returns it as deleted, or `undefined` when there was none. */
export async function softDeleteLink(
  q: Queryable,
  workspaceId: number,
  code: string,
): Promise<Link | undefined> {
  const rows = await q.query<LinkRow>(
    `UPDATE links SET deleted_at = now(), updated_at = now()
     WHERE code = $1 AND workspace_id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [code, workspaceId],
  );
  return rows[0] === undefined ? undefined : fromRow(rows[0]);
}

/** Adds buffered click counts, one statement for the whole batch. */
export async function addClicks(
  q: Queryable,
  ids: readonly number[],
  counts: readonly number[],
): Promise<void> {
  await q.query(
    `UPDATE links SET clicks = links.clicks + d.n
     FROM unnest($1::bigint[], $2::bigint[]) AS d(id, n) WHERE links.id = d.id`,
    [ids, counts],
  );
}
