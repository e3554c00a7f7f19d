import type { Queryable } from '../infra/db/database.js';

// Data access of link previews and file links: the only place that holds their SQL.

/** What a link looks like when shared, fetched and overridden, with its file for file links. */
export interface LinkMediaRow {
  link_id: number | string;
  fetch_status: string | null;
  fetched_title: string | null;
  fetched_description: string | null;
  fetched_image: string | null;
  fetched_site_name: string | null;
  fetched_at: Date | null;
  description: string | null;
  image: string | null;
  upload_id: string | null;
  file_name: string | null;
  content_type: string | null;
  size: number | string | null;
}

const MEDIA_COLUMNS = `p.fetch_status, p.fetched_title, p.fetched_description, p.fetched_image,
  p.fetched_site_name, p.fetched_at, p.description, p.image,
  f.upload_id, u.file_name, u.content_type, u.size`;

/** Preview and file data of several links at once (one query for a page of links). */
export async function findMedia(q: Queryable, linkIds: readonly number[]): Promise<LinkMediaRow[]> {
  if (linkIds.length === 0) return [];
  return q.query<LinkMediaRow>(
    `SELECT l.id AS link_id, ${MEDIA_COLUMNS}
       FROM unnest($1::bigint[]) AS l(id)
       LEFT JOIN link_previews p ON p.link_id = l.id
       LEFT JOIN link_files f ON f.link_id = l.id
       LEFT JOIN uploads u ON u.id = f.upload_id`,
    [linkIds],
  );
}

export interface LinkPageRow extends LinkMediaRow {
  workspace_id: number | string;
  code: string;
  url: string;
  title: string | null;
  created_at: Date;
  expires_at: Date | null;
  deleted_at: Date | null;
}

/** A link by code with its preview (the `/{code}+` page and the share-bot page). */
export async function findLinkPage(q: Queryable, code: string): Promise<LinkPageRow | undefined> {
  const rows = await q.query<LinkPageRow>(
    `SELECT l.id AS link_id, l.workspace_id, l.code, l.url, l.title, l.created_at, l.expires_at,
            l.deleted_at, ${MEDIA_COLUMNS}
       FROM links l
       LEFT JOIN link_previews p ON p.link_id = l.id
       LEFT JOIN link_files f ON f.link_id = l.id
       LEFT JOIN uploads u ON u.id = f.upload_id
      WHERE l.code = $1`,
    [code],
  );
  return rows[0];
}

export interface Overrides {
  description?: string | null;
  image?: string | null;
  imageUploadId?: string | null;
}

/** Stores the owner's overrides; only the given fields change. */
export async function saveOverrides(q: Queryable, linkId: number, o: Overrides): Promise<void> {
  const cols: string[] = [];
  const params: unknown[] = [linkId];
  const add = (column: string, value: unknown) => {
    params.push(value);
    cols.push(column);
  };
  if (o.description !== undefined) add('description', o.description);
  if (o.image !== undefined) add('image', o.image);
  if (o.imageUploadId !== undefined) add('image_upload_id', o.imageUploadId);
  if (cols.length === 0) return;
  const values = cols.map((_, i) => `$${i + 2}`).join(', ');
  const sets = cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  await q.query(
    `INSERT INTO link_previews (link_id, ${cols.join(', ')}) VALUES ($1, ${values})
     ON CONFLICT (link_id) DO UPDATE SET ${sets}, updated_at = now()`,
    params,
  );
}

export async function insertFileLink(
  q: Queryable,
  linkId: number,
  uploadId: string,
): Promise<void> {
  await q.query(
    `INSERT INTO link_files (link_id, upload_id) VALUES ($1, $2)
     ON CONFLICT (link_id) DO UPDATE SET upload_id = EXCLUDED.upload_id`,
    [linkId, uploadId],
  );
}

export async function deleteFileLink(q: Queryable, linkId: number): Promise<void> {
  await q.query(`DELETE FROM link_files WHERE link_id = $1`, [linkId]);
}

