import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newObjectKey } from '../src/index.js';
import type { S3ObjectStore } from '../src/s3/s3-store.js';
import { PNG } from './support/contract.js';
import { BUCKET, startS3Harness, type S3Harness } from './support/s3-harness.js';

describe('S3ObjectStore presigned uploads', () => {
  let harness: S3Harness;
  let store: S3ObjectStore;

  beforeAll(async () => {
    harness = await startS3Harness();
    store = harness.makeStore();
  });
  afterAll(async () => {
    await harness.close();
  });

  async function refusalFor(url: string, body: Uint8Array, headers: Record<string, string>) {
    const before = harness.proxy.refusals.length;
    const response = await fetch(url, { method: 'PUT', headers, body: Uint8Array.from(body) });
    await response.arrayBuffer();
    return { status: response.status, reason: harness.proxy.refusals[before] };
  }

  it('signs Content-Type and Content-Length into the URL and adds no checksum parameters', async () => {
    const signed = await store.createUpload({
      key: newObjectKey(),
      contentType: 'image/png',
      size: PNG.length,
    });
    const url = new URL(signed.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual([
      'content-length',
      'content-type',
      'host',
      'if-none-match',
    ]);
    expect(signed.headers).toEqual({ 'Content-Type': 'image/png', 'If-None-Match': '*' });
    const names = [...url.searchParams.keys()].map((k) => k.toLowerCase());
    expect(names.filter((n) => n.includes('checksum'))).toEqual([]);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
  });

  it('would carry a checksum parameter with the SDK default, which is why it is turned off', async () => {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: harness.proxy.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const url = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'k', ContentType: 'image/png' }),
      { expiresIn: 60 },
    );
    client.destroy();
    expect(url.toLowerCase()).toContain('x-amz-checksum');
  });

  it('is refused by the signature check when the key is tampered with', async () => {
    const key = newObjectKey();
    const signed = await store.createUpload({ key, contentType: 'image/png', size: PNG.length });
    const other = newObjectKey();
    const tampered = signed.url.replace(key.split('/').pop()!, other.split('/').pop()!);
    const result = await refusalFor(tampered, PNG, { ...signed.headers });
    expect(result).toEqual({ status: 403, reason: 'signature does not match' });
  });

  it('is refused as expired once X-Amz-Expires has passed', async () => {
    const past = harness.makeStore({ now: () => new Date(Date.now() - 6 * 60_000) });
    const signed = await past.createUpload({
      key: newObjectKey(),
      contentType: 'image/png',
      size: PNG.length,
    });
    const result = await refusalFor(signed.url, PNG, { ...signed.headers });
    expect(result).toEqual({ status: 403, reason: 'expired: request has expired' });
  });

  it('is refused when the Content-Type differs from the signed one', async () => {
    const signed = await store.createUpload({
      key: newObjectKey(),
      contentType: 'image/png',
      size: PNG.length,
    });
    const result = await refusalFor(signed.url, PNG, {
      ...signed.headers,
      'Content-Type': 'text/html',
    });
    expect(result).toEqual({ status: 403, reason: 'signature does not match' });
  });

  it('is refused when the client leaves out the signed If-None-Match header', async () => {
    const signed = await store.createUpload({
      key: newObjectKey(),
      contentType: 'image/png',
      size: PNG.length,
    });
    const result = await refusalFor(signed.url, PNG, { 'Content-Type': 'image/png' });
    expect(result).toEqual({ status: 403, reason: 'signed header if-none-match is missing' });
  });

  it('is refused when the body is larger than the signed Content-Length', async () => {
    const signed = await store.createUpload({
      key: newObjectKey(),
      contentType: 'image/png',
      size: PNG.length,
    });
    const body = Buffer.concat([PNG, Buffer.alloc(1024)]);
    const result = await refusalFor(signed.url, body, { ...signed.headers });
    expect(result).toEqual({ status: 403, reason: 'signature does not match' });
  });

  it('the proxy refuses unsigned requests and requests signed with another secret', async () => {
    const anonymous = await fetch(`${harness.proxy.endpoint}/${BUCKET}/x`, {
      method: 'PUT',
      body: 'x',
    });
    await anonymous.arrayBuffer();
    expect(anonymous.status).toBe(403);
    const forged = new S3Client({
      region: 'us-east-1',
      endpoint: harness.proxy.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const url = await getSignedUrl(
      forged,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'forged', ContentType: 'text/plain' }),
      { expiresIn: 60 },
    );
    forged.destroy();
    const result = await refusalFor(url, Buffer.from('x'), { 'Content-Type': 'text/plain' });
    expect(result).toEqual({ status: 403, reason: 'signature does not match' });
    expect(await store.head('forged')).toBeUndefined();
  });

  it('signs each multipart part URL with its exact Content-Length', async () => {
    const multipart = await store.createMultipartUpload({
      key: newObjectKey(),
      contentType: 'application/zip',
      size: 5 * 1024 * 1024 + 7,
    });
    expect(multipart.parts).toHaveLength(2);
    for (const part of multipart.parts) {
      const url = new URL(part.url);
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
      expect(url.searchParams.get('partNumber')).toBe(String(part.partNumber));
    }
    const result = await refusalFor(multipart.parts[1]!.url, Buffer.alloc(8), {});
    expect(result).toEqual({ status: 403, reason: 'signature does not match' });
    await store.abortMultipartUpload({ key: multipart.key, uploadId: multipart.uploadId });
  });
});
