/**
 * Stable error codes of the object store. Each maps to one HTTP status so that a server can
 * turn a failed signed request into a response without knowing the adapter.
 */
export type ObjectStoreErrorCode =
  | 'INVALID_KEY'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'UPLOAD_NOT_FOUND'
  | 'BAD_REQUEST'
  | 'SIGNATURE_INVALID'
  | 'EXPIRED'
  | 'CONTENT_TYPE_MISMATCH'
  | 'TOO_LARGE'
  | 'INCOMPLETE_BODY'
  | 'INVALID_PART'
  | 'KEY_CONFLICT';

const STATUS: Record<ObjectStoreErrorCode, number> = {
  INVALID_KEY: 400,
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  BAD_REQUEST: 400,
  SIGNATURE_INVALID: 403,
  EXPIRED: 403,
  CONTENT_TYPE_MISMATCH: 415,
  TOO_LARGE: 413,
  INCOMPLETE_BODY: 400,
  INVALID_PART: 400,
  KEY_CONFLICT: 409,
};

/**
 * The one error class of this package. `code` is stable and safe to show to a client;
 * `status` is the HTTP status a server should answer with.
 *
 * @example
 * try { await store.handleSignedPut(req) }
 * catch (e) { if (e instanceof ObjectStoreError) reply.code(e.status).send({ code: e.code }) }
 */
export class ObjectStoreError extends Error {
  readonly code: ObjectStoreErrorCode;
  readonly status: number;

  constructor(code: ObjectStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ObjectStoreError';
    this.code = code;
    this.status = STATUS[code];
  }
}
