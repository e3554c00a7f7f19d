import { randomBytes } from 'node:crypto';
import {
  assertValidContentType,
  isSafeImageType,
  LocalDiskObjectStore,
  newObjectKey,
  ObjectStoreError,
  verifyUpload,
  type ObjectStore,
  type SignedPart,
} from '@linkforge/objectstore';
import type { UploadsConfig } from '../config.js';
import { AppError } from '../errors.js';
import type { Database } from '../infra/db/database.js';
import * as repo from './upload-repo.js';
import type { Upload } from './upload.js';

export interface CreateUploadInput {
  readonly fileName: string;
  readonly contentType: string;
  readonly size: number;
  /** Upload in parts (large files): one signed URL per part. */
  readonly multipart?: boolean | undefined;
  /** Requested part size in bytes (multipart); at least 5 MiB, raised when needed. */
  readonly partSize?: number | undefined;
}

/** A pending upload and what the client needs to send the bytes. */
export type PendingUpload =
  | {
      readonly upload: Upload;
      readonly kind: 'single';
      readonly url: string;
      readonly method: 'PUT';
      readonly headers: Readonly<Record<string, string>>;
      readonly expiresAt: Date;
    }
  | {
      readonly upload: Upload;
      readonly kind: 'multipart';
      readonly partSize: number;
      readonly partCount: number;
      readonly parts: readonly SignedPart[];
      readonly expiresAt: Date;
    };

/** Signed URLs live 5 minutes at most (the bound); the client must start by then. */
export const UPLOAD_URL_SECONDS = 300;

/** Objects of uploads live under this prefix. */
export const UPLOAD_PREFIX = 'uploads';

// Control characters and path separators never reach stored names.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Strips any directory part and control characters; the name is shown, never used as a key. */
export function cleanFileName(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const name = base.replace(CONTROL, '').trim();
  if (name === '' || name === '.' || name === '..') {
    throw new AppError('validation_failed', 'fileName must name a file.');
  }
  return name.length > 255 ? name.slice(0, 255) : name;
}

/** Lower-cases and drops parameters (`; charset=…`): the signed header is this exact value. */
export function normalizeContentType(raw: string): string {
  const type = raw.split(';')[0]!.trim().toLowerCase();
  try {
    assertValidContentType(type);
  } catch {
    throw new AppError('validation_failed', `contentType "${raw}" is not a valid media type.`);
  }
  return type;
}

export function contentTypeAllowed(allowed: readonly string[], type: string): boolean {
  return allowed.some(
    (a) => a === '*' || a === type || (a.endsWith('/*') && type.startsWith(a.slice(0, -1))),
  );
}

/** Lower-case header names: a client that already set `content-type` replaces it, never doubles it. */
function lowerHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function storeFailure(err: unknown): never {
  if (err instanceof ObjectStoreError) {
    if (err.code === 'INVALID_PART' || err.code === 'INVALID_ARGUMENT') {
      throw new AppError('validation_failed', err.message, { cause: err });
    }
    if (err.code === 'UPLOAD_NOT_FOUND') {
      throw new AppError('upload_expired', 'The multipart upload no longer exists.', {
        cause: err,
      });
    }
  }
  throw err;
}

/**
 * Uploads through pre-signed URLs (the seed flow, made safe): the server picks the object key,
 * signs a short-lived URL for exactly the declared size and type, and on `complete` checks the
 * stored object (exists, size, type, magic bytes) before the upload counts as stored.
 */
export class UploadService {
  readonly #now: () => number;

  constructor(
    private readonly deps: {
      readonly db: Database;
      readonly store: ObjectStore;
      readonly config: UploadsConfig;
      readonly now?: () => number;
    },
  ) {
    this.#now = deps.now ?? Date.now;
  }

  get store(): ObjectStore {
    return this.deps.store;
  }

