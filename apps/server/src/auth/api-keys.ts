import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Database, Queryable } from '../infra/db/database.js';
import { base62 } from '../links/codes.js';

export type Role = 'admin' | 'member';

/** Who is calling: a workspace and, unless anonymous, the key that proved it. */
export interface Principal {
  readonly workspaceId: number;
  readonly keyId: number | null;
  readonly role: Role | 'anonymous';
}

export interface ApiKeyRecord {
  id: number;
  workspaceId: number;
  name: string;
  prefix: string;
  role: Role;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const KEY_PREFIX = 'lf_';

/** A new secret: `lf_` + 43 base62 characters (256 bits). */
export function generateApiKey(): string {
  return KEY_PREFIX + base62(BigInt(`0x${randomBytes(32).toString('hex')}`), 43);
}

export function hashApiKey(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

interface KeyRow {
  id: number;
  workspace_id: number;
  name: string;
  prefix: string;
  role: Role;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const fromRow = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  prefix: r.prefix,
  role: r.role,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

const KEY_COLUMNS = 'id, workspace_id, name, prefix, role, created_at, last_used_at, revoked_at';

export async function defaultWorkspaceId(q: Queryable): Promise<number> {
  const rows = await q.query<{ id: number }>(`SELECT id FROM workspaces WHERE slug = 'default'`);
  if (rows[0] === undefined) throw new Error('the default workspace is missing: run migrations');
  return rows[0].id;
}

/**
 * API keys: random secrets shown once, stored as SHA-256 hashes, scoped to one workspace.
 * Lookups go to the database every time, so a revocation holds at once on every instance.
 */
export class ApiKeyService {
  readonly #lastUsedWrites = new Map<number, number>();

  constructor(private readonly db: Database) {}

  async create(
    workspaceId: number,
    name: string,
    role: Role,
  ): Promise<{ key: string; record: ApiKeyRecord }> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 100) {
      throw new AppError('validation_failed', 'A key name has 1 to 100 characters.');
    }
    const key = generateApiKey();
    const rows = await this.db.query<KeyRow>(
      `INSERT INTO api_keys (workspace_id, name, prefix, secret_hash, role)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${KEY_COLUMNS}`,
      [workspaceId, trimmed, key.slice(0, 10), hashApiKey(key), role],
    );
    return { key, record: fromRow(rows[0]!) };
  }

  /** Registers an operator-chosen secret as an admin key of the default workspace (idempotent). */
  async ensureBootstrapKey(secret: string): Promise<void> {
    const ws = await defaultWorkspaceId(this.db);
    await this.db.query(
      `INSERT INTO api_keys (workspace_id, name, prefix, secret_hash, role)
       VALUES ($1, 'bootstrap', $2, $3, 'admin') ON CONFLICT (secret_hash) DO NOTHING`,
      [ws, secret.slice(0, 6), hashApiKey(secret)],
    );
  }

  /** The principal of a bearer secret, or undefined if it is unknown or revoked. */
  async authenticate(secret: string): Promise<Principal | undefined> {
    const rows = await this.db.query<{ id: number; workspace_id: number; role: Role }>(
      `SELECT id, workspace_id, role FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL`,
      [hashApiKey(secret)],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    this.#touch(row.id);
    return { workspaceId: row.workspace_id, keyId: row.id, role: row.role };
  }

  /** Records use at most once a minute per key per process: a write per request would cost. */
  #touch(keyId: number): void {
    const now = Date.now();
    if ((this.#lastUsedWrites.get(keyId) ?? 0) > now - 60_000) return;
    this.#lastUsedWrites.set(keyId, now);
    this.db
      .query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [keyId])
      .catch(() => undefined);
  }

  async list(workspaceId: number): Promise<ApiKeyRecord[]> {
    const rows = await this.db.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1 ORDER BY id`,
      [workspaceId],
    );
    return rows.map(fromRow);
  }

  async revoke(workspaceId: number, keyId: number): Promise<void> {
    const rows = await this.db.query(
      `UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL RETURNING id`,
      [keyId, workspaceId],
    );
    if (rows.length === 0)
      throw new AppError('not_found', `No active key ${keyId} in this workspace.`);
  }
}
