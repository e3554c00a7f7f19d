import { AppError, isAppError, type ErrorCode } from '../errors.js';
import { linkSnapshot } from '../events/link-events.js';
import { appendToOutbox, domainEvent } from '../events/outbox.js';
import type { LinkCache } from '../infra/cache/link-cache.js';
import type { Database, Queryable } from '../infra/db/database.js';
import type { CodeGenerator } from './codes.js';
import type { IdAllocator } from './id-allocator.js';
import type { Link, RedirectType } from './link.js';
import * as repo from './link-repo.js';
import {
  normalizeTargetUrl,
  validateAlias,
  validateExpiry,
  validateTags,
  validateTitle,
} from './validate.js';

/** Fields of a link kept by other features: its preview overrides and, for file links, the file. */
export interface LinkMediaInput {
  /** A completed upload the link points to (a file link); replaces `url`. */
  uploadId?: string | undefined;
  /** A completed image upload shown as the link's preview image. */
  imageUploadId?: string | null | undefined;
  description?: string | null | undefined;
  /** Preview image URL (http/https). */
  image?: string | null | undefined;
}

/**
 * A feature that stores more about a link than the links table holds (previews, file links).
 * `prepare` checks its fields before anything is written (throwing an AppError refuses the
 * request); `save` runs on the link's own transaction, so the link and its extras commit or
 * roll back together.
 */
export interface LinkExtension {
  prepare(
    workspaceId: number,
    input: LinkMediaInput & { readonly url?: string | undefined },
    mode: 'create' | 'update',
  ): Promise<PreparedExtension | undefined>;
  save(tx: Queryable, link: Link, prepared: PreparedExtension): Promise<void>;
}

export interface PreparedExtension {
  /** A target the extension vouches for (a file served by this service): not checked as user input. */
  readonly url?: string;
  /** Names of the fields it changes, reported in `link.updated`. */
  readonly changed: readonly string[];
  readonly state: unknown;
}

export interface CreateLinkInput extends LinkMediaInput {
  /** Destination; may be left out when `uploadId` makes the link a file link. */
  url?: string | undefined;
  alias?: string | undefined;
  expiresAt?: string | null | undefined;
  maxClicks?: number | null | undefined;
  redirectType?: RedirectType | undefined;
  title?: string | null | undefined;
  tags?: string[] | undefined;
}

export interface UpdateLinkInput extends Omit<LinkMediaInput, 'uploadId'> {
  url?: string;
  expiresAt?: string | null;
  maxClicks?: number | null;
  redirectType?: RedirectType;
  title?: string | null;
  tags?: string[];
}

export type BulkItemResult =
  | { index: number; ok: true; link: Link }
  | { index: number; ok: false; error: { code: ErrorCode; detail: string } };

export interface LinkServiceDeps {
  readonly db: Database;
  readonly cache: LinkCache;
  readonly codes: CodeGenerator;
  readonly ids: IdAllocator;
  /** Hostnames of this service; destinations on them are refused (loops). */
  readonly ownHosts: ReadonlySet<string>;
  /** Previews and file links (optional: the links core works without them). */
  readonly extension?: LinkExtension;
  /** Aliases that need more than the links database to be claimed (premium aliases). */
  readonly aliasGate?: AliasGate;
}

/**
 * Claims some aliases together with work elsewhere (premium aliases debit credits). For a
 * covered alias, `claim` runs `insert` (the links transaction: the link row and its
 * `link.created` outbox event) atomically with its own work, and resolves with what `insert`
 * inserted (empty when the alias was taken). Throwing an AppError refuses the link.
 */
export interface AliasGate {
  covers(alias: string): boolean;
  claim(
    claim: { readonly workspaceId: number; readonly alias: string; readonly linkId: number },
    insert: (tx: Queryable) => Promise<Link[]>,
  ): Promise<Link[]>;
}

type PendingLink = { index: number; row: Omit<repo.NewLinkRow, 'id' | 'code'>; alias?: string };

/** Attempts before giving up on generated codes that keep landing on aliases (never in practice). */
const MAX_CODE_ATTEMPTS = 8;

/**
 * Inserts of single creations under way at once; requests that arrive meanwhile wait and go
 * together in the next insert (group commit). One measured best: fewer, larger statements.
 * A slot is taken for the insert statement only: the cache invalidation that follows it (and
 * the answers) overlap the next group's insert.
 */
const MAX_CREATE_FLUSHES = 1;
const MAX_BATCH = 1000;

interface WaitingCreate {
  readonly workspaceId: number;
  readonly input: CreateLinkInput;
  resolve(result: BulkItemResult): void;
  reject(err: unknown): void;
}

/**
 * Commands on links. Validation happens before anything is written, so a refused request
 * changes nothing; every change drops the code from the caches of all instances.
 */
export class LinkService {
  readonly #waiting: WaitingCreate[] = [];
  #inFlight = 0;

  constructor(private readonly deps: LinkServiceDeps) {}

