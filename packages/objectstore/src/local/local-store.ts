import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { deliveryHeaders, assertValidContentType } from '../content-type.js';
import { ObjectStoreError } from '../errors.js';
import { assertValidKey, isValidKey } from '../keys.js';
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
import {
  type HeaderInput,
  type QueryInput,
  header,
  optionalParam,
  param,
  parseInteger,
  sign,
  verify,
} from './signing.js';

export interface LocalDiskObjectStoreOptions {
  /** Directory that holds everything; created if missing. */
  readonly root: string;
  /** HMAC key for signed URLs, at least 32 bytes. Keep it out of logs. */
  readonly secret: string | Uint8Array;
  /**
   * Absolute URL where the server mounts {@link LocalDiskObjectStore.handleSignedPut}
   * (PUT) and {@link LocalDiskObjectStore.handleSignedGet} (GET), e.g.
   * `https://lnk.example/api/v1/uploads/local`.
   */
  readonly baseUrl: string;
  /** Largest object accepted. Default 5 GiB. */
  readonly maxObjectSize?: number;
  /** Smallest multipart part (except the last). Default 5 MiB, as on S3. */
  readonly minPartSize?: number;
  /** Clock in milliseconds; tests move it to prove expiry. Default `Date.now`. */
  readonly now?: () => number;
}

export interface SignedPutRequest {
  /** The request's query string, parsed (`URLSearchParams` or a plain object). */
  readonly query: QueryInput;
  /** Request headers with lower-case names (Node's `req.headers`). */
  readonly headers: HeaderInput;
  /** The request body. It is read at most up to the signed size. */
  readonly body: AsyncIterable<Uint8Array>;
}

export interface SignedPutResult {
  readonly status: 200;
  readonly headers: Readonly<Record<string, string>>;
}

export interface SignedGetResult {
  readonly status: 200;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readable;
}

interface ObjectMeta {
  readonly contentType: string;
  readonly etag: string;
}

interface MultipartManifest {
  readonly key: string;
  readonly contentType: string;
  readonly size: number;
  readonly partSize: number;
  readonly sizes: readonly number[];
  readonly createdAt: number;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const UPLOAD_ID = /^[a-f0-9]{32}$/;
const PREFIX = /^[A-Za-z0-9._/-]*$/;

/**
 * The embedded-default object store: objects are files under `root`, and upload/download
 * URLs point at the server's own route, signed with HMAC-SHA256.
 *
 * Layout: `objects/<key>` (bytes), `meta/<key>.json` (content type, ETag), `tmp/` (writes in
 * progress, renamed into place when complete), `multipart/<uploadId>/` (parts).
 *
 * @example
 * const store = new LocalDiskObjectStore({
 *   root: './.data/objects',
 *   secret: process.env.UPLOAD_SECRET!,
 *   baseUrl: 'http://localhost:3000/api/v1/uploads/local',
 * });
 * // in the server's PUT route:
 * const result = await store.handleSignedPut({ query: req.query, headers: req.headers, body: req.raw });
 */
export class LocalDiskObjectStore implements ObjectStore {
  readonly #root: string;
  readonly #objects: string;
  readonly #meta: string;
  readonly #tmp: string;
  readonly #multipart: string;
  readonly #secret: Uint8Array;
  readonly #baseUrl: URL;
  readonly #maxObjectSize: number;
  readonly #minPartSize: number;
  readonly #now: () => number;

