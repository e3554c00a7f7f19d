import { expectOk, PurgeError, type PurgeRequest, type Purger } from './purger.js';

export interface CloudflareOptions {
  readonly apiToken: string;
  readonly zoneId: string;
  readonly publicBaseUrl: string;
  readonly apiBase?: string;
}

/**
 * Cloudflare: `POST /zones/{zone}/purge_cache` with `{ tags }` (Cache-Tag) or `{ files }`
 * (URLs); one call carries one kind, at most 30 items.
 */
export class CloudflarePurger implements Purger {
  readonly name = 'cloudflare';
  readonly maxBatch = 30;
  readonly #api: string;

  constructor(private readonly options: CloudflareOptions) {
    this.#api = (options.apiBase ?? 'https://api.cloudflare.com/client/v4').replace(/\/$/, '');
  }

  async purge(request: PurgeRequest): Promise<void> {
    const bodies: object[] = [];
    if (request.keys.length > 0) bodies.push({ tags: request.keys });
    if (request.paths.length > 0) {
      bodies.push({
        files: request.paths.map((p) => new URL(p, this.options.publicBaseUrl).toString()),
      });
    }
    await Promise.all(
      bodies.map(async (body) => {
        const res = await fetch(
          `${this.#api}/zones/${encodeURIComponent(this.options.zoneId)}/purge_cache`,
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${this.options.apiToken}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(10_000),
          },
        );
        await expectOk(this.name, res.clone());
        const json = (await res.json().catch(() => ({}))) as {
          success?: boolean;
          errors?: { message?: string }[];
        };
        if (json.success !== true) {
          throw new PurgeError(
            this.name,
            res.status,
            json.errors?.map((e) => e.message).join('; ') ?? 'success=false',
          );
        }
      }),
    );
  }
}