/**
 * Asks for a fetch of `url` for the link. Idempotent: a redelivered event for a URL already
 * fetched (or being fetched) changes nothing; a new URL starts over.
 */
/**
 * Asks for previews of links (one statement for many): a link's row becomes pending (or
 * skipped) unless it already asked for the same URL. Returns how many rows changed. At most
 * one request per link: the caller keeps the latest.
 */
export async function requestFetches(
  q: Queryable,
  requests: readonly { linkId: number; url: string; status: 'pending' | 'skipped' }[],
): Promise<number> {
  if (requests.length === 0) return 0;
  const rows = await q.query(
    `INSERT INTO link_previews (link_id, fetch_status, fetch_url)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) ORDER BY 1
     ON CONFLICT (link_id) DO UPDATE
       SET fetch_status = EXCLUDED.fetch_status, fetch_url = EXCLUDED.fetch_url,
           fetch_attempts = 0, claimed_until = NULL, fetch_error = NULL, updated_at = now()
       WHERE link_previews.fetch_url IS DISTINCT FROM EXCLUDED.fetch_url
          OR link_previews.fetch_status = 'none'
     RETURNING link_id`,
    [requests.map((r) => r.linkId), requests.map((r) => r.status), requests.map((r) => r.url)],
  );
  return rows.length;
}

export interface ClaimedFetch {
  link_id: number | string;
  fetch_url: string;
  fetch_attempts: number;
}

/** Claims pending fetches for `leaseMs` (several instances share the work). */
export async function claimFetches(
  q: Queryable,
  limit: number,
  leaseMs: number,
): Promise<ClaimedFetch[]> {
  return q.query<ClaimedFetch>(
    `UPDATE link_previews p
        SET claimed_until = now() + make_interval(secs => $2::float8 / 1000),
            fetch_attempts = p.fetch_attempts + 1
      WHERE p.link_id IN (
        SELECT link_id FROM link_previews
         WHERE fetch_status = 'pending' AND (claimed_until IS NULL OR claimed_until < now())
         ORDER BY link_id LIMIT $1
         FOR UPDATE SKIP LOCKED)
      RETURNING p.link_id, p.fetch_url, p.fetch_attempts`,
    [limit, leaseMs],
  );
}

export interface Fetched {
  title: string | null;
  description: string | null;
  image: string | null;
  siteName: string | null;
}

/** Stores a fetch result, unless the link's URL changed meanwhile. Returns the link's code. */
export async function storeFetched(
  q: Queryable,
  linkId: number,
  url: string,
  f: Fetched,
): Promise<string | undefined> {
  const rows = await q.query<{ code: string }>(
    `UPDATE link_previews p
        SET fetch_status = 'done', fetched_title = $3, fetched_description = $4,
            fetched_image = $5, fetched_site_name = $6, fetched_at = now(), fetch_error = NULL,
            claimed_until = NULL, updated_at = now()
       FROM links l
      WHERE p.link_id = $1 AND p.fetch_url = $2 AND l.id = p.link_id
      RETURNING l.code`,
    [linkId, url, f.title, f.description, f.image, f.siteName],
  );
  return rows[0]?.code;
}

/** Records a failed fetch: retried after `retryMs`, or given up on. */
export async function storeFetchFailure(
  q: Queryable,
  linkId: number,
  url: string,
  error: string,
  retryMs: number | undefined,
): Promise<void> {
  await q.query(
    `UPDATE link_previews
        SET fetch_status = CASE WHEN $4::float8 IS NULL THEN 'failed' ELSE 'pending' END,
            claimed_until = CASE WHEN $4::float8 IS NULL THEN NULL
                                 ELSE now() + make_interval(secs => $4::float8 / 1000) END,
            fetch_error = $3, updated_at = now()
      WHERE link_id = $1 AND fetch_url = $2`,
    [linkId, url, error.slice(0, 500), retryMs ?? null],
  );
}
