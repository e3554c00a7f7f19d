import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDiskObjectStore, ObjectStoreError, newObjectKey } from '../src/index.js';
import { sign } from '../src/local/signing.js';
import { PNG } from './support/contract.js';

const SECRET = 'unit-secret-0123456789abcdef0123456789abcdef';
const BASE = 'http://127.0.0.1:1/uploads/local';

describe('LocalDiskObjectStore.handleSignedPut', () => {
  let root: string;
  let store: LocalDiskObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lf-local-'));
    store = new LocalDiskObjectStore({ root, secret: SECRET, baseUrl: BASE, minPartSize: 4 });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function query(url: string): URLSearchParams {
    return new URL(url).searchParams;
  }

  async function putError(request: Parameters<LocalDiskObjectStore['handleSignedPut']>[0]) {
    try {
      await store.handleSignedPut(request);
    } catch (error) {
      if (error instanceof ObjectStoreError) return error.code;
      throw error;
    }
    return 'accepted';
  }

  async function leftovers(): Promise<string[]> {
    return readdir(path.join(root, 'tmp')).catch(() => []);
  }

  it('cuts a chunked body at the signed size and keeps nothing', async () => {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType: 'image/png', size: 10 });
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled += 1;
        yield new Uint8Array(4);
      }
    }
    const code = await putError({
      query: query(signed.url),
      headers: { 'content-type': 'image/png' },
      body: endless(),
    });
    expect(code).toBe('TOO_LARGE');
    expect(pulled).toBe(3);
    expect(await store.head(key)).toBeUndefined();
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a declared Content-Length other than the signed size before reading', async () => {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType: 'image/png', size: 10 });
    let read = false;
    const body = (async function* () {
      read = true;
      yield new Uint8Array(11);
    })();
    const code = await putError({
      query: query(signed.url),
      headers: { 'content-type': 'image/png', 'content-length': '11' },
      body,
    });
    expect(code).toBe('TOO_LARGE');
    expect(read).toBe(false);
  });

  it('keeps nothing when the body stream fails half-way (no partial object)', async () => {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType: 'image/png', size: 8 });
    const body = Readable.from(
      (async function* () {
        yield Buffer.alloc(4);
        throw new Error('client went away');
      })(),
    );
    await expect(
      store.handleSignedPut({
        query: query(signed.url),
        headers: { 'content-type': 'image/png' },
        body,
      }),
    ).rejects.toThrow('client went away');
    expect(await store.head(key)).toBeUndefined();
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a path-traversal key even when it carries a valid signature', async () => {
    const expires = Math.floor(Date.now() / 1000) + 60;
    for (const key of ['../escape', 'a/../../escape', '/etc/passwd', 'a\\..\\b', '.hidden']) {
      const sig = sign(Buffer.from(SECRET), ['put-v1', key, 'text/plain', 1, expires]);
      const params = new URLSearchParams({
        key,
        type: 'text/plain',
        size: '1',
        expires: String(expires),
        sig,
      });
      const code = await putError({
        query: params,
        headers: { 'content-type': 'text/plain' },
        body: Readable.from([Buffer.from('x')]),
      });
      expect(code, key).toBe('INVALID_KEY');
    }
    expect(await readdir(path.dirname(root))).not.toContain('escape');
  });

  it('refuses a signature of the wrong length, a repeated parameter and a missing one', async () => {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType: 'image/png', size: PNG.length });
    const headers = { 'content-type': 'image/png' };
    const short = query(signed.url);
    short.set('sig', 'abc');
    expect(await putError({ query: short, headers, body: Readable.from([PNG]) })).toBe(
      'SIGNATURE_INVALID',
    );
    const repeated = query(signed.url);
    repeated.append('key', 'other/key');
    expect(await putError({ query: repeated, headers, body: Readable.from([PNG]) })).toBe(
      'BAD_REQUEST',
    );
    const missing = query(signed.url);
    missing.delete('expires');
    expect(await putError({ query: missing, headers, body: Readable.from([PNG]) })).toBe(
      'BAD_REQUEST',
    );
  });

  it('does not accept an upload signature as a download signature or the reverse', async () => {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType: 'image/png', size: PNG.length });
    await store.handleSignedPut({
      query: query(signed.url),
      headers: { 'content-type': 'image/png' },
      body: Readable.from([PNG]),
    });
    await expect(store.handleSignedGet({ query: query(signed.url) })).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    const download = await store.createDownloadUrl(key);
    const asPut = query(download);
    asPut.set('type', 'image/png');
    asPut.set('size', String(PNG.length));
    expect(
      await putError({
        query: asPut,
        headers: { 'content-type': 'image/png' },
        body: Readable.from([PNG]),
      }),
    ).toBe('SIGNATURE_INVALID');
  });

  it('writes objects under the root only, with the content type beside them', async () => {
    const key = newObjectKey('media');
    const signed = await store.createUpload({ key, contentType: 'image/png', size: PNG.length });
    const result = await store.handleSignedPut({
      query: query(signed.url),
      headers: { 'content-type': 'image/png', 'content-length': String(PNG.length) },
      body: Readable.from([PNG]),
    });
    expect(result.headers['ETag']).toMatch(/^"[0-9a-f]{32}"$/);
    const file = await stat(path.join(root, 'objects', ...key.split('/')));
    expect(file.size).toBe(PNG.length);
    expect((await store.head(key))?.etag).toBe(result.headers['ETag']);
  });

  it('refuses a second PUT to a stored key and leaves no temp files', async () => {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType: 'image/png', size: PNG.length });
    const request = () => ({
      query: query(signed.url),
      headers: { 'content-type': 'image/png' },
      body: Readable.from([PNG]),
    });
    await store.handleSignedPut(request());
    expect(await putError(request())).toBe('KEY_CONFLICT');
    expect(await leftovers()).toEqual([]);
    expect((await store.head(key))?.contentType).toBe('image/png');
  });

  it('refuses to complete a multipart upload with a wrong part ETag', async () => {
    const key = newObjectKey();
    const multipart = await store.createMultipartUpload({
      key,
      contentType: 'application/zip',
      size: 6,
      partSize: 4,
    });
    const etags: string[] = [];
    for (const [i, part] of multipart.parts.entries()) {
      const r = await store.handleSignedPut({
        query: query(part.url),
        headers: {},
        body: Readable.from([Buffer.from(i === 0 ? 'abcd' : 'ef')]),
      });
      etags.push(r.headers['ETag']!);
    }
    await expect(
      store.completeMultipartUpload({
        key,
        uploadId: multipart.uploadId,
        parts: [
          { partNumber: 1, etag: etags[0]! },
          { partNumber: 2, etag: '"00000000000000000000000000000000"' },
        ],
      }),
    ).rejects.toMatchObject({ code: 'INVALID_PART' });
    expect(await store.head(key)).toBeUndefined();
    const info = await store.completeMultipartUpload({
      key,
      uploadId: multipart.uploadId,
      parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    });
    expect(info.size).toBe(6);
    expect(Buffer.from(await store.readFirstBytes(key, 10)).toString()).toBe('abcdef');
  });

  it('refuses a part URL used for another upload id', async () => {
    const a = await store.createMultipartUpload({
      key: newObjectKey(),
      contentType: 'application/zip',
      size: 8,
      partSize: 4,
    });
    const b = await store.createMultipartUpload({
      key: newObjectKey(),
      contentType: 'application/zip',
      size: 8,
      partSize: 4,
    });
    const params = query(a.parts[0]!.url);
    params.set('uploadId', b.uploadId);
    expect(
      await putError({ query: params, headers: {}, body: Readable.from([Buffer.alloc(4)]) }),
    ).toBe('SIGNATURE_INVALID');
  });

  it('sweeps stale temp files, abandoned multipart uploads and orphaned parts', async () => {
    const multipart = await store.createMultipartUpload({
      key: newObjectKey(),
      contentType: 'application/zip',
      size: 8,
      partSize: 4,
    });
    // A part that landed after its upload completed leaves a directory without a manifest.
    const orphan = 'ab'.repeat(16);
    await mkdir(path.join(root, 'multipart', orphan), { recursive: true });
    await writeFile(path.join(root, 'multipart', orphan, '1'), 'part');
    expect((await readdir(path.join(root, 'multipart'))).sort()).toEqual(
      [multipart.uploadId, orphan].sort(),
    );
    await store.sweep({ olderThan: new Date(Date.now() + 60_000) });
    expect(await readdir(path.join(root, 'multipart'))).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });

  it('rejects weak secrets and relative base URLs at construction', () => {
    expect(() => new LocalDiskObjectStore({ root, secret: 'short', baseUrl: BASE })).toThrow(
      /32 bytes/,
    );
    expect(() => new LocalDiskObjectStore({ root, secret: SECRET, baseUrl: '/uploads' })).toThrow(
      /absolute/,
    );
  });
});
