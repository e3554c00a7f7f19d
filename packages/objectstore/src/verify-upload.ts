import type { ObjectInfo, ObjectStore } from './port.js';
import { SNIFF_BYTES, verifyContentType } from './sniff.js';

export interface ExpectedUpload {
  readonly key: string;
  /** The size the upload was signed for. */
  readonly size: number;
  /** The content type the upload was signed for. */
  readonly contentType: string;
}

export type UploadVerdict =
  | { readonly ok: true; readonly info: ObjectInfo; readonly sniffed: string | undefined }
  | {
      readonly ok: false;
      readonly code: 'NOT_UPLOADED' | 'SIZE_MISMATCH' | 'TYPE_MISMATCH' | 'CONTENT_MISMATCH';
      /** Words safe to show to the uploader. */
      readonly reason: string;
    };

/**
 * The check behind "complete upload": the object must exist with exactly the signed size
 * and type, and its first bytes must agree with that type ({@link verifyContentType}).
 * When the object exists but fails, it is deleted, so nothing unchecked stays stored.
 *
 * @example
 * const verdict = await verifyUpload(store, { key, size: 5120, contentType: 'image/png' });
 * if (!verdict.ok) return problem(422, verdict.code, verdict.reason);
 */
export async function verifyUpload(
  store: ObjectStore,
  expected: ExpectedUpload,
): Promise<UploadVerdict> {
  const info = await store.head(expected.key);
  if (info === undefined) {
    return { ok: false, code: 'NOT_UPLOADED', reason: 'no object was uploaded' };
  }
  let verdict: UploadVerdict | undefined;
  if (info.size !== expected.size) {
    verdict = {
      ok: false,
      code: 'SIZE_MISMATCH',
      reason: `object is ${info.size} bytes, not ${expected.size}`,
    };
  } else if (info.contentType !== expected.contentType) {
    verdict = {
      ok: false,
      code: 'TYPE_MISMATCH',
      reason: `object is stored as ${info.contentType}, not ${expected.contentType}`,
    };
  } else {
    const head = await store.readFirstBytes(expected.key, SNIFF_BYTES);
    const sniff = await verifyContentType(expected.contentType, head);
    if (sniff.ok) return { ok: true, info, sniffed: sniff.sniffed };
    verdict = {
      ok: false,
      code: 'CONTENT_MISMATCH',
      reason: sniff.reason ?? 'content does not match its type',
    };
  }
  await store.delete(expected.key);
  return verdict;
}
