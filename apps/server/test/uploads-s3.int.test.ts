import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The objectstore package's own test rig: an S3 emulator behind a proxy that verifies every
// request's SigV4 signature (the emulator itself does not), so refusals are S3's refusals.
import {
  startSigV4Proxy,
  type SigV4Proxy,
} from '../../../packages/objectstore/test/support/sigv4-proxy.js';
import { auth, availableModes, startService, type TestService } from './helpers.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const BUCKET = 'linkforge-server-test';
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

interface Pending {
  id: string;
  uploadUrl: string;
  method: string;
  headers: Record<string, string>;
}

describe.each(availableModes())('uploads with OBJECT_STORE=s3 (%s mode)', (mode) => {
  let svc: TestService;
  let emulator: S3rver;
  let proxy: SigV4Proxy;
  let directory: string;
  const saved: Record<string, string | undefined> = {};
  const inject: TestService['built']['app']['inject'] = ((
    ...args: Parameters<TestService['built']['app']['inject']>
  ) => svc.built.app.inject(...args)) as never;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'lf-server-s3-'));
    emulator = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      vhostBuckets: false,
      configureBuckets: [{ name: BUCKET }],
    });
    const { port } = await emulator.run();
    proxy = await startSigV4Proxy({
      target: { host: '127.0.0.1', port },
      accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      region: 'us-east-1',
      emulatorDirectory: directory,
    });
    // Credentials reach the app as in production: through the AWS default provider chain.
    for (const [k, v] of Object.entries(CREDENTIALS)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    svc = await startService(mode, {
      OBJECT_STORE: 's3',
      S3_BUCKET: BUCKET,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: proxy.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
    });
  });
  afterAll(async () => {
    await svc?.close();
    await proxy?.close();
    await emulator?.close();
    await rm(directory, { recursive: true, force: true });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const start = async (body: Record<string, unknown>) =>
    (
      await inject({ method: 'POST', url: '/api/v1/uploads', payload: body, headers: auth() })
    ).json<Pending>();
  const put = (url: string, headers: Record<string, string>, body: Buffer) =>
    fetch(url, { method: 'PUT', headers, body: Uint8Array.from(body) });
  const complete = (id: string) =>
    inject({ method: 'POST', url: `/api/v1/uploads/${id}/complete`, payload: {}, headers: auth() });

  it('hands out a presigned S3 URL, and the client uploads straight to the bucket', async () => {
    const p = await start({ fileName: 'a.png', contentType: 'image/png', size: PNG.length });
    expect(p.uploadUrl.startsWith(`${proxy.endpoint}/${BUCKET}/uploads/`)).toBe(true);
    expect(p.uploadUrl).toContain('X-Amz-Signature=');
    expect(p.uploadUrl).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i);
    expect(p.headers).toMatchObject({ 'content-type': 'image/png', 'if-none-match': '*' });
    const r = await put(p.uploadUrl, p.headers, PNG);
    expect(r.status).toBe(200);
    const done = await complete(p.id);
    expect(done.statusCode).toBe(200);
    const got = await inject({ method: 'GET', url: `/files/${p.id}/a.png` });
    expect(got.statusCode).toBe(200);
    expect(got.rawPayload.equals(PNG)).toBe(true);
    expect(got.headers['x-content-type-options']).toBe('nosniff');
  });

  it('S3 refuses a tampered, wrong-type or oversized PUT, and complete then finds nothing', async () => {
    const p = await start({ fileName: 'b.png', contentType: 'image/png', size: PNG.length });
    const tampered = p.uploadUrl.replace(/(uploads\/\d{4}\/\d{2}\/)./, '$1Z');
    expect((await put(tampered, p.headers, PNG)).status).toBe(403);
    const wrongType = await put(p.uploadUrl, { ...p.headers, 'content-type': 'text/html' }, PNG);
    expect(wrongType.status).toBe(403);
    const bigger = await put(p.uploadUrl, p.headers, Buffer.concat([PNG, Buffer.from('x')]));
    expect(bigger.status).toBe(403);
    const res = await complete(p.id);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'upload_incomplete' });
  });

  it('deletes an object whose bytes are not the declared type', async () => {
    const fake = Buffer.from('definitely not an image, just some text bytes....');
    const p = await start({ fileName: 'c.png', contentType: 'image/png', size: fake.length });
    expect((await put(p.uploadUrl, p.headers, fake)).status).toBe(200);
    const res = await complete(p.id);
    expect(res.statusCode).toBe(422);
    const [row] = await svc.built.runtime.db.query<{ object_key: string }>(
      'SELECT object_key FROM uploads WHERE id = $1',
      [p.id],
    );
    expect(await svc.built.uploads.store.head(row!.object_key)).toBeUndefined();
  });
});