  async create(workspaceId: number, input: CreateUploadInput): Promise<PendingUpload> {
    const fileName = cleanFileName(input.fileName);
    const contentType = normalizeContentType(input.contentType);
    const { config, store } = this.deps;
    if (!contentTypeAllowed(config.contentTypes, contentType)) {
      throw new AppError(
        'unsupported_media_type',
        `Uploads of type ${contentType} are not accepted here.`,
      );
    }
    if (!Number.isSafeInteger(input.size) || input.size < 1) {
      throw new AppError('validation_failed', 'size must be a positive whole number of bytes.');
    }
    if (input.size > config.maxBytes) {
      throw new AppError(
        'payload_too_large',
        `The file is ${input.size} bytes; uploads may be at most ${config.maxBytes} bytes.`,
      );
    }
    if (input.partSize !== undefined && input.multipart !== true) {
      throw new AppError('validation_failed', 'partSize needs multipart: true.');
    }
    const id = randomBytes(16).toString('base64url');
    const key = newObjectKey(UPLOAD_PREFIX);
    const pendingUntil = new Date(this.#now() + config.pendingTtlSeconds * 1000);
    if (input.multipart === true) {
      const signed = await store
        .createMultipartUpload({
          key,
          contentType,
          size: input.size,
          expiresIn: UPLOAD_URL_SECONDS,
          ...(input.partSize !== undefined ? { partSize: input.partSize } : {}),
        })
        .catch(storeFailure);
      const upload = await repo.insertUpload(this.deps.db, {
        id,
        workspaceId,
        objectKey: key,
        fileName,
        contentType,
        size: input.size,
        multipartId: signed.uploadId,
        partSize: signed.partSize,
        pendingUntil,
      });
      return {
        upload,
        kind: 'multipart',
        partSize: signed.partSize,
        partCount: signed.partCount,
        parts: signed.parts.map((p) => ({ ...p, headers: lowerHeaders(p.headers) })),
        expiresAt: signed.expiresAt,
      };
    }
    const signed = await store
      .createUpload({ key, contentType, size: input.size, expiresIn: UPLOAD_URL_SECONDS })
      .catch(storeFailure);
    // Recorded before the client can use the URL, so the sweeper knows every object it may find.
    const upload = await repo.insertUpload(this.deps.db, {
      id,
      workspaceId,
      objectKey: key,
      fileName,
      contentType,
      size: input.size,
      multipartId: null,
      partSize: null,
      pendingUntil,
    });
    return {
      upload,
      kind: 'single',
      url: signed.url,
      method: signed.method,
      headers: lowerHeaders(signed.headers),
      expiresAt: signed.expiresAt,
    };
  }

  /** An upload of the workspace, whatever its state. */
  async get(workspaceId: number, id: string): Promise<Upload> {
    const upload = await repo.findUpload(this.deps.db, id);
    if (upload === undefined || upload.workspaceId !== workspaceId) {
      throw new AppError('not_found', `No upload "${id}" in this workspace.`);
    }
    return upload;
  }

  /** Fresh part URLs of a pending multipart upload (URLs live 5 minutes; uploads take longer). */
  async signParts(
    workspaceId: number,
    id: string,
    partNumbers: readonly number[],
  ): Promise<SignedPart[]> {
    const upload = await this.#pending(workspaceId, id);
    if (upload.multipartId === null || upload.partSize === null) {
      throw new AppError('validation_failed', 'This upload is not a multipart upload.');
    }
    const parts = await this.deps.store
      .signParts({
        key: upload.objectKey,
        uploadId: upload.multipartId,
        size: upload.size,
        partSize: upload.partSize,
        partNumbers,
        expiresIn: UPLOAD_URL_SECONDS,
      })
      .catch(storeFailure);
    return parts.map((p) => ({ ...p, headers: lowerHeaders(p.headers) }));
  }

  /**
   * Verifies the uploaded object and records the upload as complete. A failed check deletes
   * the object and marks the upload rejected (answered again on a retry); nothing uploaded
   * yet leaves it pending, so the client may still send the bytes.
   */
  async complete(
    workspaceId: number,
    id: string,
    parts?: readonly { partNumber: number; etag: string }[],
  ): Promise<Upload> {
    const upload = await this.get(workspaceId, id);
    if (upload.status === 'complete') return upload;
    this.#checkPending(upload);
    const { store, db } = this.deps;
    if (upload.multipartId !== null) {
      if (parts === undefined) {
        throw new AppError('validation_failed', 'A multipart upload completes with its parts.');
      }
      try {
        await store.completeMultipartUpload({
          key: upload.objectKey,
          uploadId: upload.multipartId,
          parts,
        });
      } catch (err) {
        // Assembled by an earlier attempt whose answer was lost: verify what is there.
        const assembled =
          err instanceof ObjectStoreError &&
          (err.code === 'KEY_CONFLICT' || err.code === 'UPLOAD_NOT_FOUND') &&
          (await store.head(upload.objectKey)) !== undefined;
        if (!assembled) storeFailure(err);
      }
    } else if (parts !== undefined) {
      throw new AppError('validation_failed', 'parts are only for multipart uploads.');
    }
    const verdict = await verifyUpload(store, {
      key: upload.objectKey,
      size: upload.size,
      contentType: upload.contentType,
    });
    if (!verdict.ok) {
      if (verdict.code === 'NOT_UPLOADED') {
        throw new AppError('upload_incomplete', 'No file has been uploaded to this upload yet.', {
          extra: { reason: verdict.code },
        });
      }
      await repo.markRejected(db, id, `${verdict.code}: ${verdict.reason}`);
      throw rejection(verdict.code, verdict.reason);
    }
    const done = await repo.markComplete(db, id, verdict.sniffed ?? null);
    if (done !== undefined) return done;
    const now = await repo.findUpload(db, id);
    if (now?.status === 'complete') return now;
    throw new AppError('upload_expired', 'The upload expired before it was completed.');
  }

  /** A completed upload of the workspace (for links); a safe image when `image` is set. */
  async requireComplete(workspaceId: number, id: string, image = false): Promise<Upload> {
    const upload = await this.get(workspaceId, id);
    if (upload.status !== 'complete') {
      throw new AppError('upload_incomplete', `The upload "${id}" is not complete.`);
    }
    if (image && !isSafeImageType(upload.contentType)) {
      throw new AppError(
        'validation_failed',
        `The upload "${id}" is ${upload.contentType}, not a PNG, JPEG, GIF, WebP or AVIF image.`,
      );
    }
    return upload;
  }

  /** A completed upload by id, for serving its bytes. */
  async findServable(id: string): Promise<Upload | undefined> {
    const upload = await repo.findUpload(this.deps.db, id);
    return upload?.status === 'complete' ? upload : undefined;
  }

  /**
   * Deletes pending uploads past their deadline (object, multipart parts, row) and the records
   * of rejected ones. Safe on several instances at once. Returns how many were removed.
   */
  async sweep(now = new Date(this.#now()), limit = 100): Promise<number> {
    const { db, store } = this.deps;
    let removed = 0;
    for (const upload of await repo.findStale(db, now, limit)) {
      if (!(await repo.claimForSweep(db, upload.id))) continue;
      if (upload.multipartId !== null) {
        await store.abortMultipartUpload({ key: upload.objectKey, uploadId: upload.multipartId });
      }
      await store.delete(upload.objectKey);
      await repo.deleteSwept(db, upload.id);
      removed += 1;
    }
    if (store instanceof LocalDiskObjectStore) {
      // Local writes in progress and part directories of abandoned uploads. The prefix holds no
      // objects (uploads live under `uploads/`), so only those internals go.
      await store.sweep({
        prefix: 'sweep-internals-only/',
        olderThan: new Date(now.getTime() - this.deps.config.pendingTtlSeconds * 1000),
      });
    }
    return removed;
  }

  async #pending(workspaceId: number, id: string): Promise<Upload> {
    const upload = await this.get(workspaceId, id);
    this.#checkPending(upload);
    return upload;
  }

  #checkPending(upload: Upload): void {
    if (upload.status === 'rejected') {
      const [code, ...rest] = (upload.rejectReason ?? 'REJECTED').split(': ');
      throw rejection(code!, rest.join(': '));
    }
    if (upload.status === 'complete') {
      throw new AppError('validation_failed', 'This upload is already complete.');
    }
    if (upload.status === 'expired' || upload.pendingUntil.getTime() <= this.#now()) {
      throw new AppError('upload_expired', 'The upload expired before it was completed.');
    }
  }
}

const REASONS: Record<string, string> = {
  SIZE_MISMATCH: 'The stored file does not have the declared size',
  TYPE_MISMATCH: 'The stored file does not have the declared content type',
  CONTENT_MISMATCH: 'The file content does not match its declared type',
};

function rejection(code: string, reason: string): AppError {
  const what = REASONS[code] ?? 'The file failed verification';
  return new AppError('upload_rejected', `${what} (${reason}); it was deleted.`, {
    extra: { reason: code },
  });
}
