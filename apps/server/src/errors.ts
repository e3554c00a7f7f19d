/**
 * The catalogue of error codes Linkforge answers with. Every HTTP error body is
 * `application/problem+json` (RFC 9457) whose `code` is one of these; clients may rely on
 * them. Documented in docs/errors.md.
 */
export const ERRORS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_url: { status: 400, title: 'The URL cannot be shortened' },
  invalid_alias: { status: 400, title: 'The alias is not allowed' },
  invalid_cursor: { status: 400, title: 'The pagination cursor is not valid' },
  unauthorized: { status: 401, title: 'An API key is required' },
  payment_required: { status: 402, title: 'Not enough credits' },
  forbidden: { status: 403, title: 'This API key may not do that' },
  csrf_failed: { status: 403, title: 'The CSRF token is missing or wrong' },
  not_found: { status: 404, title: 'Not found' },
  alias_taken: { status: 409, title: 'The alias is already taken' },
  gone: { status: 410, title: 'The link is no longer available' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  upload_incomplete: { status: 409, title: 'The upload is not complete' },
  upload_conflict: { status: 409, title: 'An object is already stored under this key' },
  upload_expired: { status: 410, title: 'The upload slot has expired' },
  upload_rejected: { status: 422, title: 'The uploaded file failed verification' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The one error type of the app: a stable `code`, its HTTP status, a human `detail`. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    options?: { cause?: unknown; extra?: Record<string, unknown> },
  ) {
    super(
      detail ?? ERRORS[code].title,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AppError';
    this.status = ERRORS[code].status;
    this.extra = options?.extra;
  }
  readonly extra: Record<string, unknown> | undefined;
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
