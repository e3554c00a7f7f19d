import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

/** Where `npm run build -w @linkforge/web` writes the dashboard, next to this app. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

/** One file of the built dashboard, held in memory with its precompressed variants. */
export interface Asset {
  readonly type: string;
  readonly etag: string;
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly brotli: Buffer | undefined;
}

function load(path: string): Asset {
  const body = readFileSync(path);
  const ext = extname(path);
  const compress = COMPRESSIBLE.has(ext) && body.length > 512;
  return {
    type: TYPES[ext] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    body,
    gzip: compress ? gzipSync(body, { level: 9 }) : undefined,
    brotli: compress
      ? brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } })
      : undefined,
  };
}

/**
 * The built dashboard, read once at start-up: `index.html` plus the fingerprinted files under
 * `assets/` (their names change with their content, so they may be cached for a year).
 * `undefined` when the dashboard was not built.
 */
export function loadDashboard(
  dir: string,
): { index: Asset; assets: ReadonlyMap<string, Asset> } | undefined {
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) return undefined;
  const assets = new Map<string, Asset>();
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      const path = join(assetDir, name);
      if (statSync(path).isFile()) assets.set(name, load(path));
    }
  }
  return { index: load(indexPath), assets };
}

/** Picks the smallest encoding the client accepts: brotli, then gzip, then identity. */
export function negotiate(
  asset: Asset,
  acceptEncoding: string | undefined,
): { body: Buffer; encoding: string | undefined } {
  const accepted = (acceptEncoding ?? '')
    .split(',')
    .map((p) => p.trim().split(';'))
    .filter(([, q]) => q === undefined || !/^\s*q=0(?:\.0*)?\s*$/.test(q))
    .map(([name]) => name!.trim().toLowerCase());
  if (asset.brotli !== undefined && accepted.includes('br'))
    return { body: asset.brotli, encoding: 'br' };
  if (asset.gzip !== undefined && accepted.includes('gzip'))
    return { body: asset.gzip, encoding: 'gzip' };
  return { body: asset.body, encoding: undefined };
}
