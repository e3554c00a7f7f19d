import { fileTypeFromBuffer } from 'file-type';
import { isSafeImageType } from './content-type.js';

/** How many leading bytes {@link sniffContentType} needs to see for every type it knows. */
export const SNIFF_BYTES = 4100;

/**
 * The media type that an object's first bytes prove (magic numbers, via `file-type`), or
 * `undefined` for text and unknown formats.
 *
 * @example
 * await sniffContentType(await store.readFirstBytes(key, SNIFF_BYTES)); // 'image/png'
 */
export async function sniffContentType(head: Uint8Array): Promise<string | undefined> {
  if (head.length === 0) return undefined;
  const result = await fileTypeFromBuffer(head);
  return result?.mime;
}

export interface ContentTypeVerdict {
  /** True when the bytes are consistent with the declared type. */
  readonly ok: boolean;
  /** What the magic bytes say, if anything. */
  readonly sniffed: string | undefined;
  /** Why the verdict is negative, in words safe to show to the uploader. */
  readonly reason?: string;
}

/**
 * The rule for accepting an upload's declared type against its first bytes:
 * - a declared safe image type or PDF must be proven by the magic bytes — these are the types
 *   served inline or trusted, so a mislabelled file must not get in;
 * - any other declared type is accepted only if the bytes do not prove a *different* binary
 *   type (text formats have no magic number, so "unknown" is fine for them).
 *
 * @example
 * verifyContentType('image/png', head); // { ok: false, sniffed: 'text/html'?, reason: ... }
 */
export async function verifyContentType(
  declared: string,
  head: Uint8Array,
): Promise<ContentTypeVerdict> {
  const sniffed = await sniffContentType(head);
  if (sniffed === declared) return { ok: true, sniffed };
  const mustProve = isSafeImageType(declared) || declared === 'application/pdf';
  if (sniffed === undefined) {
    return mustProve
      ? { ok: false, sniffed, reason: `content is not a valid ${declared} file` }
      : { ok: true, sniffed };
  }
  return { ok: false, sniffed, reason: `content is ${sniffed}, not ${declared}` };
}
