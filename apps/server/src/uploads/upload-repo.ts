import type { Queryable } from '../infra/db/database.js';
import type { Upload } from './upload.js';

// Data access of uploads: the only place that holds their SQL.

interface UploadRow {
  id: string;
  workspace_id: number | string;
  object_key: string;
  file_name: string;
  content_type: string;
  size: number | string;
  status: Upload['status'];
  multipart_id: string | null;
  part_size: number | string | null;
  sniffed_type: string | null;
  reject_reason: string | null;
  created_at: Date;
  pending_until: Date;
  completed_at: Date | null;
}

const COLUMNS = `id, workspace_id, object_key, file_name, content_type, size, status, multipart_id,
  part_size, sniffed_type, reject_reason, created_at, pending_until, completed_at`;

function fromRow(r: UploadRow): Upload {
  return {
    id: r.id,
    workspaceId: Number(r.workspace_id),
    objectKey: r.object_key,
    fileName: r.file_name,
    contentType: r.content_type,
    size: Number(r.size),
    status: r.status,
    multipartId: r.multipart_id,
    partSize: r.part_size === null ? null : Number(r.part_size),
    sniffedType: r.sniffed_type,
    rejectReason: r.reject_reason,
    createdAt: r.created_at,
    pendingUntil: r.pending_until,
    completedAt: r.completed_at,
  };
}

export interface NewUpload {
  readonly id: string;
  readonly workspaceId: number;
  readonly objectKey: string;
  readonly fileName: string;
  readonly contentType: string;
  readonly size: number;
  readonly multipartId: string | null;
  readonly partSize: number | null;
  readonly pendingUntil: Date;
}

export async function insertUpload(q: Queryable, u: NewUpload): Promise<Upload> {
  const rows = await q.query<UploadRow>(
    `INSERT INTO uploads (id, workspace_id, object_key, file_name, content_type, size, status,
       multipart_id, part_size, pending_until)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9) RETURNING ${COLUMNS}`,
    [
      u.id,
      u.workspaceId,
      u.objectKey,
      u.fileName,
      u.contentType,
      u.size,
      u.multipartId,
      u.partSize,
      u.pendingUntil,
    ],
  );
  return fromRow(rows[0]!);
}

export async function findUpload(q: Queryable, id: string): Promise<Upload | undefined> {
  const rows = await q.query<UploadRow>(`SELECT ${COLUMNS} FROM uploads WHERE id = $1`, [id]);
  return rows[0] === undefined ? undefined : fromRow(rows[0]);
}

/** Marks a pending upload complete; `undefined` when it was no longer pending (swept, raced). */
export async function markComplete(
  q: Queryable,
  id: string,
  sniffedType: string | null,
): Promise<Upload | undefined> {
  const rows = await q.query<UploadRow>(
    `UPDATE uploads SET status = 'complete', completed_at = now(), sniffed_type = $2
      WHERE id = $1 AND status = 'pending' RETURNING ${COLUMNS}`,
    [id, sniffedType],
  );
  return rows[0] === undefined ? undefined : fromRow(rows[0]);
}

export async function markRejected(q: Queryable, id: string, reason: string): Promise<void> {
  await q.query(
    `UPDATE uploads SET status = 'rejected', reject_reason = $2
      WHERE id = $1 AND status = 'pending'`,
    [id, reason.slice(0, 500)],
  );
}

/** Uploads the sweeper should clear: pending past their deadline, and left-over rejects. */
export async function findStale(q: Queryable, now: Date, limit: number): Promise<Upload[]> {
  const rows = await q.query<UploadRow>(
    `SELECT ${COLUMNS} FROM uploads
      WHERE status IN ('pending', 'expired', 'rejected') AND pending_until < $1
      ORDER BY pending_until LIMIT $2`,
    [now, limit],
  );
  return rows.map(fromRow);
}

/**
 * Takes a stale upload for deletion. Only one caller wins, and once taken `complete` can no
 * longer succeed on it, so an object is never deleted under a completed upload.
 */
export async function claimForSweep(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query(
    `UPDATE uploads SET status = 'expired'
      WHERE id = $1 AND status IN ('pending', 'expired', 'rejected') RETURNING id`,
    [id],
  );
  return rows.length > 0;
}

export async function deleteSwept(q: Queryable, id: string): Promise<void> {
  await q.query(`DELETE FROM uploads WHERE id = $1 AND status = 'expired'`, [id]);
}

/** Completed uploads by id (for link views). */
export async function findComplete(q: Queryable, ids: readonly string[]): Promise<Upload[]> {
  if (ids.length === 0) return [];
  const rows = await q.query<UploadRow>(
    `SELECT ${COLUMNS} FROM uploads WHERE id = ANY($1::text[]) AND status = 'complete'`,
    [ids],
  );
  return rows.map(fromRow);
}
