import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_TIMEOUT_MS,
  PreviewError,
  safeFetch,
  type SafeFetchOptions,
} from '../src/index.js';
import { html, startTestServer, type TestServer } from './support/server.js';

async function failure(promise: Promise<unknown>): Promise<PreviewError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PreviewError) return error;
    throw error;
  }
  throw new Error('expected a PreviewError');
}

describe('safeFetch limits', () => {
  let server: TestServer;
  let allowed: SafeFetchOptions;
  const timers: NodeJS.Timeout[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    allowed = { unsafeAllowPorts: [server.port], unsafeAllowAddresses: ['127.0.0.1'] };
  });
  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    await server.close();
  });

  it('defaults to 5 s, 2 MiB and 3 redirects', () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(5000);
    expect(DEFAULT_MAX_BYTES).toBe(2 * 1024 * 1024);
    expect(DEFAULT_MAX_REDIRECTS).toBe(3);
  });

  it('rejects nonsensical limits before fetching', async () => {
    const before = server.connections();
    await expect(safeFetch(`${server.origin}/x`, { timeoutMs: 0 })).rejects.toBeInstanceOf(
      RangeError,
    );
    await expect(safeFetch(`${server.origin}/x`, { maxBytes: -1 })).rejects.toBeInstanceOf(
      RangeError,
    );
    await expect(safeFetch(`${server.origin}/x`, { maxRedirects: 1.5 })).rejects.toBeInstanceOf(
      RangeError,
    );
    expect(server.connections()).toBe(before);
  });

  it('gives up at the total deadline even while bytes keep trickling in', async () => {
    server.route('/drip', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      const t = setInterval(() => res.write('<p>.</p>'), 50);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    });
    const started = Date.now();
    const error = await failure(safeFetch(`${server.origin}/drip`, { ...allowed, timeoutMs: 400 }));
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out a server that never answers', async () => {
    server.route('/silent', () => undefined);
    const error = await failure(
      safeFetch(`${server.origin}/silent`, { ...allowed, timeoutMs: 300 }),
    );
    expect(error.code).toBe('TIMEOUT');
  });

  it('refuses a body whose Content-Length exceeds the cap', async () => {
    const big = 'x'.repeat(DEFAULT_MAX_BYTES + 1);
    server.route('/big', html(big));
    expect((await failure(safeFetch(`${server.origin}/big`, allowed))).code).toBe('TOO_LARGE');
  });

  it('stops reading a chunked body at the cap', async () => {
    let written = 0;
    server.route('/endless', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        while (written < 50 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (written >= 50 * 1024 * 1024) res.end();
      };
      res.on('drain', pump);
      pump();
    });
    const error = await failure(safeFetch(`${server.origin}/endless`, allowed));
    expect(error.code).toBe('TOO_LARGE');
    expect(written).toBeLessThan(20 * 1024 * 1024);
  });

  it('with truncate, keeps exactly the first maxBytes of a longer body and stops reading', async () => {
    let written = 0;
    server.route('/long', (_req, res) => {
      res.writeHead(200, {
        'Content-Type': 'text/html',
        'Content-Length': String(50 * 1024 * 1024),
      });
      const chunk = Buffer.alloc(64 * 1024, 'b');
      const pump = (): void => {
        while (written < 50 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
      };
      res.on('drain', pump);
      pump();
    });
    const page = await safeFetch(`${server.origin}/long`, {
      ...allowed,
      truncate: true,
      maxBytes: 100_000,
    });
    expect(page.truncated).toBe(true);
    expect(page.body.length).toBe(100_000);
    expect(written).toBeLessThan(20 * 1024 * 1024);
  });

  it('caps the decompressed size, so a gzip bomb is refused', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(20 * 1024 * 1024, ' '));
    expect(bomb.length).toBeLessThan(100 * 1024);
    server.route('/bomb', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' }).end(bomb);
    });
    expect((await failure(safeFetch(`${server.origin}/bomb`, allowed))).code).toBe('TOO_LARGE');
  });

  it('decompresses gzip and brotli bodies within the cap', async () => {
    server.route('/gz', (_req, res) => {
      res
        .writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'gzip' })
        .end(zlib.gzipSync('<title>gz</title>'));
    });
    server.route('/br', (_req, res) => {
      res
        .writeHead(200, { 'Content-Type': 'text/html', 'Content-Encoding': 'br' })
        .end(zlib.brotliCompressSync('<title>br</title>'));
    });
    expect((await safeFetch(`${server.origin}/gz`, allowed)).body.toString()).toBe(
      '<title>gz</title>',
    );
    expect((await safeFetch(`${server.origin}/br`, allowed)).body.toString()).toBe(
      '<title>br</title>',
    );
  });

  it('accepts only HTML content types', async () => {
    server.route('/json', html('{"a":1}', 'application/json'));
    server.route('/png', html('\x89PNG', 'image/png'));
    server.route('/none', (_req, res) => {
      res.writeHead(200).end('<title>x</title>');
    });
    server.route('/xhtml', html('<title>x</title>', 'application/xhtml+xml; charset=utf-8'));
    for (const path of ['/json', '/png', '/none']) {
      expect((await failure(safeFetch(`${server.origin}${path}`, allowed))).code, path).toBe(
        'NOT_HTML',
      );
    }
    expect((await safeFetch(`${server.origin}/xhtml`, allowed)).status).toBe(200);
  });

  it('reports non-2xx answers with their status', async () => {
    const error = await failure(safeFetch(`${server.origin}/missing`, allowed));
    expect(error.code).toBe('HTTP_ERROR');
    expect(error.status).toBe(404);
  });

  it('stops when the caller aborts', async () => {
    server.route('/slow', () => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await failure(
      safeFetch(`${server.origin}/slow`, { ...allowed, signal: controller.signal }),
    );
    expect(error.code).toBe('ABORTED');
  });
});
