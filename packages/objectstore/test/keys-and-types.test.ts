import { describe, expect, it } from 'vitest';
import {
  contentDisposition,
  deliveryHeaders,
  isSafeImageType,
  isValidKey,
  newObjectKey,
  planParts,
  sniffContentType,
  verifyContentType,
} from '../src/index.js';
import { PNG } from './support/contract.js';

describe('object keys', () => {
  it('accepts server-made keys and refuses everything a path or URL could misread', () => {
    expect(isValidKey(newObjectKey('uploads', new Date('2026-03-04T00:00:00Z')))).toBe(true);
    expect(newObjectKey('uploads', new Date('2026-03-04T00:00:00Z'))).toMatch(
      /^uploads\/2026\/03\/[a-z2-7]{26}$/,
    );
    for (const bad of [
      '',
      '..',
      '../a',
      'a/../b',
      'a/./b',
      '/a',
      'a/',
      'a//b',
      'a\\b',
      'a\u0000b',
      '%2e%2e/a',
      'a b',
      '.env',
      'x'.repeat(513),
    ]) {
      expect(isValidKey(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('safe image rule and delivery headers', () => {
  it('serves only raster images inline; SVG, HTML and PDF download', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']) {
      expect(isSafeImageType(type)).toBe(true);
    }
    for (const type of [
      'image/svg+xml',
      'text/html',
      'application/pdf',
      'application/octet-stream',
    ]) {
      expect(isSafeImageType(type)).toBe(false);
    }
  });

  it('names downloads safely in both RFC 6266 forms', () => {
    expect(contentDisposition('application/pdf', 'Rapport "été"/2026.pdf')).toBe(
      `attachment; filename="Rapport __t___2026.pdf"; filename*=UTF-8''Rapport%20%22%C3%A9t%C3%A9%22_2026.pdf`,
    );
    expect(contentDisposition('image/png', 'a.png')).toMatch(/^inline; /);
    expect(contentDisposition('text/plain', 'bad\ud800name\r\n.txt')).toBe(
      `attachment; filename="bad_name__.txt"; filename*=UTF-8''bad_name__.txt`,
    );
    const long = contentDisposition('text/plain', '😀'.repeat(300));
    expect(long).toContain(`filename*=UTF-8''${encodeURIComponent('😀'.repeat(200))}`);
  });

  it('always sends nosniff and a sandboxing CSP', () => {
    const headers = deliveryHeaders({ contentType: 'text/html', size: 3 });
    expect(headers).toMatchObject({
      'X-Content-Type-Options': 'nosniff',
      'Content-Disposition': 'attachment',
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
  });
});

describe('content sniffing', () => {
  it('finds the real type from magic bytes', async () => {
    expect(await sniffContentType(PNG)).toBe('image/png');
    expect(await sniffContentType(Buffer.from('%PDF-1.7\n'))).toBe('application/pdf');
    expect(await sniffContentType(Buffer.from('<html></html>'))).toBeUndefined();
    expect(await sniffContentType(new Uint8Array(0))).toBeUndefined();
  });

  it('rejects an HTML page declared as a PNG and a PNG declared as a JPEG', async () => {
    expect(
      await verifyContentType('image/png', Buffer.from('<script>alert(1)</script>')),
    ).toMatchObject({
      ok: false,
    });
    expect(await verifyContentType('image/jpeg', PNG)).toEqual({
      ok: false,
      sniffed: 'image/png',
      reason: 'content is image/png, not image/jpeg',
    });
  });

  it('accepts matching types and text types without a magic number', async () => {
    expect(await verifyContentType('image/png', PNG)).toEqual({ ok: true, sniffed: 'image/png' });
    expect(await verifyContentType('text/csv', Buffer.from('a,b\n1,2\n'))).toMatchObject({
      ok: true,
    });
  });
});

describe('planParts', () => {
  it('splits into full parts and a shorter last one', () => {
    expect(planParts(10, 4, 4).sizes).toEqual([4, 4, 2]);
  });

  it('grows the part size to stay within 10 000 parts', () => {
    const plan = planParts(100_000, 5, 5);
    expect(plan.sizes.length).toBeLessThanOrEqual(10_000);
    expect(plan.sizes.reduce((a, b) => a + b, 0)).toBe(100_000);
  });
});
