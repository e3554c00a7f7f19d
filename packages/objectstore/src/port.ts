import type { Readable } from 'node:stream';

/** What a store knows about one stored object. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  readonly lastModified: Date;
  /** Opaque entity tag (quoted, as HTTP sends it). */
  readonly etag: string | undefined;
}

export interface CreateUploadInput {
  /** Server-generated key, see `newObjectKey`. */
  readonly key: string;
  /** Bare lower-case `type/subtype`; the client must send exactly this Content-Type. */
  readonly contentType: string;
  /** Exact size in bytes; the client must send exactly this many. */
  readonly size: number;
  /** Seconds the URL stays valid: 1..300, default 300. */
  readonly expiresIn?: number;
}

/** A URL the client can PUT the object's bytes to, without further credentials. */
export interface SignedUpload {
  readonly key: string;
  readonly method: 'PUT';
  readonly url: string;
  /** Headers the client must send as given (Content-Length is set by the HTTP client). */
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAt: Date;
}

export interface CreateMultipartUploadInput extends CreateUploadInput {
  /** Bytes per part (the last part may be smaller). Default and minimum: the adapter's. */
  readonly partSize?: number;
}

export interface SignedPart {
  readonly partNumber: number;
  readonly size: number;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A multipart upload: one signed PUT URL per part, then complete (or abort). `parts` holds
 * the first 100 parts at most; `signParts` signs the others (and re-signs expired ones).
 */
export interface SignedMultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly partSize: number;
  /** How many parts the object is split into. */
  readonly partCount: number;
  readonly parts: readonly SignedPart[];
  readonly expiresAt: Date;
}

export interface SignPartsInput {
  readonly key: string;
  readonly uploadId: string;
  /** The object's size and the `partSize` the upload was created with. */
  readonly size: number;
  readonly partSize: number;
  /** Parts to sign, 1-based, at most 100. */
  readonly partNumbers: readonly number[];
  /** Seconds the URLs stay valid: 1..300, default 300. */
  readonly expiresIn?: number;
}

export interface CompletedPart {
  readonly partNumber: number;
  /** The ETag header the part's PUT answered with. */
  readonly etag: string;
}

export interface DownloadUrlOptions {
  /** Seconds the URL stays valid: 1..604800, default 300. */
  readonly expiresIn?: number;
  /** Suggested file name for the download. */
  readonly fileName?: string;
}

export interface ListOptions {
  /** Only keys starting with this string. */
  readonly prefix?: string;
}

export interface SweepOptions extends ListOptions {
  /** Objects last modified before this instant are deleted. */
  readonly olderThan: Date;
}

/**
 * The object-store port. Two adapters implement it: `LocalDiskObjectStore` (embedded
 * default) and `S3ObjectStore` (server mode); one contract suite runs over both.
 *
 * @example
 * const upload = await store.createUpload({ key: newObjectKey(), contentType: 'image/png', size });
 * // client: fetch(upload.url, { method: 'PUT', headers: upload.headers, body })
 * const info = await store.head(upload.key);
 */
export interface ObjectStore {
  /** A signed PUT URL for exactly `size` bytes of `contentType`, valid ≤ 5 minutes. */
  createUpload(input: CreateUploadInput): Promise<SignedUpload>;
  /** Metadata of an object, or `undefined` when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Up to `length` leading bytes (fewer if the object is shorter); for type sniffing. */
  readFirstBytes(key: string, length: number): Promise<Uint8Array>;
  /** A stream of the object's bytes. Throws `NOT_FOUND` when there is no such object. */
  getObject(key: string): Promise<{ info: ObjectInfo; body: Readable }>;
  /** A signed GET URL; non-image types download as attachments. */
  createDownloadUrl(key: string, options?: DownloadUrlOptions): Promise<string>;
  /** Deletes an object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Every object under `prefix`, in key order. */
  list(options?: ListOptions): AsyncIterable<ObjectInfo>;
  /** Deletes objects under `prefix` last modified before `olderThan`; returns how many. */
  sweep(options: SweepOptions): Promise<number>;
  /** Starts a multipart upload and signs one PUT URL per part. */
  createMultipartUpload(input: CreateMultipartUploadInput): Promise<SignedMultipartUpload>;
  /** Signs (fresh) URLs for some parts of a multipart upload in progress. */
  signParts(input: SignPartsInput): Promise<SignedPart[]>;
  /** Assembles the parts into the object and returns its metadata. */
  completeMultipartUpload(input: {
    key: string;
    uploadId: string;
    parts: readonly CompletedPart[];
  }): Promise<ObjectInfo>;
  /** Drops a multipart upload and its parts. */
  abortMultipartUpload(input: { key: string; uploadId: string }): Promise<void>;
}
