import { ObjectStoreError } from './errors.js';

/**
 * A bare `type/subtype` media type in lower case, no parameters. Uploads are signed with the
 * exact Content-Type string, so one canonical spelling avoids signature mismatches between
 * what the server signed and what a browser sends.
 */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Whether `value` is a bare lower-case `type/subtype` media type. */
export function isValidContentType(value: unknown): value is string {
  return typeof value === 'string' && MEDIA_TYPE.test(value);
}

/**
 * Throws `ObjectStoreError('INVALID_ARGUMENT')` unless `value` is a bare lower-case
 * `type/subtype` media type such as `image/png`.
 */
export function assertValidContentType(value: unknown): asserts value is string {
  if (!isValidContentType(value)) {
    throw new ObjectStoreError(
      'INVALID_ARGUMENT',
      'content type must be a lower-case type/subtype without parameters',
    );
  }
}

/**
 * Image types a browser renders without running code: safe to serve inline. SVG is left out
 * on purpose: it can carry script.
 */
export const SAFE_IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
]);

/**
 * Whether objects of this type may be shown inline (as a preview image). Everything else is
 * served as a download.
 *
 * @example
 * isSafeImageType('image/png'); // true
 * isSafeImageType('image/svg+xml'); // false
 */
export function isSafeImageType(contentType: string): boolean {
  return SAFE_IMAGE_TYPES.has(contentType.split(';')[0]!.trim().toLowerCase());
}

/**
 * The Content-Disposition for serving an object: `inline` for safe images, `attachment`
 * (with an RFC 6266 file name, ASCII fallback plus UTF-8 form) for everything else.
 *
 * @example
 * contentDisposition('application/pdf', 'Q3 report.pdf');
 * // 'attachment; filename="Q3 report.pdf"; filename*=UTF-8\'\'Q3%20report.pdf'
 */
export function contentDisposition(contentType: string, fileName?: string): string {
  const kind = isSafeImageType(contentType) ? 'inline' : 'attachment';
  if (fileName === undefined || fileName === '') return kind;
  // Control characters and path separators never belong in a suggested name.
  // Per code point, so a cut never splits a surrogate pair; lone surrogates cannot be
  // percent-encoded and become '_' like control characters and path separators.
  const cleaned = Array.from(fileName)
    .slice(0, 200)
    .map((c) => {
      const code = c.codePointAt(0) ?? 0;
      const bad = code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff);
      return bad || c === '/' || c === '\\' ? '_' : c;
    })
    .join('');
  const ascii = cleaned.replace(/[^\x20-\x7e]/g, '_').replace(/["%]/g, '_');
  const encoded = encodeURIComponent(cleaned).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * The response headers for serving a stored object to a browser: its real type,
 * `nosniff`, a disposition by {@link isSafeImageType}, and a CSP that stops any active
 * content if a browser renders it anyway.
 *
 * @example
 * reply.headers(deliveryHeaders({ contentType: 'image/png', size: 120 }));
 */
export function deliveryHeaders(object: {
  contentType: string;
  size: number;
  fileName?: string;
}): Record<string, string> {
  return {
    'Content-Type': object.contentType,
    'Content-Length': String(object.size),
    'X-Content-Type-Options': 'nosniff',
    'Content-Disposition': contentDisposition(object.contentType, object.fileName),
    'Content-Security-Policy': "default-src 'none'; sandbox",
  };
}
