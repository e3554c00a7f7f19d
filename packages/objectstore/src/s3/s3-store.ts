import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { contentDisposition } from '../content-type.js';
import { ObjectStoreError } from '../errors.js';
import { assertValidKey } from '../keys.js';
import type {
  CompletedPart,
  CreateMultipartUploadInput,
  CreateUploadInput,
  DownloadUrlOptions,
  ListOptions,
  ObjectInfo,
  ObjectStore,
  SignPartsInput,
  SignedMultipartUpload,
  SignedPart,
  SignedUpload,
  SweepOptions,
} from '../port.js';
import {
  MAX_DOWNLOAD_EXPIRY_SECONDS,
  MAX_UPLOAD_EXPIRY_SECONDS,
  expirySeconds,
  planParts,
  selectParts,
  validatePartList,
  validateUploadInput,
} from '../validate.js';

export interface S3ObjectStoreOptions {
  /** Bucket that holds the objects (must exist). */
  readonly bucket: string;
  /**
   * Client settings: `region`, `credentials`, and for S3-compatible servers `endpoint` and
   * `forcePathStyle`. `requestChecksumCalculation` and `responseChecksumValidation` are
   * always set to `'WHEN_REQUIRED'` (see the README).
   */
  readonly client?: Omit<
    S3ClientConfig,
    'requestChecksumCalculation' | 'responseChecksumValidation'
  >;
  /** Largest object accepted by {@link S3ObjectStore.createUpload}. Default 5 GiB (S3's single-PUT limit). */
  readonly maxObjectSize?: number;
  /** Smallest part of a multipart upload (except the last). Default 5 MiB (S3's limit). */
  readonly minPartSize?: number;
  /** Signing clock; tests move it to prove expiry. Default: now. */
  readonly now?: () => Date;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
/**
 * Headers the presigned URL binds: the client cannot change type or length, and must send
 * `If-None-Match: *`, so S3 refuses to overwrite an object that already exists (a replayed
 * URL cannot swap the bytes of an upload the server has already checked).
 */
const BOUND_HEADERS = new Set(['content-type', 'content-length', 'if-none-match']);

/**
 * The server-mode object store over S3 or any S3-compatible service, using the AWS SDK v3.
 * Upload URLs are SigV4 query-presigned with Content-Type and Content-Length among the
 * signed headers, so the store itself refuses a different type or size.
 *
 * @example
 * const store = new S3ObjectStore({
 *   bucket: 'linkforge-media',
 *   client: { region: 'eu-west-1' },
 * });
 * const upload = await store.createUpload({ key, contentType: 'image/png', size: 5120 });
 */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #maxObjectSize: number;
  readonly #minPartSize: number;
  readonly #now: () => Date;

