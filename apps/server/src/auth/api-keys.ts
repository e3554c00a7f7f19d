import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors.js';
import type { Broadcast } from '../infra/broadcast.js';
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

const REVOKED_TOPIC = 'api-key-revoked';

export interface ApiKeyServiceOptions {
  /**
   * Carries revocations to every instance, so a revoked key stops working everywhere at once
   * although keys are cached. Without it, only this process learns of revocations.
   */
  readonly broadcast?: Broadcast;
  /** How long a verified key is trusted without asking the database. 0 turns caching off. */
  readonly cacheTtlMs?: number;
}

/**
 * API keys: random secrets shown once, stored as SHA-256 hashes, scoped to one workspace.
 * Verified keys are cached in process by hash for `cacheTtlMs`; a revocation drops the key
 * from the caches of every instance (through the broadcast) before it is answered, and the
 * TTL bounds the damage should a broadcast be lost.
 */
export class ApiKeyService {
  readonly #lastUsedWrites = new Map<number, number>();
  readonly #cache: LRUCache<string, Principal & { keyId: number }> | undefined;
  readonly #broadcast: Broadcast | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Counts revocations seen: a lookup that raced one does not cache its (stale) answer. */
  #revocations = 0;

  private constructor(
    private readonly db: Database,
    options: ApiKeyServiceOptions,
  ) {
    const ttl = options.cacheTtlMs ?? 0;
    this.#cache = ttl > 0 ? new LRUCache({ max: 10_000, ttl }) : undefined;
    this.#broadcast = options.broadcast;
  }

  static async create(db: Database, options: ApiKeyServiceOptions = {}): Promise<ApiKeyService> {
    const service = new ApiKeyService(db, options);
    if (service.#cache !== undefined && options.broadcast !== undefined) {
      service.#unsubscribe = await options.broadcast.subscribe(REVOKED_TOPIC, (message) => {
        if (message === null) {
          service.#revocations++;
          service.#cache?.clear();
        } else service.#forget(Number(message));
      });
    }
    return service;
  }

  /** Stops listening for revocations. */
  close(): void {
    this.#unsubscribe?.();
  }

  #forget(keyId: number): void {
    this.#revocations++;
    const cache = this.#cache;
    if (cache === undefined) return;
    for (const [hash, p] of cache.entries()) if (p.keyId === keyId) cache.delete(hash);
  }

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
    const hash = hashApiKey(secret);
    const cacheKey = this.#cache !== undefined ? hash.toString('base64') : '';
    const cached = this.#cache?.get(cacheKey);
    if (cached !== undefined) {
      this.#touch(cached.keyId);
      return cached;
    }
    const seen = this.#revocations;
    const rows = await this.db.query<{ id: number; workspace_id: number; role: Role }>(
      `SELECT id, workspace_id, role FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    this.#touch(row.id);
    const principal = { workspaceId: row.workspace_id, keyId: row.id, role: row.role };
    if (seen === this.#revocations) this.#cache?.set(cacheKey, principal);
    return principal;
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
    this.#forget(keyId);
    await this.#broadcast?.publish(REVOKED_TOPIC, String(keyId));
  }
}
