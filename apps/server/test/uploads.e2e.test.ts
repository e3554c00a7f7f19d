import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, availableModes, startService, type TestService } from './helpers.js';

// A 1x1 PNG: real magic bytes, so the sniffing check can prove the type.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

interface Pending {
  id: string;
  uploadUrl: string;
  method: string;
  headers: Record<string, string>;
  expiresAt: string;
  status: string;
}

describe.each(availableModes())('uploads through signed URLs (%s mode)', (mode) => {
  let svc: TestService;
  const inject: TestService['built']['app']['inject'] = ((
    ...args: Parameters<TestService['built']['app']['inject']>
  ) => svc.built.app.inject(...args)) as never;

  beforeAll(async () => {
    svc = await startService(mode, { UPLOAD_MAX_BYTES: String(8 * 1024 * 1024) });
  });
  afterAll(async () => {
    await svc?.close();
  });

  const start = async (body: Record<string, unknown>) =>
    inject({ method: 'POST', url: '/api/v1/uploads', payload: body, headers: auth() });

  /** Sends bytes to a signed URL the way a client would (the app mounts the local store). */
  const put = async (url: string, headers: Record<string, string>, body: Buffer) => {
    const u = new URL(url);
    return inject({ method: 'PUT', url: u.pathname + u.search, headers, payload: body });
  };

  const complete = async (id: string, body: Record<string, unknown> = {}) =>
    inject({
      method: 'POST',
      url: `/api/v1/uploads/${id}/complete`,
      payload: body,
      headers: auth(),
    });

  async function uploadPng(fileName = 'photo.png'): Promise<{ id: string; url: string }> {
    const p = (
      await start({ fileName, contentType: 'image/png', size: PNG.length })
    ).json<Pending>();
    expect((await put(p.uploadUrl, p.headers, PNG)).statusCode).toBe(200);
    const done = await complete(p.id);
    expect(done.statusCode).toBe(200);
    return done.json<{ id: string; url: string }>();
  }

  describe('POST /api/v1/uploads', () => {
    it('answers a pending upload with a server-made key, a signed URL and an expiry of at most 5 minutes', async () => {
      const before = Date.now();
      const res = await start({
        fileName: '../../etc/passwd.png',
        contentType: 'image/png',
        size: 68,
      });
      expect(res.statusCode).toBe(201);
      const p = res.json<Pending>();
      expect(p).toMatchObject({ status: 'pending', method: 'PUT', fileName: 'passwd.png' });
      expect(p.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(p.headers['content-type']).toBe('image/png');
      expect(p.uploadUrl.startsWith('http://sho.rt/api/v1/uploads/local?')).toBe(true);
      expect(p.uploadUrl).not.toContain('passwd');
      const expires = Date.parse(p.expiresAt);
      expect(expires).toBeGreaterThan(before);
      expect(expires - before).toBeLessThanOrEqual(300_000 + 1000);
    });

    it('refuses a content type that is not allowed (415), a file over the limit (413) and a malformed type (400)', async () => {
      const exe = await start({
        fileName: 'a.exe',
        contentType: 'application/x-msdownload',
        size: 10,
      });
      expect(exe.statusCode).toBe(415);
      expect(exe.json()).toMatchObject({ code: 'unsupported_media_type' });
      const big = await start({
        fileName: 'a.png',
        contentType: 'image/png',
        size: 9 * 1024 * 1024,
      });
      expect(big.statusCode).toBe(413);
      const bad = await start({ fileName: 'a.png', contentType: 'not a type', size: 10 });
      expect(bad.statusCode).toBe(400);
      const anon = await inject({
        method: 'POST',
        url: '/api/v1/uploads',
        payload: { fileName: 'a.png', contentType: 'image/png', size: 10 },
      });
      expect(anon.statusCode).toBe(401);
    });
  });

  describe('the signed PUT and complete', () => {
    it('stores a verified image and serves it inline with nosniff', async () => {
      const { id, url } = await uploadPng();
      expect(url).toBe(`http://sho.rt/files/${id}/photo.png`);
      const got = await inject({ method: 'GET', url: `/files/${id}/photo.png` });
      expect(got.statusCode).toBe(200);
      expect(got.rawPayload.equals(PNG)).toBe(true);
      expect(got.headers['content-type']).toBe('image/png');
      expect(got.headers['x-content-type-options']).toBe('nosniff');
      expect(String(got.headers['content-disposition'])).toMatch(/^inline/);
      const again = await inject({
        method: 'GET',
        url: `/files/${id}`,
        headers: { 'if-none-match': String(got.headers.etag) },
      });
      expect(again.statusCode).toBe(304);
      // Completing twice answers the same upload.
      expect((await complete(id)).json()).toMatchObject({ id, status: 'complete' });
    });

    it('takes a JSON file as raw bytes: the signed route parses no body', async () => {
      const json = Buffer.from('{"not": "parsed", "n": [1, 2, 3]}\n');
      const p = (
        await start({ fileName: 'data.json', contentType: 'application/json', size: json.length })
      ).json<Pending>();
      expect((await put(p.uploadUrl, p.headers, json)).statusCode).toBe(200);
      expect((await complete(p.id)).statusCode).toBe(200);
      const got = await inject({ method: 'GET', url: `/files/${p.id}/data.json` });
      expect(got.rawPayload.equals(json)).toBe(true);
      expect(String(got.headers['content-disposition'])).toMatch(/^attachment/);
    });

    it('answers 404 for a recorded upload whose object was removed from the store', async () => {
      const { id } = await uploadPng('removed.png');
      const [row] = await svc.built.runtime.db.query<{ object_key: string }>(
        'SELECT object_key FROM uploads WHERE id = $1',
        [id],
      );
      await svc.built.uploads.store.delete(row!.object_key);
      const res = await inject({ method: 'GET', url: `/files/${id}` });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not_found' });
    });

    it('serves a file that is not a safe image as an attachment', async () => {
      const text = Buffer.from('<html><script>alert(1)</script></html>');
      const p = (
        await start({ fileName: 'notes.txt', contentType: 'text/plain', size: text.length })
      ).json<Pending>();
      expect((await put(p.uploadUrl, p.headers, text)).statusCode).toBe(200);
      expect((await complete(p.id)).statusCode).toBe(200);
      const got = await inject({ method: 'GET', url: `/files/${p.id}/notes.txt` });
      expect(got.headers['x-content-type-options']).toBe('nosniff');
      expect(String(got.headers['content-disposition'])).toMatch(
        /^attachment; filename="notes.txt"/,
      );
      expect(String(got.headers['content-security-policy'])).toContain('sandbox');
    });

    it('when nothing was uploaded yet, complete answers 409 and the upload stays pending', async () => {
      const p = (
        await start({ fileName: 'a.png', contentType: 'image/png', size: PNG.length })
      ).json<Pending>();
      const res = await complete(p.id);
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'upload_incomplete' });
      expect((await put(p.uploadUrl, p.headers, PNG)).statusCode).toBe(200);
      expect((await complete(p.id)).statusCode).toBe(200);
    });

    it('when the bytes are not the declared type, deletes the object and says why, also on a retry', async () => {
      const fake = Buffer.from('GIF89a this is no png at all, whatever it says.....');
      const p = (
        await start({ fileName: 'x.png', contentType: 'image/png', size: fake.length })
      ).json<Pending>();
      expect((await put(p.uploadUrl, p.headers, fake)).statusCode).toBe(200);
      const res = await complete(p.id);
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ code: 'upload_rejected', reason: 'CONTENT_MISMATCH' });
      expect(res.json<{ detail: string }>().detail).toMatch(/does not match its declared type/);
      const again = await complete(p.id);
      expect(again.statusCode).toBe(422);
      expect((await inject({ method: 'GET', url: `/files/${p.id}` })).statusCode).toBe(404);
      const status = await inject({
        method: 'GET',
        url: `/api/v1/uploads/${p.id}`,
        headers: auth(),
      });
      expect(status.json()).toMatchObject({ status: 'rejected', url: null });
    });

    it('refuses tampered, wrong-type and oversized PUTs and stores nothing', async () => {
      const p = (
        await start({ fileName: 'a.png', contentType: 'image/png', size: PNG.length })
      ).json<Pending>();
      const tampered = p.uploadUrl.replace(/(size=)\d+/, '$1999');
      const t = await put(tampered, p.headers, PNG);
      expect(t.statusCode).toBe(403);
      const wrongType = await put(p.uploadUrl, { 'content-type': 'image/gif' }, PNG);
      expect(wrongType.statusCode).toBe(415);
      const bigger = await put(p.uploadUrl, p.headers, Buffer.concat([PNG, Buffer.from('x')]));
      expect(bigger.statusCode).toBe(413);
      expect((await complete(p.id)).statusCode).toBe(409);
    });

    it('a replayed signed URL cannot replace a verified upload', async () => {
      const p = (
        await start({ fileName: 'a.png', contentType: 'image/png', size: PNG.length })
      ).json<Pending>();
      expect((await put(p.uploadUrl, p.headers, PNG)).statusCode).toBe(200);
      expect((await complete(p.id)).statusCode).toBe(200);
      const other = Buffer.from(PNG);
      other[PNG.length - 5] = 0;
      const replay = await put(p.uploadUrl, p.headers, other);
      expect(replay.statusCode).toBe(409);
      const got = await inject({ method: 'GET', url: `/files/${p.id}` });
      expect(got.rawPayload.equals(PNG)).toBe(true);
    });
  });

  describe('multipart', () => {
    it('uploads a large file in signed parts and completes it with their ETags', async () => {
      const size = 5 * 1024 * 1024 + 1000;
      const data = Buffer.alloc(size, 7);
      Buffer.from('%PDF-1.7\n').copy(data);
      const res = await start({
        fileName: 'big.pdf',
        contentType: 'application/pdf',
        size,
        multipart: true,
      });
      expect(res.statusCode).toBe(201);
      const p = res.json<{
        id: string;
        partCount: number;
        partSize: number;
        parts: { partNumber: number; size: number; url: string; headers: Record<string, string> }[];
      }>();
      expect(p.partCount).toBe(2);
      expect(p.parts.map((x) => x.size)).toEqual([5 * 1024 * 1024, 1000]);
      const etags: { partNumber: number; etag: string }[] = [];
      let offset = 0;
      for (const part of p.parts) {
        const r = await put(part.url, part.headers, data.subarray(offset, offset + part.size));
        offset += part.size;
        expect(r.statusCode).toBe(200);
        etags.push({ partNumber: part.partNumber, etag: String(r.headers.etag) });
      }
      const resigned = await inject({
        method: 'POST',
        url: `/api/v1/uploads/${p.id}/parts`,
        payload: { partNumbers: [2] },
        headers: auth(),
      });
      expect(resigned.json<{ parts: unknown[] }>().parts).toHaveLength(1);
      const done = await complete(p.id, { parts: etags });
      expect(done.statusCode).toBe(200);
      const got = await inject({ method: 'GET', url: `/files/${p.id}/big.pdf` });
      expect(got.rawPayload.equals(data)).toBe(true);
      expect(String(got.headers['content-disposition'])).toMatch(/^attachment/);
    });

    it('refuses to complete with a wrong part ETag', async () => {
      const size = 5 * 1024 * 1024 + 10;
      const data = Buffer.alloc(size, 1);
      const p = (
        await start({
          fileName: 'b.bin',
          contentType: 'application/octet-stream',
          size,
          multipart: true,
        })
      ).json<{
        id: string;
        parts: { url: string; headers: Record<string, string>; size: number }[];
      }>();
      let offset = 0;
      for (const part of p.parts) {
        await put(part.url, part.headers, data.subarray(offset, offset + part.size));
        offset += part.size;
      }
      const res = await complete(p.id, {
        parts: [
          { partNumber: 1, etag: '"nope"' },
          { partNumber: 2, etag: '"nope"' },
        ],
      });
      expect(res.statusCode).toBe(400);
    });
  });

  describe('sweeping', () => {
    it('deletes pending uploads past their deadline, object included, and keeps completed ones', async () => {
      const kept = await uploadPng('kept.png');
      const p = (
        await start({ fileName: 'late.png', contentType: 'image/png', size: PNG.length })
      ).json<Pending>();
      expect((await put(p.uploadUrl, p.headers, PNG)).statusCode).toBe(200);
      const later = new Date(Date.now() + svc.config.uploads.pendingTtlSeconds * 1000 + 1000);
      expect(await svc.built.uploads.sweep(later)).toBeGreaterThanOrEqual(1);
      const gone = await inject({ method: 'GET', url: `/api/v1/uploads/${p.id}`, headers: auth() });
      expect(gone.statusCode).toBe(404);
      expect((await complete(p.id)).statusCode).toBe(404);
      const objects: string[] = [];
      for await (const o of svc.built.uploads.store.list({ prefix: 'uploads/' }))
        objects.push(o.key);
      expect(objects.length).toBeGreaterThan(0);
      const served = await inject({ method: 'GET', url: `/files/${kept.id}` });
      expect(served.statusCode).toBe(200);
    });
  });

  describe('file links and preview images', () => {
    it('makes a short link whose target is an uploaded file', async () => {
      const { id, url } = await uploadPng('cat.png');
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { uploadId: id },
        headers: auth(),
      });
      expect(res.statusCode).toBe(201);
      const link = res.json<{
        code: string;
        url: string;
        file: { uploadId: string } | null;
        image: string | null;
      }>();
      expect(link.url).toBe(url);
      expect(link.file).toMatchObject({
        uploadId: id,
        fileName: 'cat.png',
        contentType: 'image/png',
      });
      expect(link.image).toBe(url);
      const r = await inject({ method: 'GET', url: `/${link.code}` });
      expect(r.statusCode).toBe(302);
      expect(r.headers.location).toBe(url);
      // The served URL the dashboard holds makes a file link too.
      const byUrl = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { url },
        headers: auth(),
      });
      expect(byUrl.statusCode).toBe(201);
      expect(byUrl.json()).toMatchObject({ file: { uploadId: id } });
    });

    it('refuses a file link to an upload that is not complete, and a link with neither url nor uploadId', async () => {
      const p = (
        await start({ fileName: 'a.png', contentType: 'image/png', size: PNG.length })
      ).json<Pending>();
      const res = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { uploadId: p.id },
        headers: auth(),
      });
      expect(res.statusCode).toBe(409);
      const none = await inject({
        method: 'POST',
        url: '/api/v1/links',
        payload: { title: 'x' },
        headers: auth(),
      });
      expect(none.statusCode).toBe(400);
    });

    it('sets an uploaded image as a link preview image, and refuses a non-image upload for it', async () => {
      const link = (
        await inject({
          method: 'POST',
          url: '/api/v1/links',
          payload: { url: 'https://example.com/' },
          headers: auth(),
        })
      ).json<{ code: string }>();
      const { id, url } = await uploadPng('preview.png');
      const res = await inject({
        method: 'PATCH',
        url: `/api/v1/links/${link.code}`,
        payload: { imageUploadId: id, description: 'A description' },
        headers: auth(),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ image: url, description: 'A description' });
      const text = Buffer.from('plain text');
      const t = (
        await start({ fileName: 't.txt', contentType: 'text/plain', size: text.length })
      ).json<Pending>();
      await put(t.uploadUrl, t.headers, text);
      await complete(t.id);
      const bad = await inject({
        method: 'PATCH',
        url: `/api/v1/links/${link.code}`,
        payload: { imageUploadId: t.id },
        headers: auth(),
      });
      expect(bad.statusCode).toBe(400);
      expect(
        (
          await inject({ method: 'GET', url: `/api/v1/links/${link.code}`, headers: auth() })
        ).json(),
      ).toMatchObject({ image: url });
    });
  });
});
