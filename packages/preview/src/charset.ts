/**
 * Decodes an HTML body to text, choosing the encoding the way browsers do (WHATWG
 * "encoding sniffing", simplified): a byte-order mark wins, then the `charset` of the
 * Content-Type header, then a `<meta charset>` or `<meta http-equiv=Content-Type>` in the
 * first 1024 bytes, else UTF-8. Labels Node's TextDecoder does not know fall back to UTF-8;
 * malformed bytes become U+FFFD rather than an error.
 *
 * @example
 * decodeHtml(body, 'text/html; charset=windows-1252');
 */
export function decodeHtml(body: Uint8Array, contentType = ''): string {
  const label = bomEncoding(body) ?? headerCharset(contentType) ?? metaCharset(body) ?? 'utf-8';
  const skip = bomLength(body);
  const bytes = body.subarray(skip);
  try {
    return new TextDecoder(label, { fatal: false }).decode(bytes);
  } catch {
    return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
}

function bomEncoding(body: Uint8Array): string | undefined {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  return undefined;
}

function bomLength(body: Uint8Array): number {
  const encoding = bomEncoding(body);
  return encoding === undefined ? 0 : encoding === 'utf-8' ? 3 : 2;
}

function headerCharset(contentType: string): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return match?.[1]?.toLowerCase();
}

function metaCharset(body: Uint8Array): string | undefined {
  // The prescan reads bytes as Latin-1: every byte maps to one char, and the markup that
  // names the charset is ASCII in every encoding a page can declare this way.
  const head = Buffer.from(body.subarray(0, 1024)).toString('latin1');
  const direct = /<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.-]+)/i.exec(head);
  const label = direct?.[1]?.toLowerCase();
  // A page cannot declare itself UTF-16 in ASCII-compatible markup; browsers read UTF-8.
  if (label === 'utf-16' || label === 'utf-16le' || label === 'utf-16be') return 'utf-8';
  return label;
}
