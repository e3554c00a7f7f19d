/**
 * Stable codes for every reason a preview fetch is refused or fails. The codes are safe to
 * store and show; messages may name the URL's host but never a resolved internal address.
 */
export type PreviewErrorCode =
  | 'INVALID_URL'
  | 'BLOCKED_SCHEME'
  | 'BLOCKED_PORT'
  | 'BLOCKED_ADDRESS'
  | 'DNS_FAILED'
  | 'TOO_MANY_REDIRECTS'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'TOO_LARGE'
  | 'NOT_HTML'
  | 'HTTP_ERROR'
  | 'NETWORK_ERROR';

/**
 * The one error class of this package.
 *
 * @example
 * try { await fetchPreview(url) }
 * catch (e) { if (e instanceof PreviewError && e.code === 'BLOCKED_ADDRESS') ... }
 */
export class PreviewError extends Error {
  readonly code: PreviewErrorCode;
  /** The HTTP status, for `HTTP_ERROR`. */
  readonly status: number | undefined;

  constructor(
    code: PreviewErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PreviewError';
    this.code = code;
    this.status = options?.status;
  }
}
