import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStoreError, newObjectKey, type ObjectStore } from '../../src/index.js';

export interface ContractFixture {
  /** A store over the shared backend; `now` moves only its signing clock. */
  makeStore(options?: { now?: () => number }): ObjectStore;
  /** The part size the stores were made with (S3 needs 5 MiB). */
  readonly minPartSize: number;
  close(): Promise<void>;
}

export const PNG = Buffer.concat([
  Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'),
  Buffer.from('0000000d4944415478da63f8cfc0f01f0005000201d2b1ed5d0000000049454e44ae426082', 'hex'),
]);

async function put(
  url: string,
  body: Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; etag: string | null }> {
  // A copy typed as ArrayBuffer-backed, which fetch's BodyInit requires.
  const response = await fetch(url, { method: 'PUT', headers, body: Uint8Array.from(body) });
  await response.arrayBuffer();
  return { status: response.status, etag: response.headers.get('etag') };
}

async function upload(store: ObjectStore, body: Uint8Array, contentType: string) {
  const key = newObjectKey(`contract-${randomBytes(4).toString('hex')}`);
  const signed = await store.createUpload({ key, contentType, size: body.length });
  const result = await put(signed.url, body, { ...signed.headers });
  return { key, signed, result };
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * One behaviour suite for every object-store adapter: each `it` holds for the local disk
 * store behind its signed route and for S3 behind a signature-checking endpoint alike.
 */
export function objectStoreContract(name: string, start: () => Promise<ContractFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: ContractFixture;
    let store: ObjectStore;

    beforeAll(async () => {
      fixture = await start();
      store = fixture.makeStore();
    });
    afterAll(async () => {
      await fixture.close();
    });

    it('stores an upload sent to the signed URL and reports its size and type', async () => {
      const { key, signed, result } = await upload(store, PNG, 'image/png');
      expect(result.status).toBe(200);
      expect(signed.method).toBe('PUT');
      expect(signed.headers['Content-Type']).toBe('image/png');
      const info = await store.head(key);
      expect(info).toMatchObject({ key, size: PNG.length, contentType: 'image/png' });
      expect(Buffer.from(await store.readFirstBytes(key, 8))).toEqual(PNG.subarray(0, 8));
      const { info: got, body } = await store.getObject(key);
      expect(got.size).toBe(PNG.length);
      expect(await readAll(body)).toEqual(PNG);
    });

    it('never lets a replayed upload URL replace an object already stored', async () => {
      const { key, signed, result } = await upload(store, PNG, 'image/png');
      expect(result.status).toBe(200);
      const swapped = Buffer.from('<svg onload=alert(1)>'.padEnd(PNG.length, ' '));
      const replay = await put(signed.url, swapped, { ...signed.headers });
      expect([409, 412]).toContain(replay.status);
      expect(Buffer.from(await store.readFirstBytes(key, PNG.length))).toEqual(PNG);
    });

    it('signs upload URLs for at most five minutes', async () => {
      const before = Date.now();
      const key = newObjectKey('contract');
      const signed = await store.createUpload({ key, contentType: 'image/png', size: 10 });
      expect(signed.expiresAt.getTime() - before).toBeLessThanOrEqual(300_000 + 1000);
      const short = await store.createUpload({
        key,
        contentType: 'image/png',
        size: 10,
        expiresIn: 30,
      });
      expect(short.expiresAt.getTime() - before).toBeLessThanOrEqual(31_000);
      await expect(
        store.createUpload({ key, contentType: 'image/png', size: 10, expiresIn: 301 }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('refuses to sign bad keys, content types and sizes', async () => {
      const bad = [
        { key: '../etc/passwd', contentType: 'image/png', size: 1, code: 'INVALID_KEY' },
        { key: 'a//b', contentType: 'image/png', size: 1, code: 'INVALID_KEY' },
        { key: 'ok/key', contentType: 'image/png; charset=x', size: 1, code: 'INVALID_ARGUMENT' },
        { key: 'ok/key', contentType: 'IMAGE/PNG', size: 1, code: 'INVALID_ARGUMENT' },
        { key: 'ok/key', contentType: 'image/png', size: -1, code: 'INVALID_ARGUMENT' },
        { key: 'ok/key', contentType: 'image/png', size: 1.5, code: 'INVALID_ARGUMENT' },
      ];
      for (const { code, ...input } of bad) {
        await expect(store.createUpload(input)).rejects.toMatchObject({ code });
      }
    });

    it('refuses a tampered URL and stores nothing', async () => {
      const key = newObjectKey('contract');
      const signed = await store.createUpload({ key, contentType: 'image/png', size: PNG.length });
      const otherKey = newObjectKey('contract');
      const tampered = signed.url.replace(key.split('/').pop()!, otherKey.split('/').pop()!);
      expect(tampered).not.toBe(signed.url);
      const result = await put(tampered, PNG, { ...signed.headers });
      expect(result.status).toBe(403);
      expect(await store.head(otherKey)).toBeUndefined();
      expect(await store.head(key)).toBeUndefined();
    });

    it('refuses an expired URL and stores nothing', async () => {
      const past = fixture.makeStore({ now: () => Date.now() - 10 * 60_000 });
      const key = newObjectKey('contract');
      const signed = await past.createUpload({ key, contentType: 'image/png', size: PNG.length });
      expect(signed.expiresAt.getTime()).toBeLessThan(Date.now());
      const result = await put(signed.url, PNG, { ...signed.headers });
      expect(result.status).toBe(403);
      expect(await store.head(key)).toBeUndefined();
    });

    it('refuses a Content-Type other than the signed one', async () => {
      const key = newObjectKey('contract');
      const signed = await store.createUpload({ key, contentType: 'image/png', size: PNG.length });
      const result = await put(signed.url, PNG, { ...signed.headers, 'Content-Type': 'text/html' });
      expect([403, 415]).toContain(result.status);
      expect(await store.head(key)).toBeUndefined();
    });

    it('refuses a body larger or smaller than the signed size', async () => {
      for (const body of [Buffer.concat([PNG, Buffer.from('x')]), PNG.subarray(1)]) {
        const key = newObjectKey('contract');
        const signed = await store.createUpload({
          key,
          contentType: 'image/png',
          size: PNG.length,
        });
        const result = await put(signed.url, body, { ...signed.headers });
        expect(result.status, `body of ${body.length} bytes`).toBeGreaterThanOrEqual(400);
        expect(await store.head(key)).toBeUndefined();
      }
    });

    it('serves safe images inline and everything else as an attachment via signed GET', async () => {
      const image = await upload(store, PNG, 'image/png');
      const pdf = Buffer.from('%PDF-1.4\n%\u00e2\u00e3\n1 0 obj\n<<>>\nendobj\n');
      const doc = await upload(store, pdf, 'application/pdf');
      const imageUrl = await store.createDownloadUrl(image.key);
      const docUrl = await store.createDownloadUrl(doc.key, { fileName: 'report.pdf' });
      const imageResponse = await fetch(imageUrl);
      expect(imageResponse.status).toBe(200);
      expect(Buffer.from(await imageResponse.arrayBuffer())).toEqual(PNG);
      expect(imageResponse.headers.get('content-disposition')).toBe('inline');
      const docResponse = await fetch(docUrl);
      expect(docResponse.status).toBe(200);
      expect(Buffer.from(await docResponse.arrayBuffer())).toEqual(pdf);
      expect(docResponse.headers.get('content-disposition')).toMatch(
        /^attachment; filename="report\.pdf"/,
      );
      const tampered = await fetch(docUrl.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
      await tampered.arrayBuffer();
      expect(tampered.status).toBe(403);
    });

    it('reads the first bytes of short and empty objects', async () => {
      const small = await upload(store, Buffer.from('abc'), 'text/plain');
      expect(Buffer.from(await store.readFirstBytes(small.key, 4100)).toString()).toBe('abc');
      const empty = await upload(store, Buffer.alloc(0), 'text/plain');
      expect(empty.result.status).toBe(200);
      expect((await store.readFirstBytes(empty.key, 16)).length).toBe(0);
    });

    it('reports missing objects as such and deletes idempotently', async () => {
      const key = newObjectKey('contract');
      expect(await store.head(key)).toBeUndefined();
      await expect(store.readFirstBytes(key, 10)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.getObject(key)).rejects.toBeInstanceOf(ObjectStoreError);
      await store.delete(key);
      const { key: stored } = await upload(store, PNG, 'image/png');
      await store.delete(stored);
      expect(await store.head(stored)).toBeUndefined();
    });

    it('lists by prefix in key order and sweeps what is older than the cut-off', async () => {
      const prefix = `sweep-${randomBytes(4).toString('hex')}/`;
      const keys = [`${prefix}b`, `${prefix}a`, `${prefix}c/d`];
      for (const key of keys) {
        const signed = await store.createUpload({ key, contentType: 'text/plain', size: 2 });
        expect((await put(signed.url, Buffer.from('hi'), { ...signed.headers })).status).toBe(200);
      }
      const listed: string[] = [];
      for await (const info of store.list({ prefix })) listed.push(info.key);
      expect(listed).toEqual([...keys].sort());
      expect(await store.sweep({ prefix, olderThan: new Date(Date.now() - 60_000) })).toBe(0);
      expect(await store.sweep({ prefix, olderThan: new Date(Date.now() + 60_000) })).toBe(3);
      const after: string[] = [];
      for await (const info of store.list({ prefix })) after.push(info.key);
      expect(after).toEqual([]);
    });

    async function uploadParts(body: Buffer, contentType: string) {
      const key = newObjectKey('multipart');
      const multipart = await store.createMultipartUpload({
        key,
        contentType,
        size: body.length,
        partSize: fixture.minPartSize,
      });
      const parts = [];
      let offset = 0;
      for (const part of multipart.parts) {
        const chunk = body.subarray(offset, offset + part.size);
        offset += part.size;
        const result = await put(part.url, chunk, { ...part.headers });
        expect(result.status).toBe(200);
        expect(result.etag).toBeTruthy();
        parts.push({ partNumber: part.partNumber, etag: result.etag ?? '' });
      }
      return { key, multipart, parts };
    }

    it('assembles a multipart upload sent through signed part URLs', async () => {
      const body = randomBytes(fixture.minPartSize * 2 + 1234);
      const { key, multipart, parts } = await uploadParts(body, 'application/zip');
      expect(multipart.parts.map((p) => p.size)).toEqual([
        fixture.minPartSize,
        fixture.minPartSize,
        1234,
      ]);
      const info = await store.completeMultipartUpload({
        key,
        uploadId: multipart.uploadId,
        parts,
      });
      expect(info).toMatchObject({ key, size: body.length, contentType: 'application/zip' });
      const { body: stream } = await store.getObject(key);
      expect((await readAll(stream)).equals(body)).toBe(true);
    });

    it('refuses a part of the wrong size', async () => {
      const key = newObjectKey('multipart');
      const multipart = await store.createMultipartUpload({
        key,
        contentType: 'application/zip',
        size: fixture.minPartSize + 10,
        partSize: fixture.minPartSize,
      });
      const last = multipart.parts[1]!;
      const result = await put(last.url, randomBytes(11), { ...last.headers });
      expect(result.status).toBeGreaterThanOrEqual(400);
      await store.abortMultipartUpload({ key, uploadId: multipart.uploadId });
    });

    it('signs at most 100 parts up front and the rest on request', async () => {
      const key = newObjectKey('multipart');
      const size = fixture.minPartSize * 101 + 5;
      const multipart = await store.createMultipartUpload({
        key,
        contentType: 'application/zip',
        size,
        partSize: fixture.minPartSize,
      });
      expect(multipart.partCount).toBe(102);
      expect(multipart.parts).toHaveLength(100);
      const rest = await store.signParts({
        key,
        uploadId: multipart.uploadId,
        size,
        partSize: multipart.partSize,
        partNumbers: [101, 102],
      });
      expect(rest.map((p) => [p.partNumber, p.size])).toEqual([
        [101, fixture.minPartSize],
        [102, 5],
      ]);
      await expect(
        store.signParts({
          key,
          uploadId: multipart.uploadId,
          size,
          partSize: multipart.partSize,
          partNumbers: [103],
        }),
      ).rejects.toMatchObject({ code: 'INVALID_PART' });
      await store.abortMultipartUpload({ key, uploadId: multipart.uploadId });
    });

    it('re-signs an expired part URL so a long upload can go on', async () => {
      const past = fixture.makeStore({ now: () => Date.now() - 10 * 60_000 });
      const body = randomBytes(fixture.minPartSize + 3);
      const key = newObjectKey('multipart');
      const multipart = await past.createMultipartUpload({
        key,
        contentType: 'application/zip',
        size: body.length,
        partSize: fixture.minPartSize,
      });
      const first = multipart.parts[0]!;
      const chunk = body.subarray(0, first.size);
      expect((await put(first.url, chunk, { ...first.headers })).status).toBe(403);
      const fresh = await store.signParts({
        key,
        uploadId: multipart.uploadId,
        size: body.length,
        partSize: multipart.partSize,
        partNumbers: [1, 2],
      });
      const etags = [];
      let offset = 0;
      for (const part of fresh) {
        const r = await put(part.url, body.subarray(offset, offset + part.size), {
          ...part.headers,
        });
        offset += part.size;
        expect(r.status).toBe(200);
        etags.push({ partNumber: part.partNumber, etag: r.etag ?? '' });
      }
      const info = await store.completeMultipartUpload({
        key,
        uploadId: multipart.uploadId,
        parts: etags,
      });
      expect(info.size).toBe(body.length);
    });

    it('refuses part sizes below the minimum', async () => {
      await expect(
        store.createMultipartUpload({
          key: newObjectKey('multipart'),
          contentType: 'application/zip',
          size: fixture.minPartSize * 3,
          partSize: fixture.minPartSize - 1,
        }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('aborts a multipart upload so it can no longer complete', async () => {
      const body = randomBytes(fixture.minPartSize + 10);
      const { key, multipart, parts } = await uploadParts(body, 'application/zip');
      await store.abortMultipartUpload({ key, uploadId: multipart.uploadId });
      await expect(
        store.completeMultipartUpload({ key, uploadId: multipart.uploadId, parts }),
      ).rejects.toThrow();
      expect(await store.head(key)).toBeUndefined();
    });
  });
}
