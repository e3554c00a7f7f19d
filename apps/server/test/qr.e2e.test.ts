import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, availableModes, startService, type TestService } from './helpers.js';

// jsqr is CommonJS typed as an ES default export: under NodeNext the function is `.default`.
const jsQR = jsqr.default;

/** Reads the text a PNG QR code encodes. */
function decode(png: Buffer): { text: string | undefined; width: number } {
  const image = PNG.sync.read(png);
  const found = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  return { text: found?.data, width: image.width };
}

describe.each(availableModes())('GET /api/v1/links/{code}/qr (%s mode)', (mode) => {
  let svc: TestService;
  let code: string;
  const inject: TestService['built']['app']['inject'] = ((
    ...args: Parameters<TestService['built']['app']['inject']>
  ) => svc.built.app.inject(...args)) as never;
  const qr = (query: string, headers: Record<string, string> = auth()) =>
    inject({ method: 'GET', url: `/api/v1/links/${code}/qr${query}`, headers });

  beforeAll(async () => {
    svc = await startService(mode);
    const res = await inject({
      method: 'POST',
      url: '/api/v1/links',
      payload: { url: 'https://example.com/qr-target' },
      headers: auth(),
    });
    code = res.json<{ code: string }>().code;
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('renders a PNG that decodes to the short URL, at the size asked for', async () => {
    const res = await qr('?format=png&size=300&margin=2&ecc=H');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    const { text, width } = decode(res.rawPayload);
    expect(text).toBe(`http://sho.rt/${code}`);
    expect(width).toBe(300);
  });

  it('renders SVG by default', async () => {
    const res = await qr('');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(res.body).toMatch(/^<svg[^>]*viewBox=/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('is cached: Cache-Control and an ETag that answers 304', async () => {
    const first = await qr('?format=png');
    expect(first.headers['cache-control']).toBe('private, max-age=86400');
    const etag = String(first.headers.etag);
    expect(etag).not.toBe('undefined');
    const again = await qr('?format=png', { ...auth(), 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const other = await qr('?format=png&ecc=L', { ...auth(), 'if-none-match': etag });
    expect(other.statusCode).toBe(200);
  });

  it.each([
    ['?format=gif', 'format'],
    ['?size=10', 'size'],
    ['?size=99999', 'size'],
    ['?size=abc', 'size'],
    ['?margin=-1', 'margin'],
    ['?ecc=X', 'ecc'],
    ['?colour=red', 'colour'],
  ])('refuses %s with a 400 naming the parameter', async (query, name) => {
    const res = await qr(query);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
    expect(res.json<{ detail: string }>().detail).toContain(name);
  });

  it('answers 404 for a link of no one and 401 without a key', async () => {
    const missing = await inject({
      method: 'GET',
      url: '/api/v1/links/nothere/qr',
      headers: auth(),
    });
    expect(missing.statusCode).toBe(404);
    expect((await qr('', {})).statusCode).toBe(401);
  });
});
