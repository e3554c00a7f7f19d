import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyService, Principal, Role } from '../auth/api-keys.js';
import { AppError } from '../errors.js';
import type { Database } from '../infra/db/database.js';

/** A signed-in dashboard session as the browser sees it (never the token itself). */
export interface SessionInfo {
  readonly keyId: number;
  readonly keyName: string;
  readonly role: Role;
  readonly workspaceId: number;
  readonly expiresAt: Date;
}

/** What {@link SessionStore.open} hands back: the secret cookie value and its CSRF twin. */
export interface OpenedSession {
  readonly token: string;
  readonly csrfToken: string;
  readonly info: SessionInfo;
}

interface SessionRow {
  key_id: number;
  name: string;
  role: Role;
  workspace_id: number;
  expires_at: Date;
}

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * The CSRF token is derived from the session token (HMAC), so it needs no storage, differs
 * per session, and cannot be computed by a page that only sees the cookie-less side.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('linkforge-csrf-v1').digest('base64url');
}

/** Constant-time check of a CSRF header against the session it claims to belong to. */
export function csrfMatches(sessionToken: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Server-side dashboard sessions in the `dashboard_sessions` table. Tokens are random
 * 256-bit secrets; only their SHA-256 hash is stored. Every lookup joins the API key, so a
 * revoked key ends its sessions at once on every instance.
 *
 * @example
 * const store = new SessionStore(db, keys, { ttlSeconds: 8 * 3600 });
 * const { token, csrfToken } = await store.open(apiKey);
 * const principal = await store.principal(token); // { workspaceId, keyId, role }
 */
export class SessionStore {
  #lastPurge = 0;

  constructor(
    private readonly db: Database,
    private readonly keys: ApiKeyService,
    private readonly options: { readonly ttlSeconds: number },
  ) {}

  /** Opens a session for a valid, unrevoked API key; 401 `unauthorized` otherwise. */
  async open(apiKey: string): Promise<OpenedSession> {
    const principal = await this.keys.authenticate(apiKey);
    if (principal === undefined || principal.keyId === null) {
      throw new AppError('unauthorized', 'The API key is unknown or revoked.');
    }
    await this.#purgeExpired();
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    await this.db.query(
      `INSERT INTO dashboard_sessions (token_hash, key_id, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))`,
      [hashToken(token), principal.keyId, this.options.ttlSeconds],
    );
    const info = await this.info(token);
    if (info === undefined) throw new AppError('unauthorized', 'The API key was just revoked.');
    return { token, csrfToken: csrfTokenFor(token), info };
  }

  /** The live session of a token, or undefined when unknown, expired or its key revoked. */
  async info(token: string): Promise<SessionInfo | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const rows = await this.db.query<SessionRow>(
      `SELECT k.id AS key_id, k.name, k.role, k.workspace_id, s.expires_at
         FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id
        WHERE s.token_hash = $1 AND s.expires_at > now() AND k.revoked_at IS NULL`,
      [hashToken(token)],
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      keyId: Number(r.key_id),
      keyName: r.name,
      role: r.role,
      workspaceId: Number(r.workspace_id),
      expiresAt: r.expires_at,
    };
  }

  /** The principal a session acts as, like the one its API key would give. */
  async principal(token: string): Promise<Principal | undefined> {
    const info = await this.info(token);
    return info === undefined
      ? undefined
      : { workspaceId: info.workspaceId, keyId: info.keyId, role: info.role };
  }

  /** Ends a session; ending an unknown one is not an error (sign-out is idempotent). */
  async close(token: string): Promise<void> {
    if (!TOKEN_PATTERN.test(token)) return;
    await this.db.query(`DELETE FROM dashboard_sessions WHERE token_hash = $1`, [hashToken(token)]);
  }

  /** Expired rows are deleted at most once a minute per process, when sessions are opened. */
  async #purgeExpired(): Promise<void> {
    const now = Date.now();
    if (now - this.#lastPurge < 60_000) return;
    this.#lastPurge = now;
    await this.db.query(`DELETE FROM dashboard_sessions WHERE expires_at <= now()`);
  }
}
