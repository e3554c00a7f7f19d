import { expectOk, type PurgeRequest, type Purger } from './purger.js';

export interface FastlyOptions {
  readonly apiToken: string;
  readonly serviceId: string;
  /** Public base URL of the service, for purging single paths. */
  readonly publicBaseUrl: string;
  readonly apiBase?: string;
  /** Soft purge marks content stale (served while revalidating) instead of removing it. */
  readonly soft?: boolean;
}

/**
 * Fastly: surrogate-key purge (`POST /service/{id}/purge`, up to 256 keys per call) and URL
 * purge (`PURGE <url>` on the public host with the API token).
 */
export class FastlyPurger implements Purger {
  readonly name = 'fastly';
  readonly maxBatch = 256;
  readonly #api: string;

  constructor(private readonly options: FastlyOptions) {
    this.#api = (options.apiBase ?? 'https://api.fastly.com').replace(/\/$/, '');
  }

  async purge(request: PurgeRequest): Promise<void> {
    const headers: Record<string, string> = {
      'fastly-key': this.options.apiToken,
      accept: 'application/json',
    };
    if (this.options.soft) headers['fastly-soft-purge'] = '1';
    const calls: Promise<void>[] = [];
    if (request.keys.length > 0) {
      calls.push(
        fetch(`${this.#api}/service/${encodeURIComponent(this.options.serviceId)}/purge`, {
          method: 'POST',
          headers: { ...headers, 'surrogate-key': request.keys.join(' ') },
          signal: AbortSignal.timeout(10_000),
        }).then((res) => expectOk(this.name, res)),
      );
    }
    for (const path of request.paths) {
      calls.push(
        fetch(new URL(path, this.options.publicBaseUrl), {
          method: 'PURGE',
          headers,
          signal: AbortSignal.timeout(10_000),
        }).then((res) => expectOk(this.name, res)),
      );
    }
    await Promise.all(calls);
  }
}
