/** What to remove from a CDN: objects tagged with any of `keys`, and objects at `paths`. */
export interface PurgeRequest {
  readonly keys: readonly string[];
  /** Absolute paths on the public host, e.g. `/k3Xq9Z`. */
  readonly paths: readonly string[];
}

/**
 * The purge port. One adapter per CDN; each sends one batch as few API calls as the CDN allows
 * and throws on failure (the queue retries).
 */
export interface Purger {
  readonly name: string;
  /** Largest number of keys + paths one call to `purge` should carry. */
  readonly maxBatch: number;
  purge(request: PurgeRequest): Promise<void>;
}

export class PurgeError extends Error {
  constructor(
    readonly provider: string,
    readonly status: number | undefined,
    message: string,
  ) {
    super(`${provider} purge failed${status === undefined ? '' : ` (HTTP ${status})`}: ${message}`);
    this.name = 'PurgeError';
  }
}

/** Fails with the response's text when a purge API answers with an error status. */
export async function expectOk(provider: string, res: Response): Promise<void> {
  if (res.ok) return;
  const text = (await res.text().catch(() => '')).slice(0, 300);
  throw new PurgeError(provider, res.status, text || res.statusText);
}