  #prepare(
    workspaceId: number,
    input: CreateLinkInput,
    trustedUrl: string | undefined,
  ): Omit<repo.NewLinkRow, 'id' | 'code'> & { alias?: string } {
    if (trustedUrl === undefined && input.url === undefined) {
      throw new AppError('validation_failed', 'url is required (or uploadId for a file link).');
    }
    const maxClicks = input.maxClicks ?? null;
    if (maxClicks !== null && (!Number.isSafeInteger(maxClicks) || maxClicks < 1)) {
      throw new AppError('validation_failed', 'maxClicks must be a positive integer.');
    }
    return {
      workspaceId,
      isAlias: input.alias !== undefined,
      url: trustedUrl ?? normalizeTargetUrl(input.url ?? '', this.deps.ownHosts),
      redirectType: input.redirectType ?? 302,
      title: validateTitle(input.title),
      tags: validateTags(input.tags),
      expiresAt: validateExpiry(input.expiresAt),
      maxClicks,
      ...(input.alias !== undefined ? { alias: validateAlias(input.alias) } : {}),
    };
  }

  /**
   * Creates one link. Links without extension data are created together with the other
   * requests waiting at that moment (one statement for all of them, each with its own result):
   * with nothing in flight a request goes at once; under load, requests that arrive while an
   * insert is under way share the next one.
   */
  async create(workspaceId: number, input: CreateLinkInput): Promise<Link> {
    const prepared = await this.deps.extension?.prepare(workspaceId, input, 'create');
    const result =
      prepared === undefined
        ? await new Promise<BulkItemResult>((resolve, reject) => {
            this.#waiting.push({ workspaceId, input, resolve, reject });
            this.#pump();
          })
        : (await this.#createMany(workspaceId, [input], [prepared]))[0];
    if (result === undefined) throw new AppError('internal', 'link creation returned nothing');
    if (!result.ok) throw new AppError(result.error.code, result.error.detail);
    return result.link;
  }

  #pump(): void {
    while (this.#inFlight < MAX_CREATE_FLUSHES && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, MAX_BATCH);
      this.#inFlight++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.#inFlight--;
        this.#pump();
      };
      void this.#flush(batch, release).finally(release);
    }
  }

  /** Creates a group of waiting requests; `written` is called once their inserts are done. */
  async #flush(batch: readonly WaitingCreate[], written: () => void): Promise<void> {
    const byWorkspace = new Map<number, WaitingCreate[]>();
    for (const w of batch) {
      const group = byWorkspace.get(w.workspaceId);
      if (group === undefined) byWorkspace.set(w.workspaceId, [w]);
      else group.push(w);
    }
    let inserting = byWorkspace.size;
    await Promise.all(
      [...byWorkspace].map(async ([workspaceId, group]) => {
        let done = false;
        const groupWritten = () => {
          if (done) return;
          done = true;
          if (--inserting === 0) written();
        };
        try {
          const results = await this.#createMany(
            workspaceId,
            group.map((w) => w.input),
            [],
            groupWritten,
          );
          group.forEach((w, i) => w.resolve(results[i]!));
        } catch (err) {
          for (const w of group) w.reject(err);
        }
      }),
    );
  }

  /**
   * Creates up to 1,000 links in one statement. Every item gets its own result; an invalid item
   * or a taken alias does not stop the others.
   */
  async createMany(
    workspaceId: number,
    inputs: readonly CreateLinkInput[],
  ): Promise<BulkItemResult[]> {
    return this.#createMany(workspaceId, inputs, []);
  }

  /** `written` (if given) is called when the first insert statement has finished (maybe again later). */
  async #createMany(
    workspaceId: number,
    inputs: readonly CreateLinkInput[],
    extras: readonly (PreparedExtension | undefined)[],
    written?: () => void,
  ): Promise<BulkItemResult[]> {
    const results: BulkItemResult[] = new Array(inputs.length);
    const pending: PendingLink[] = [];
    const aliasesInBatch = new Set<string>();
    inputs.forEach((input, index) => {
      try {
        const { alias, ...row } = this.#prepare(workspaceId, input, extras[index]?.url);
        if (alias !== undefined) {
          if (aliasesInBatch.has(alias))
            throw new AppError('alias_taken', `The alias "${alias}" is already taken.`);
          aliasesInBatch.add(alias);
        }
        pending.push(alias === undefined ? { index, row } : { index, row, alias });
      } catch (err) {
        results[index] = failure(index, err);
      }
    });

    // Each gated alias is claimed in a transaction of its own: a refusal fails only its item.
    const gate = this.deps.aliasGate;
    const gated = new Set(
      pending.filter((p) => p.alias !== undefined && gate?.covers(p.alias) === true),
    );
    await this.#insert(
      workspaceId,
      pending.filter((p) => !gated.has(p)),
      extras,
      results,
      undefined,
      written,
    );
    written?.();
    for (const p of gated) {
      try {
        await this.#insert(workspaceId, [p], extras, results, gate);
      } catch (err) {
        results[p.index] = failure(p.index, err);
      }
    }
    return results;
  }

  async #insert(
    workspaceId: number,
    pending: readonly PendingLink[],
    extras: readonly (PreparedExtension | undefined)[],
    results: BulkItemResult[],
    gate?: AliasGate,
    written?: () => void,
  ): Promise<void> {
    let remaining = pending;
    for (let attempt = 0; remaining.length > 0 && attempt < MAX_CODE_ATTEMPTS; attempt++) {
      const ids = await this.deps.ids.take(remaining.length);
      const rows = remaining.map((p, i) => {
        const id = ids[i]!;
        return { ...p.row, id, code: p.alias ?? this.deps.codes.encode(id) };
      });
      // The links and their link.created events commit together (transactional outbox): one
      // statement inserts both; a transaction is opened only when an extension saves more.
      const extension = this.deps.extension;
      const saves = remaining.some((p) => extras[p.index] !== undefined);
      const insert = async (tx: Queryable) => {
        const links = await repo.insertLinks(tx, rows);
        if (extension !== undefined && saves) {
          const byCode = new Map(links.map((l) => [l.code, l]));
          for (const [i, p] of remaining.entries()) {
            const extra = extras[p.index];
            const link = byCode.get(rows[i]!.code);
            if (extra !== undefined && link !== undefined) await extension.save(tx, link, extra);
          }
        }
        return links;
      };
      const created =
        gate !== undefined
          ? await gate.claim({ workspaceId, alias: rows[0]!.code, linkId: rows[0]!.id }, insert)
          : saves
            ? await this.deps.db.transaction(insert)
            : await insert(this.deps.db);
      written?.();
      const inserted = new Map(created.map((l) => [l.code, l]));
      // A newly used code may have been cached as unknown by a redirect that came first.
      await this.deps.cache.invalidate([...inserted.keys()]);
      const retry: PendingLink[] = [];
      remaining.forEach((p, i) => {
        const link = inserted.get(rows[i]!.code);
        if (link !== undefined) results[p.index] = { index: p.index, ok: true, link };
        else if (p.alias !== undefined) {
          results[p.index] = failure(
            p.index,
            new AppError('alias_taken', `The alias "${p.alias}" is already taken.`),
          );
        } else retry.push(p); // generated code already held by an alias: draw another id
      });
      remaining = retry;
    }
    for (const p of remaining) {
      results[p.index] = failure(
        p.index,
        new AppError('internal', 'Could not allocate a free code.'),
      );
    }
  }

  async get(workspaceId: number, code: string): Promise<Link> {
    const link = await repo.findInWorkspace(this.deps.db, workspaceId, code);
    if (link === undefined) throw new AppError('not_found', `No link "${code}" in this workspace.`);
    return link;
  }

  async list(filter: repo.ListFilter): Promise<Link[]> {
    return repo.listLinks(this.deps.db, filter);
  }

  async update(workspaceId: number, code: string, input: UpdateLinkInput): Promise<Link> {
    const patch: repo.LinkPatch = {};
    if (input.url !== undefined) patch.url = normalizeTargetUrl(input.url, this.deps.ownHosts);
    if (input.redirectType !== undefined) patch.redirectType = input.redirectType;
    if ('title' in input) patch.title = validateTitle(input.title);
    if (input.tags !== undefined) patch.tags = validateTags(input.tags);
    if ('expiresAt' in input) patch.expiresAt = validateExpiry(input.expiresAt);
    if ('maxClicks' in input) {
      const m = input.maxClicks ?? null;
      if (m !== null && (!Number.isSafeInteger(m) || m < 1)) {
        throw new AppError('validation_failed', 'maxClicks must be a positive integer.');
      }
      patch.maxClicks = m;
    }
    const extra = await this.deps.extension?.prepare(workspaceId, input, 'update');
    const link = await this.deps.db.transaction(async (tx) => {
      const updated = await repo.updateLink(tx, workspaceId, code, patch);
      if (updated !== undefined) {
        if (extra !== undefined) await this.deps.extension?.save(tx, updated, extra);
        const changed = [...Object.keys(patch), ...(extra?.changed ?? [])];
        await appendToOutbox(tx, [
          domainEvent('link.updated', { link: linkSnapshot(updated), changed }),
        ]);
      }
      return updated;
    });
    if (link === undefined) throw new AppError('not_found', `No link "${code}" in this workspace.`);
    await this.deps.cache.invalidate([code]);
    return link;
  }

  async delete(workspaceId: number, code: string): Promise<void> {
    const deleted = await this.deps.db.transaction(async (tx) => {
      const link = await repo.softDeleteLink(tx, workspaceId, code);
      if (link !== undefined)
        await appendToOutbox(tx, [domainEvent('link.deleted', { link: linkSnapshot(link) })]);
      return link !== undefined;
    });
    if (!deleted) throw new AppError('not_found', `No link "${code}" in this workspace.`);
    await this.deps.cache.invalidate([code]);
  }
}

function failure(index: number, err: unknown): BulkItemResult {
  if (isAppError(err)) return { index, ok: false, error: { code: err.code, detail: err.message } };
  throw err;
}