  constructor(options: S3ObjectStoreOptions) {
    if (typeof options.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,62}$/.test(options.bucket)) {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'bucket is not a valid bucket name');
    }
    this.#bucket = options.bucket;
    this.#client = new S3Client({
      ...options.client,
      // Since SDK 3.729 the default is to add CRC32 checksum parameters to every request,
      // presigned URLs included; a browser PUT cannot supply the matching header and S3
      // refuses the upload. Checksums are added only where an operation requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.#maxObjectSize = positive(options.maxObjectSize ?? 5 * GIB, 'maxObjectSize');
    this.#minPartSize = positive(options.minPartSize ?? 5 * MIB, 'minPartSize');
    this.#now = options.now ?? (() => new Date());
  }

  /** The underlying client, for operations this port does not cover. */
  get client(): S3Client {
    return this.#client;
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.#client.destroy();
  }

  async createUpload(input: CreateUploadInput): Promise<SignedUpload> {
    const seconds = validateUploadInput(input, this.#maxObjectSize);
    const signingDate = this.#now();
    const command = new PutObjectCommand({
      Bucket: this.#bucket,
      Key: input.key,
      ContentType: input.contentType,
      ContentLength: input.size,
      IfNoneMatch: '*',
    });
    const url = await getSignedUrl(this.#client, command, {
      expiresIn: seconds,
      signingDate,
      signableHeaders: BOUND_HEADERS,
    });
    return {
      key: input.key,
      method: 'PUT',
      url,
      headers: { 'Content-Type': input.contentType, 'If-None-Match': '*' },
      expiresAt: new Date(signingDate.getTime() + seconds * 1000),
    };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    try {
      const out = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: key }),
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? 'application/octet-stream',
        lastModified: out.LastModified ?? new Date(0),
        etag: out.ETag,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async readFirstBytes(key: string, length: number): Promise<Uint8Array> {
    assertValidKey(key);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'length must be a non-negative integer');
    }
    // HEAD first: it tells a missing object from an empty one, and any Range on an empty
    // object is unsatisfiable (S3 answers 416; some S3-compatible servers stall instead).
    const info = await this.head(key);
    if (info === undefined) throw new ObjectStoreError('NOT_FOUND', 'no such object');
    const end = Math.min(length, info.size);
    if (end === 0) return new Uint8Array(0);
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: key, Range: `bytes=0-${end - 1}` }),
      );
      const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array(0);
      // A server that ignores Range sends everything; keep the promise of `length`.
      return bytes.subarray(0, length);
    } catch (error) {
      if (isNotFound(error)) throw new ObjectStoreError('NOT_FOUND', 'no such object');
      throw error;
    }
  }

  async getObject(key: string): Promise<{ info: ObjectInfo; body: Readable }> {
    assertValidKey(key);
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      const body = out.Body instanceof Readable ? out.Body : Readable.from([]);
      return {
        info: {
          key,
          size: out.ContentLength ?? 0,
          contentType: out.ContentType ?? 'application/octet-stream',
          lastModified: out.LastModified ?? new Date(0),
          etag: out.ETag,
        },
        body,
      };
    } catch (error) {
      if (isNotFound(error)) throw new ObjectStoreError('NOT_FOUND', 'no such object');
      throw error;
    }
  }

  async createDownloadUrl(key: string, options: DownloadUrlOptions = {}): Promise<string> {
    assertValidKey(key);
    const seconds = expirySeconds(
      options.expiresIn,
      MAX_UPLOAD_EXPIRY_SECONDS,
      MAX_DOWNLOAD_EXPIRY_SECONDS,
    );
    const info = await this.head(key);
    if (info === undefined) throw new ObjectStoreError('NOT_FOUND', 'no such object');
    // The response overrides are signed into the URL, so the disposition cannot be edited.
    const command = new GetObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      ResponseContentDisposition: contentDisposition(info.contentType, options.fileName),
      ResponseContentType: info.contentType,
    });
    return getSignedUrl(this.#client, command, { expiresIn: seconds, signingDate: this.#now() });
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async *list(options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          ...(options.prefix === undefined || options.prefix === ''
            ? {}
            : { Prefix: options.prefix }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const item of out.Contents ?? []) {
        if (item.Key === undefined) continue;
        // ListObjects does not return content types; a HEAD per object would make a sweep
        // of a large bucket slow, so list reports the generic type.
        yield {
          key: item.Key,
          size: item.Size ?? 0,
          contentType: 'application/octet-stream',
          lastModified: item.LastModified ?? new Date(0),
          etag: item.ETag,
        };
      }
      token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async sweep(options: SweepOptions): Promise<number> {
    const cutoff = options.olderThan.getTime();
    if (Number.isNaN(cutoff)) throw new ObjectStoreError('INVALID_ARGUMENT', 'olderThan invalid');
    let deleted = 0;
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const out = await this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      deleted += batch.length - (out.Errors?.length ?? 0);
      batch = [];
    };
    for await (const info of this.list(options)) {
      if (info.lastModified.getTime() >= cutoff) continue;
      batch.push(info.key);
      // DeleteObjects takes at most 1000 keys per call.
      if (batch.length === 1000) await flush();
    }
    await flush();
    return deleted;
  }

  async createMultipartUpload(input: CreateMultipartUploadInput): Promise<SignedMultipartUpload> {
    // S3's largest object: 5 TiB in at most 10 000 parts.
    const seconds = validateUploadInput(input, 5 * 1024 ** 4);
    const plan = planParts(input.size, input.partSize ?? this.#minPartSize, this.#minPartSize);
    const created = await this.#client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.#bucket,
        Key: input.key,
        ContentType: input.contentType,
      }),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new Error('S3 returned no UploadId');
    const signingDate = this.#now();
    const parts = await Promise.all(
      selectParts(plan).map((part) =>
        this.#signPart(input.key, uploadId, part.partNumber, part.size, seconds, signingDate),
      ),
    );
    return {
      key: input.key,
      uploadId,
      partSize: plan.partSize,
      partCount: plan.sizes.length,
      parts,
      expiresAt: new Date(signingDate.getTime() + seconds * 1000),
    };
  }

  async signParts(input: SignPartsInput): Promise<SignedPart[]> {
    assertValidKey(input.key);
    if (typeof input.uploadId !== 'string' || input.uploadId === '') {
      throw new ObjectStoreError('UPLOAD_NOT_FOUND', 'no such multipart upload');
    }
    const seconds = expirySeconds(
      input.expiresIn,
      MAX_UPLOAD_EXPIRY_SECONDS,
      MAX_UPLOAD_EXPIRY_SECONDS,
    );
    // S3 keeps no plan: the caller's size and part size rebuild the one made at creation.
    const plan = planParts(input.size, input.partSize, this.#minPartSize);
    if (plan.partSize !== input.partSize) {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'partSize is not the one of this upload');
    }
    const signingDate = this.#now();
    return Promise.all(
      selectParts(plan, input.partNumbers).map((part) =>
        this.#signPart(input.key, input.uploadId, part.partNumber, part.size, seconds, signingDate),
      ),
    );
  }

  async #signPart(
    key: string,
    uploadId: string,
    partNumber: number,
    size: number,
    expiresIn: number,
    signingDate: Date,
  ): Promise<SignedPart> {
    const url = await getSignedUrl(
      this.#client,
      new UploadPartCommand({
        Bucket: this.#bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        ContentLength: size,
      }),
      { expiresIn, signingDate, signableHeaders: new Set(['content-length']) },
    );
    return { partNumber, size, url, headers: {} };
  }

  async completeMultipartUpload(input: {
    key: string;
    uploadId: string;
    parts: readonly CompletedPart[];
  }): Promise<ObjectInfo> {
    assertValidKey(input.key);
    validatePartList(input.parts, input.parts.length);
    if (input.parts.length === 0) {
      throw new ObjectStoreError('INVALID_PART', 'at least one part is needed');
    }
    try {
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: input.key,
          UploadId: input.uploadId,
          IfNoneMatch: '*',
          MultipartUpload: {
            Parts: input.parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
          },
        }),
      );
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'PreconditionFailed' || statusOf(error) === 412) {
        throw new ObjectStoreError('KEY_CONFLICT', 'an object with this key already exists', {
          cause: error,
        });
      }
      if (name === 'NoSuchUpload') {
        throw new ObjectStoreError('UPLOAD_NOT_FOUND', 'no such multipart upload', {
          cause: error,
        });
      }
      if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall') {
        throw new ObjectStoreError('INVALID_PART', 'parts do not match the upload', {
          cause: error,
        });
      }
      throw error;
    }
    const info = await this.head(input.key);
    if (info === undefined) throw new ObjectStoreError('NOT_FOUND', 'object vanished');
    return info;
  }

  async abortMultipartUpload(input: { key: string; uploadId: string }): Promise<void> {
    assertValidKey(input.key);
    try {
      await this.#client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: input.key,
          UploadId: input.uploadId,
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchUpload') return;
      throw error;
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ObjectStoreError('INVALID_ARGUMENT', `${name} must be a positive integer`);
  }
  return value;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NotFound' || name === 'NoSuchKey' || statusOf(error) === 404;
}
