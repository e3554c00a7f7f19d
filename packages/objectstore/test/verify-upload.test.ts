import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDiskObjectStore, newObjectKey, verifyUpload } from '../src/index.js';
import { PNG } from './support/contract.js';

describe('verifyUpload', () => {
  let root: string;
  let store: LocalDiskObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lf-verify-'));
    store = new LocalDiskObjectStore({
      root,
      secret: 'verify-secret-0123456789abcdef0123456789',
      baseUrl: 'http://127.0.0.1:1/u',
    });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function stored(body: Buffer, contentType: string): Promise<string> {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType, size: body.length });
    await store.handleSignedPut({
      query: new URL(signed.url).searchParams,
      headers: { 'content-type': contentType },
      body: Readable.from([body]),
    });
    return key;
  }

  it('accepts an object whose size, type and magic bytes agree', async () => {
    const key = await stored(PNG, 'image/png');
    const verdict = await verifyUpload(store, { key, size: PNG.length, contentType: 'image/png' });
    expect(verdict).toMatchObject({ ok: true, sniffed: 'image/png', info: { size: PNG.length } });
  });

  it('reports a missing object without deleting anything', async () => {
    const verdict = await verifyUpload(store, {
      key: newObjectKey(),
      size: 1,
      contentType: 'image/png',
    });
    expect(verdict).toMatchObject({ ok: false, code: 'NOT_UPLOADED' });
  });

  it('deletes an object whose bytes are not the declared image type', async () => {
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const key = await stored(html, 'image/png');
    const verdict = await verifyUpload(store, { key, size: html.length, contentType: 'image/png' });
    expect(verdict).toMatchObject({ ok: false, code: 'CONTENT_MISMATCH' });
    expect(await store.head(key)).toBeUndefined();
  });

  it('deletes an object whose size or type differ from what was signed', async () => {
    const key = await stored(PNG, 'image/png');
    expect(
      await verifyUpload(store, { key, size: PNG.length + 1, contentType: 'image/png' }),
    ).toMatchObject({ ok: false, code: 'SIZE_MISMATCH' });
    expect(await store.head(key)).toBeUndefined();
    const other = await stored(PNG, 'image/png');
    expect(
      await verifyUpload(store, { key: other, size: PNG.length, contentType: 'image/gif' }),
    ).toMatchObject({ ok: false, code: 'TYPE_MISMATCH' });
    expect(await store.head(other)).toBeUndefined();
  });
});