  constructor(options: LocalDiskObjectStoreOptions) {
    if (typeof options.root !== 'string' || options.root === '') {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'root must be a directory path');
    }
    const secret =
      typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
    if (!(secret instanceof Uint8Array) || secret.length < 32) {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'secret must be at least 32 bytes');
    }
    let baseUrl: URL;
    try {
      baseUrl = new URL(options.baseUrl);
    } catch (cause) {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'baseUrl must be an absolute URL', { cause });
    }
    if (baseUrl.search !== '' || baseUrl.hash !== '') {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'baseUrl must not have a query or hash');
    }
    this.#root = path.resolve(options.root);
    this.#objects = path.join(this.#root, 'objects');
    this.#meta = path.join(this.#root, 'meta');
    this.#tmp = path.join(this.#root, 'tmp');
    this.#multipart = path.join(this.#root, 'multipart');
    this.#secret = Buffer.from(secret);
    this.#baseUrl = baseUrl;
    this.#maxObjectSize = positive(options.maxObjectSize ?? 5 * GIB, 'maxObjectSize');
    this.#minPartSize = positive(options.minPartSize ?? 5 * MIB, 'minPartSize');
    this.#now = options.now ?? Date.now;
  }

  async createUpload(input: CreateUploadInput): Promise<SignedUpload> {
    const seconds = validateUploadInput(input, this.#maxObjectSize);
    const expires = Math.floor(this.#now() / 1000) + seconds;
    const url = this.#url({
      key: input.key,
      type: input.contentType,
      size: String(input.size),
      expires: String(expires),
      sig: sign(this.#secret, ['put-v1', input.key, input.contentType, input.size, expires]),
    });
    return {
      key: input.key,
      method: 'PUT',
      url,
      headers: { 'Content-Type': input.contentType },
      expiresAt: new Date(expires * 1000),
    };
  }

  /**
   * Verifies and stores one signed PUT (a whole object or one multipart part). Mount it at
   * the `baseUrl` route. Checks, in order: the HMAC signature (constant time), expiry, the
   * Content-Type (whole objects), the Content-Length, then reads the body cutting it at the
   * signed size, and links the finished file into place, never over an existing object, so
   * no reader ever sees half an object or a replaced one. On a refusal nothing is stored and an {@link ObjectStoreError} says why (its
   * `status` is the HTTP answer); a server should close the connection after a refusal,
   * since the rest of the body is left unread.
   *
   * @example
   * app.put('/api/v1/uploads/local', async (req, reply) => {
   *   const r = await store.handleSignedPut({ query: req.query, headers: req.headers, body: req.raw });
   *   reply.code(r.status).headers(r.headers).send();
   * });
   */
  async handleSignedPut(request: SignedPutRequest): Promise<SignedPutResult> {
    const { query, headers } = request;
    const key = param(query, 'key');
    const expires = parseInteger(param(query, 'expires'), 'expires');
    const signature = param(query, 'sig');
    const uploadId = optionalParam(query, 'uploadId');
    if (uploadId === undefined) {
      const contentType = param(query, 'type');
      const size = parseInteger(param(query, 'size'), 'size');
      verify(this.#secret, ['put-v1', key, contentType, size, expires], signature);
      this.#checkExpiry(expires);
      assertValidKey(key);
      assertValidContentType(contentType);
      const sent = header(headers, 'content-type');
      if (sent === undefined || sent.trim().toLowerCase() !== contentType) {
        throw new ObjectStoreError(
          'CONTENT_TYPE_MISMATCH',
          `Content-Type must be ${contentType}, as signed`,
        );
      }
      this.#checkLength(headers, size);
      const { temp, etag } = await this.#receive(request.body, size);
      await this.#publish(key, temp, { contentType, etag });
      return { status: 200, headers: { ETag: etag } };
    }
    const partNumber = parseInteger(param(query, 'partNumber'), 'partNumber');
    const size = parseInteger(param(query, 'size'), 'size');
    verify(this.#secret, ['part-v1', key, uploadId, partNumber, size, expires], signature);
    this.#checkExpiry(expires);
    const manifest = await this.#readManifest(uploadId);
    if (manifest.key !== key || manifest.sizes[partNumber - 1] !== size) {
      throw new ObjectStoreError('INVALID_PART', 'part does not belong to this upload');
    }
    this.#checkLength(headers, size);
    const { temp, etag } = await this.#receive(request.body, size);
    await this.#commit(temp, path.join(this.#multipart, uploadId, String(partNumber)));
    return { status: 200, headers: { ETag: etag } };
  }

  /**
   * Serves one signed GET URL made by {@link createDownloadUrl}: checks signature and
   * expiry, then returns the delivery headers (nosniff; attachment unless a safe image) and
   * a stream of the bytes.
   */
  async handleSignedGet(request: { query: QueryInput }): Promise<SignedGetResult> {
    const key = param(request.query, 'key');
    const expires = parseInteger(param(request.query, 'expires'), 'expires');
    const name = optionalParam(request.query, 'name') ?? '';
    verify(this.#secret, ['get-v1', key, expires, name], param(request.query, 'sig'));
    this.#checkExpiry(expires);
    const { info, body } = await this.getObject(key);
    const headers = deliveryHeaders({
      contentType: info.contentType,
      size: info.size,
      ...(name === '' ? {} : { fileName: name }),
    });
    return {
      status: 200,
      headers: info.etag === undefined ? headers : { ...headers, ETag: info.etag },
      body,
    };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    let stats;
    try {
      stats = await stat(this.#objectPath(key));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (!stats.isFile()) return undefined;
    const meta = await this.#readMeta(key);
    return {
      key,
      size: stats.size,
      contentType: meta?.contentType ?? 'application/octet-stream',
      lastModified: stats.mtime,
      etag: meta?.etag === '' ? undefined : meta?.etag,
    };
  }

  async readFirstBytes(key: string, length: number): Promise<Uint8Array> {
    assertValidKey(key);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'length must be a non-negative integer');
    }
    let handle;
    try {
      handle = await open(this.#objectPath(key), 'r');
    } catch (error) {
      if (isMissing(error)) throw new ObjectStoreError('NOT_FOUND', 'no such object');
      throw error;
    }
    try {
      // Never allocate more than the object holds, whatever `length` asks for.
      const wanted = Math.min(length, (await handle.stat()).size);
      const buffer = Buffer.alloc(wanted);
      let filled = 0;
      while (filled < wanted) {
        const { bytesRead } = await handle.read(buffer, filled, wanted - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async getObject(key: string): Promise<{ info: ObjectInfo; body: Readable }> {
    const info = await this.head(key);
    if (info === undefined) throw new ObjectStoreError('NOT_FOUND', 'no such object');
    return { info, body: createReadStream(this.#objectPath(key)) };
  }

  async createDownloadUrl(key: string, options: DownloadUrlOptions = {}): Promise<string> {
    assertValidKey(key);
    const seconds = expirySeconds(
      options.expiresIn,
      MAX_UPLOAD_EXPIRY_SECONDS,
      MAX_DOWNLOAD_EXPIRY_SECONDS,
    );
    const expires = Math.floor(this.#now() / 1000) + seconds;
    const name = options.fileName ?? '';
    const params: Record<string, string> = { key, expires: String(expires) };
    if (name !== '') params['name'] = name;
    params['sig'] = sign(this.#secret, ['get-v1', key, expires, name]);
    return this.#url(params);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await rm(this.#objectPath(key), { force: true });
    await rm(this.#metaPath(key), { force: true });
  }

  async *list(options: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const prefix = options.prefix ?? '';
    if (!PREFIX.test(prefix) || prefix.split('/').some((s) => s === '..' || s === '.')) {
      throw new ObjectStoreError('INVALID_ARGUMENT', 'prefix has characters keys cannot have');
    }
    const directory = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    await walk(path.join(this.#objects, directory), directory, keys);
    keys.sort();
    for (const key of keys) {
      if (!key.startsWith(prefix) || !isValidKey(key)) continue;
      const info = await this.head(key);
      if (info !== undefined) yield info;
    }
  }

  async sweep(options: SweepOptions): Promise<number> {
    const cutoff = options.olderThan.getTime();
    if (Number.isNaN(cutoff)) throw new ObjectStoreError('INVALID_ARGUMENT', 'olderThan invalid');
    let deleted = 0;
    for await (const info of this.list(options)) {
      if (info.lastModified.getTime() < cutoff) {
        await this.delete(info.key);
        deleted += 1;
      }
    }
    await this.#sweepInternals(cutoff, options.prefix ?? '');
    return deleted;
  }

  async createMultipartUpload(input: CreateMultipartUploadInput): Promise<SignedMultipartUpload> {
    const seconds = validateUploadInput(input, this.#maxObjectSize);
    const plan = planParts(input.size, input.partSize ?? this.#minPartSize, this.#minPartSize);
    const uploadId = randomBytes(16).toString('hex');
    const manifest: MultipartManifest = {
      key: input.key,
      contentType: input.contentType,
      size: input.size,
      partSize: plan.partSize,
      sizes: plan.sizes,
      createdAt: this.#now(),
    };
    const directory = path.join(this.#multipart, uploadId);
    await mkdir(directory, { recursive: true });
    await writeAtomically(
      path.join(directory, 'manifest.json'),
      JSON.stringify(manifest),
      this.#tmp,
    );
    const expires = Math.floor(this.#now() / 1000) + seconds;
    const parts = selectParts(plan).map((part) =>
      this.#signPart(input.key, uploadId, part.partNumber, part.size, expires),
    );
    return {
      key: input.key,
      uploadId,
      partSize: plan.partSize,
      partCount: plan.sizes.length,
      parts,
      expiresAt: new Date(expires * 1000),
    };
  }

  async signParts(input: SignPartsInput): Promise<SignedPart[]> {
    assertValidKey(input.key);
    const seconds = expirySeconds(
      input.expiresIn,
      MAX_UPLOAD_EXPIRY_SECONDS,
      MAX_UPLOAD_EXPIRY_SECONDS,
    );
    const manifest = await this.#readManifest(input.uploadId);
    if (
      manifest.key !== input.key ||
      manifest.size !== input.size ||
      manifest.partSize !== input.partSize
    ) {
      throw new ObjectStoreError('UPLOAD_NOT_FOUND', 'no such multipart upload for this key');
    }
    const expires = Math.floor(this.#now() / 1000) + seconds;
    return selectParts(
      { partSize: manifest.partSize, sizes: manifest.sizes },
      input.partNumbers,
    ).map((part) => this.#signPart(input.key, input.uploadId, part.partNumber, part.size, expires));
  }

  #signPart(
    key: string,
    uploadId: string,
    partNumber: number,
    size: number,
    expires: number,
  ): SignedPart {
    return {
      partNumber,
      size,
      headers: {},
      url: this.#url({
        key,
        uploadId,
        partNumber: String(partNumber),
        size: String(size),
        expires: String(expires),
        sig: sign(this.#secret, ['part-v1', key, uploadId, partNumber, size, expires]),
      }),
    };
  }

  async completeMultipartUpload(input: {
    key: string;
    uploadId: string;
    parts: readonly CompletedPart[];
  }): Promise<ObjectInfo> {
    assertValidKey(input.key);
    const manifest = await this.#readManifest(input.uploadId);
    if (manifest.key !== input.key) {
      throw new ObjectStoreError('UPLOAD_NOT_FOUND', 'no such multipart upload for this key');
    }
    validatePartList(input.parts, manifest.sizes.length);
    const directory = path.join(this.#multipart, input.uploadId);
    const whole = createHash('md5');
    const temp = await this.#stage(async (write) => {
      for (const part of input.parts) {
        const partHash = createHash('md5');
        let size = 0;
        try {
          for await (const chunk of createReadStream(
            path.join(directory, String(part.partNumber)),
          )) {
            const bytes = chunk as Buffer;
            partHash.update(bytes);
            whole.update(bytes);
            size += bytes.length;
            await write(bytes);
          }
        } catch (error) {
          if (isMissing(error)) {
            throw new ObjectStoreError('INVALID_PART', `part ${part.partNumber} was not uploaded`);
          }
          throw error;
        }
        const etag = partHash.digest('hex');
        if (size !== manifest.sizes[part.partNumber - 1] || unquote(part.etag) !== etag) {
          throw new ObjectStoreError('INVALID_PART', `part ${part.partNumber} does not match`);
        }
      }
    });
    const etag = `"${whole.digest('hex')}-${input.parts.length}"`;
    await this.#publish(input.key, temp, { contentType: manifest.contentType, etag });
    await rm(directory, { recursive: true, force: true });
    const info = await this.head(input.key);
    if (info === undefined) throw new ObjectStoreError('NOT_FOUND', 'object vanished');
    return info;
  }

  async abortMultipartUpload(input: { key: string; uploadId: string }): Promise<void> {
    assertValidKey(input.key);
    if (!UPLOAD_ID.test(input.uploadId)) {
      throw new ObjectStoreError('UPLOAD_NOT_FOUND', 'no such multipart upload');
    }
    await rm(path.join(this.#multipart, input.uploadId), { recursive: true, force: true });
  }

  #url(params: Record<string, string>): string {
    const url = new URL(this.#baseUrl);
    url.search = new URLSearchParams(params).toString();
    return url.toString();
  }

  #checkExpiry(expires: number): void {
    if (Math.floor(this.#now() / 1000) > expires) {
      throw new ObjectStoreError('EXPIRED', 'signed URL has expired');
    }
  }

  #checkLength(headers: HeaderInput, size: number): void {
    const declared = header(headers, 'content-length');
    if (declared === undefined) return;
    const length = parseInteger(declared, 'Content-Length');
    if (length > size) {
      throw new ObjectStoreError('TOO_LARGE', `body must be exactly ${size} bytes, as signed`);
    }
    if (length < size) {
      throw new ObjectStoreError('INCOMPLETE_BODY', `body must be exactly ${size} bytes`);
    }
  }

  /** Resolves a validated key under `objects/`, refusing anything that would leave it. */
  #objectPath(key: string): string {
    return inside(this.#objects, key);
  }

  #metaPath(key: string): string {
    return inside(this.#meta, key) + '.json';
  }

  async #readMeta(key: string): Promise<ObjectMeta | undefined> {
    try {
      return JSON.parse(await readFile(this.#metaPath(key), 'utf8')) as ObjectMeta;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async #readManifest(uploadId: string): Promise<MultipartManifest> {
    if (!UPLOAD_ID.test(uploadId)) {
      throw new ObjectStoreError('UPLOAD_NOT_FOUND', 'no such multipart upload');
    }
    try {
      const text = await readFile(path.join(this.#multipart, uploadId, 'manifest.json'), 'utf8');
      return JSON.parse(text) as MultipartManifest;
    } catch (error) {
      if (isMissing(error)) throw new ObjectStoreError('UPLOAD_NOT_FOUND', 'no such upload');
      throw error;
    }
  }

  /**
   * Reads exactly `size` bytes into a fsynced temp file and returns it with the quoted MD5
   * ETag. The body is cut at `size`: one byte more and the write is abandoned.
   */
  async #receive(
    body: AsyncIterable<Uint8Array>,
    size: number,
  ): Promise<{ temp: string; etag: string }> {
    const hash = createHash('md5');
    let received = 0;
    const temp = await this.#stage(async (write) => {
      // A manual iterator: returning early from `for await` would destroy the request
      // stream and with it the socket the server still needs to answer 413 on.
      const iterator = body[Symbol.asyncIterator]();
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        const chunk = next.value;
        received += chunk.length;
        if (received > size) {
          throw new ObjectStoreError('TOO_LARGE', `body is larger than the signed ${size} bytes`);
        }
        hash.update(chunk);
        await write(chunk);
      }
      if (received < size) {
        throw new ObjectStoreError(
          'INCOMPLETE_BODY',
          `body ended after ${received} of ${size} bytes`,
        );
      }
    });
    return { temp, etag: `"${hash.digest('hex')}"` };
  }

  /** Fills a private temp file and fsyncs it; on any failure the temp file is removed. */
  async #stage(
    fill: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
  ): Promise<string> {
    await mkdir(this.#tmp, { recursive: true });
    const temp = path.join(this.#tmp, `${randomBytes(12).toString('hex')}.part`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      try {
        await fill(async (chunk) => {
          let offset = 0;
          while (offset < chunk.length) {
            const { bytesWritten } = await handle.write(chunk, offset);
            offset += bytesWritten;
          }
        });
        await handle.sync();
      } finally {
        await handle.close();
      }
      return temp;
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Makes a staged object visible, never replacing an existing one: a signed URL may be
   * replayed until it expires, and an object already checked by the server (type sniffed,
   * metadata stored) must not change underneath it. `link` fails with EEXIST instead of
   * overwriting, and is atomic: readers see the whole object or none. The metadata goes
   * first, so a visible object always has its content type.
   */
  async #publish(key: string, dataTemp: string, meta: ObjectMeta): Promise<void> {
    const dataPath = this.#objectPath(key);
    const metaPath = this.#metaPath(key);
    let metaTemp: string | undefined;
    try {
      metaTemp = await this.#stage(async (write) => {
        await write(Buffer.from(JSON.stringify(meta)));
      });
      await linkNew(metaTemp, metaPath);
      try {
        await linkNew(dataTemp, dataPath);
      } catch (error) {
        await unlink(metaPath).catch(() => undefined);
        throw error;
      }
    } finally {
      await unlink(dataTemp).catch(() => undefined);
      if (metaTemp !== undefined) await unlink(metaTemp).catch(() => undefined);
    }
  }

  /** Renames a staged file into place (atomic on one volume: readers see all or nothing). */
  async #commit(temp: string, target: string): Promise<void> {
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (cause) {
      await unlink(temp).catch(() => undefined);
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
        throw new ObjectStoreError('KEY_CONFLICT', 'key collides with an existing object', {
          cause,
        });
      }
      throw cause;
    }
  }

  async #sweepInternals(cutoff: number, prefix: string): Promise<void> {
    for (const name of await readdirOrEmpty(this.#tmp)) {
      const file = path.join(this.#tmp, name);
      const stats = await stat(file).catch(() => undefined);
      if (stats !== undefined && stats.mtimeMs < cutoff) await rm(file, { force: true });
    }
    for (const uploadId of await readdirOrEmpty(this.#multipart)) {
      if (!UPLOAD_ID.test(uploadId)) continue;
      const directory = path.join(this.#multipart, uploadId);
      const manifest = await this.#readManifest(uploadId).catch(() => undefined);
      // No manifest: a part that landed while its upload completed or aborted.
      const stale =
        manifest === undefined
          ? ((await stat(directory).catch(() => undefined))?.mtimeMs ?? Infinity) < cutoff
          : manifest.createdAt < cutoff && manifest.key.startsWith(prefix);
      if (stale) await rm(directory, { recursive: true, force: true });
    }
  }
}

function inside(directory: string, key: string): string {
  assertValidKey(key);
  const resolved = path.resolve(directory, ...key.split('/'));
  if (!resolved.startsWith(directory + path.sep)) {
    throw new ObjectStoreError('INVALID_KEY', 'object key is not valid');
  }
  return resolved;
}

async function walk(directory: string, relative: string, into: string[]): Promise<void> {
  for (const entry of await readdirOrEmpty(directory, true)) {
    const key = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) await walk(path.join(directory, entry.name), key, into);
    else if (entry.isFile()) into.push(key);
  }
}

async function readdirOrEmpty(directory: string): Promise<string[]>;
async function readdirOrEmpty(directory: string, withTypes: true): Promise<Dirent[]>;
async function readdirOrEmpty(directory: string, withTypes?: true): Promise<unknown[]> {
  try {
    return withTypes === true
      ? await readdir(directory, { withFileTypes: true })
      : await readdir(directory);
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

async function writeAtomically(target: string, text: string, tmp: string): Promise<void> {
  await mkdir(tmp, { recursive: true });
  const temp = path.join(tmp, `${randomBytes(12).toString('hex')}.part`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Hard-links `temp` at `target`, creating parents; an existing target is a conflict. */
async function linkNew(temp: string, target: string): Promise<void> {
  try {
    await mkdir(path.dirname(target), { recursive: true });
    await link(temp, target);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new ObjectStoreError('KEY_CONFLICT', 'an object with this key already exists', {
        cause,
      });
    }
    throw cause;
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '');
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ObjectStoreError('INVALID_ARGUMENT', `${name} must be a positive integer`);
  }
  return value;
}
